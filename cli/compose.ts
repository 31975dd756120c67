/**
 * The one composition: every process (`api`, `indexer`, `worker`, and `start` on top of the local chain) is
 * built here from configuration, as a list of services over one shared state, started in list order and
 * stopped in reverse. A role adds its services; nothing here knows about the local chain.
 */
import type { Express } from "express";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { collectDefaultMetrics, Registry } from "prom-client";
import { createApp } from "../api/app.ts";
import { assertMigrated } from "../api/database-check.ts";
import { readIndexerStatus } from "../api/indexer-status.ts";
import { createPaywallPlugin, type PaywallPlugin } from "../api/paywall/plugin.ts";
import { createRevenuePlugin } from "../api/revenue/plugin.ts";
import { listen, type ListeningServer } from "../api/server.ts";
import { createIndexer, createIndexerApi, type Indexer, type IndexerOptions } from "../indexer/index.ts";
import { createJobsPlugin, createJobsRuntimeFromConfig, createPipelineQueue, createRedis, type JobsRuntime } from "../jobs/index.ts";
import { nextScheduledRun } from "../jobs/metrics.ts";
import { describedBy, JOBS_OPERATIONS, paidOperations, REVENUE_OPERATIONS } from "../api/openapi/operations.ts";
import { Keypair } from "@solana/web3.js";
import { createRateLimits, type RateLimits } from "../api/rate-limit.ts";
import { ConfigError, PUBLICLY_KNOWN_KEYS, type Config } from "../src/config.ts";
import { KeypairFileError, readKeypairFile } from "../src/solana/keypair-file.ts";
import { createDatabase, type DatabaseHandle } from "../src/db/database.ts";
import { ensureDatabase, migrateToLatest } from "../src/db/migrate.ts";
import { createTierTableRepository } from "../src/db/repositories/tier-table.ts";
import { describeError } from "../src/errors.ts";
import type { Logger } from "../src/log.ts";
import { waitUntil } from "../src/retry.ts";
import type { Service } from "./services.ts";

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

const need = <T>(value: T | null, what: string): T => {
  if (value === null) throw new Error(`${what} is not running`);
  return value;
};

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

type LogFor = (component: string) => Logger;

function databaseService(state: CompositionState, o: CompositionOptions, log: LogFor): Service {
  return {
    name: "database",
    async start() {
      const url = state.config.databaseUrl;
      if (o.migrate) await ensureDatabase(url);
      const handle = createDatabase({
        url,
        applicationName: o.applicationName ?? "kamiyo-stake",
        ...(o.dbSchema !== undefined ? { schema: o.dbSchema } : {}),
        onIdleError: (err) => log("database").warn({ reason: describeError(err) }, "idle database connection failed"),
      });
      try {
        if (o.migrate) await migrateToLatest(handle.db);
        else await assertMigrated(handle.db);
        // An API that starts before any indexer leader has published a tier table publishes its own, so every
        // replica prices with one table (src/db/repositories/tier-table.ts).
        if (o.roles.includes("api")) await createTierTableRepository(handle.db).adopt(state.config.tiers, "api");
      } catch (err) {
        await handle.close();
        throw err;
      }
      state.database = handle;
    },
    async stop() {
      await state.database?.close();
      state.database = null;
    },
  };
}

function indexerService(state: CompositionState, o: CompositionOptions, log: LogFor): Service {
  return {
    name: "indexer",
    async start() {
      const db = need(state.database, "the database");
      const ix = createIndexer({
        config: state.config,
        db: db.db,
        pool: db.pool,
        logger: log("indexer"),
        registry: state.registry,
        rpcUrl: state.config.solana.rpcUrl,
        wsUrl: state.indexerWsUrl ?? state.config.solana.wsUrl,
        ...(o.indexerOptions ? { options: o.indexerOptions } : {}),
      });
      state.indexer = ix;
      await ix.start();
      if (o.backfillTimeoutMs === undefined) return;
      // The API answers from the table, so it is not worth looking at before the first backfill; wait for the
      // persisted status (what /ready reads), not only the in-memory one.
      const backfilled = async () =>
        ix.status().backfillCompletedAt !== null && (await readIndexerStatus(db.db))?.snapshot.backfillCompletedAt != null;
      try {
        await waitUntil(backfilled, { timeoutMs: o.backfillTimeoutMs, everyMs: 20 });
      } catch {
        const why = ix.isLeader ? "" : " (another indexer holds the lock on this database)";
        // A service whose start fails is not stopped by the runner: stop it here.
        await ix.stop();
        state.indexer = null;
        throw new Error(`the first backfill did not complete within ${o.backfillTimeoutMs / 1000} s${why}`);
      }
    },
    async stop() {
      await state.indexer?.stop();
      state.indexer = null;
    },
  };
}

function paywallService(state: CompositionState, o: CompositionOptions, log: LogFor): Service {
  return {
    name: "paywall",
    async start() {
      const db = need(state.database, "the database");
      const plugin = createPaywallPlugin({
        config: state.config,
        db: db.db,
        database: { url: state.config.databaseUrl, ...(o.dbSchema !== undefined ? { schema: o.dbSchema } : {}) },
        logger: log("paywall"),
        metrics: state.registry,
      });
      state.paywall = plugin;
      try {
        await plugin.ready();
      } catch (err) {
        await plugin.close();
        state.paywall = null;
        throw err;
      }
      // The revenue reports read the ledger the paywall writes; they are mounted beside it.
      state.plugins.push(describedBy(plugin, paidOperations(state.config)));
    },
    async stop() {
      await state.paywall?.close();
      state.paywall = null;
    },
  };
}

/** The revenue reports read the ledger the paywall writes (any replica's); API_REVENUE_REPORTS. */
function revenueService(state: CompositionState): Service {
  return {
    name: "revenue reports",
    start() {
      const db = need(state.database, "the database");
      state.plugins.push(describedBy(createRevenuePlugin({ db: db.db, adminKey: state.config.adminApiKey }), REVENUE_OPERATIONS));
      return Promise.resolve();
    },
    stop: () => Promise.resolve(),
  };
}

/** The worker role runs the pipeline; the api role only needs the queue, for the queue UI. */
function jobsService(state: CompositionState, o: CompositionOptions, log: LogFor): Service {
  let uiQueue: { queue: Queue; redis: Redis } | null = null;
  return {
    name: o.roles.includes("worker") ? "revenue pipeline" : "pipeline queue",
    async start() {
      const db = need(state.database, "the database");
      const prefix = o.jobsPrefix ?? state.config.jobs.queuePrefix;
      let queue: Queue;
      if (o.roles.includes("worker")) {
        const runtime = await createJobsRuntimeFromConfig({ config: state.config, db: db.db, logger: log("jobs"), prefix, registry: state.registry });
        state.jobs = runtime;
        if (o.schedule ?? true) await runtime.setup();
        queue = runtime.queue;
      } else {
        const redis = createRedis(state.config.redisUrl);
        uiQueue = { queue: createPipelineQueue(redis, prefix), redis };
        queue = uiQueue.queue;
      }
      if (o.roles.includes("api")) {
        const { queueUi, dashboard } = state.config.features;
        const operations = JOBS_OPERATIONS.filter((op) => (op.path === "/admin/queues" ? queueUi : dashboard));
        state.plugins.push(describedBy(createJobsPlugin({ db: db.db, adminKey: state.config.adminApiKey, queue, logger: log("jobs-ui"), queueUi, dashboard }), operations));
      }
      state.pipelineQueue = queue;
    },
    async stop() {
      state.pipelineQueue = null;
      await state.jobs?.close(10_000);
      state.jobs = null;
      if (uiQueue) {
        await uiQueue.queue.close();
        uiQueue.redis.disconnect();
        uiQueue = null;
      }
    },
  };
}

function apiService(state: CompositionState, o: CompositionOptions, log: LogFor): Service {
  let limits: RateLimits | null = null;
  return {
    name: "api",
    async start() {
      const db = need(state.database, "the database");
      const { config } = state;
      limits = createRateLimits({
        redisUrl: config.redisUrl,
        prefix: o.jobsPrefix ?? config.jobs.queuePrefix,
        adminPerMinute: config.http.rateLimits.adminPerMinute,
        quotesPerMinute: config.features.paywall ? config.http.rateLimits.quotesPerMinute : 0,
        paidRoutes: config.x402.routes.map((r) => `${r.method} ${r.path}`),
        logger: log("api"),
      });
      const app = createApp({
        guards: [limits],
        config: state.config,
        db: db.db,
        logger: log("api"),
        metrics: state.registry,
        indexerApi: createIndexerApi({ config: state.config, db: db.db, logger: log("indexer-api") }),
        plugins: state.plugins,
        nextPipelineRun: async () => (state.pipelineQueue ? nextScheduledRun(state.pipelineQueue) : null),
      });
      try {
        state.api = await listen(app, { port: o.apiPort ?? state.config.port, host: o.apiHost ?? "127.0.0.1" });
      } catch (err) {
        await limits.close();
        limits = null;
        throw err;
      }
    },
    async stop() {
      await state.api?.close();
      state.api = null;
      await limits?.close();
      limits = null;
    },
  };
}
