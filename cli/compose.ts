/**
 * The one composition: every process (`api`, `indexer`, `worker`, and `start` on top of the local chain) is
 * built here from configuration, as a list of services over one shared state, started in list order and
 * stopped in reverse. A role adds its services; nothing here knows about the local chain.
 */
import type { Express } from "express";
import type { Queue } from "bullmq";
import { collectDefaultMetrics, Registry } from "prom-client";
import type { PaywallPlugin } from "../api/paywall/plugin.ts";
import type { ListeningServer } from "../api/server.ts";
import type { Indexer, IndexerOptions } from "../indexer/index.ts";
import type { JobsRuntime } from "../jobs/index.ts";
import { Keypair } from "@solana/web3.js";
import { ConfigError, PUBLICLY_KNOWN_KEYS, type Config } from "../src/config.ts";
import { KeypairFileError, readKeypairFile } from "../src/solana/keypair-file.ts";
import type { DatabaseHandle } from "../src/db/database.ts";
import type { Logger } from "../src/log.ts";
import type { Service } from "./services.ts";
import { apiService } from "./services/api.ts";
import { databaseService } from "./services/database.ts";
import { indexerService } from "./services/indexer.ts";
import { jobsService } from "./services/jobs.ts";
import { paywallService, revenueService } from "./services/paywall.ts";

export type Role = "api" | "indexer" | "worker";

export interface CompositionOptions {
  logger: Logger;
  roles: readonly Role[];
  /** Create the database and apply migrations (start, tests); otherwise the database must be migrated. */
  migrate?: boolean;
  applicationName?: string;
  /** API port; default PORT. */
  apiPort?: number;
  apiHost?: string;
  /** Postgres schema to use instead of the default search path (tests). */
  dbSchema?: string;
  indexerOptions?: Partial<IndexerOptions>;
  /** Wait for the indexer's first backfill before the next service starts, up to this long. */
  backfillTimeoutMs?: number;
  /** BullMQ key prefix (tests use a fresh one); default JOBS_QUEUE_PREFIX. */
  jobsPrefix?: string;
  /** Worker role: upsert the daily schedules and queue a catch-up (default true). */
  schedule?: boolean;
}

/** What the services share. Each field is set by the service that owns it, once it has started. */
export interface CompositionState {
  /** The configuration as the running parts see it (start rewrites it once the local chain is up). */
  config: Config;
  registry: Registry;
  /** Mounted on the API app, in order (see AppDeps.plugins). */
  plugins: Array<(app: Express) => void>;
  /** The websocket URL the indexer subscribes to, when it differs from SOLANA_WS_URL (tests). */
  indexerWsUrl: string | null;
  database: DatabaseHandle | null;
  indexer: Indexer | null;
  paywall: PaywallPlugin | null;
  jobs: JobsRuntime | null;
  /** The pipeline queue the API reads (the worker's, or a queue handle of its own); for the admin page. */
  pipelineQueue: Queue | null;
  api: ListeningServer | null;
}

export function createCompositionState(config: Config): CompositionState {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return { config, registry, plugins: [], indexerWsUrl: null, database: null, indexer: null, paywall: null, jobs: null, pipelineQueue: null, api: null };
}

/**
 * What each role needs beyond what every process needs (src/config.ts), checked before any connection is
 * opened: one ConfigError naming the variable. Outside localnet a keypair file whose public key is one of the
 * demo wallets (secret keys anyone can derive) is refused by value.
 *   api     X402_FACILITATOR_KEYPAIR unless X402_FACILITATOR_URL is set (and the paywall is on)
 *   worker  ADMIN_KEYPAIR_PATH and JUPITER_API_URL
 */
export function validate(config: Config, roles: readonly Role[]): void {
  const local = config.cluster === "localnet";
  const required = <T>(name: string, value: T | undefined, by: string): T => {
    if (value !== undefined) return value;
    throw new ConfigError(`${name}: required by ${by}${local ? "" : ` when KAMIYO_CLUSTER is ${config.cluster}`}`);
  };
  const keypair = (name: string, path: string, label: string) => {
    // On the local chain the files are written by its demo seed, after this check.
    if (local) return;
    let secret: Uint8Array;
    try {
      secret = readKeypairFile(path, label);
    } catch (err) {
      if (err instanceof KeypairFileError) throw new ConfigError(`${name}: ${err.message}`);
      throw err;
    }
    let publicKey: string;
    try {
      publicKey = Keypair.fromSecretKey(secret).publicKey.toBase58();
    } catch {
      throw new ConfigError(`${name}: ${label} ${path}: not a valid ed25519 keypair`);
    }
    const demo = PUBLICLY_KNOWN_KEYS.get(publicKey);
    if (demo !== undefined) {
      throw new ConfigError(`${name}: ${path} holds the local chain's demo ${demo} key (${publicKey}), whose secret key is public; use a key of your own`);
    }
  };
  if (roles.includes("api") && config.features.paywall && config.x402.facilitatorUrl === undefined) {
    const path = required("X402_FACILITATOR_KEYPAIR", config.x402.facilitatorKeypairPath, "the api role unless X402_FACILITATOR_URL is set");
    keypair("X402_FACILITATOR_KEYPAIR", path, "facilitator keypair");
  }
  if (roles.includes("worker")) {
    const path = required("ADMIN_KEYPAIR_PATH", config.jobs.adminKeypairPath, "the worker");
    required("JUPITER_API_URL", config.jobs.jupiterApiUrl, "the worker");
    keypair("ADMIN_KEYPAIR_PATH", path, "admin keypair");
  }
}

/** One line for people: which facilitator settles payments (kind and where, no credentials). */
export function describeFacilitator(state: CompositionState): string {
  if (!state.config.features.paywall) return "paywall off (API_PAYWALL=false)";
  return state.paywall ? `facilitator: ${state.paywall.status().facilitator}` : "paywall not running";
}

/** The services of the given roles, in start order, over `state`. */
export function composeServices(state: CompositionState, o: CompositionOptions): Service[] {
  const log = (component: string) => o.logger.child({ component });
  const has = (role: Role) => o.roles.includes(role);
  const services: Service[] = [databaseService(state, o, log)];
  if (has("indexer")) services.push(indexerService(state, o, log));
  const features = state.config.features;
  if (has("api") && features.paywall) services.push(paywallService(state, o, log));
  if (has("api") && features.revenueReports) services.push(revenueService(state));
  if (has("worker") || (has("api") && (features.queueUi || features.dashboard))) services.push(jobsService(state, o, log));
  if (has("api")) services.push(apiService(state, o, log));
  return services;
}
