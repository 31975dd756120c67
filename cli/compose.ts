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
import type { Config } from "../src/config.ts";
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
  api: ListeningServer | null;
}

export function createCompositionState(config: Config): CompositionState {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return { config, registry, plugins: [], indexerWsUrl: null, database: null, indexer: null, paywall: null, jobs: null, api: null };
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
  if (has("api")) services.push(paywallService(state, o, log));
  if (has("worker") || has("api")) services.push(jobsService(state, o, log));
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
      state.plugins.push(plugin, createRevenuePlugin({ db: db.db, adminKey: state.config.adminApiKey }));
    },
    async stop() {
      await state.paywall?.close();
      state.paywall = null;
    },
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
        state.plugins.push(createJobsPlugin({ db: db.db, adminKey: state.config.adminApiKey, queue, logger: log("jobs-ui") }));
      }
    },
    async stop() {
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
  return {
    name: "api",
    async start() {
      const db = need(state.database, "the database");
      const app = createApp({
        config: state.config,
        db: db.db,
        logger: log("api"),
        metrics: state.registry,
        indexerApi: createIndexerApi({ config: state.config, db: db.db, logger: log("indexer-api") }),
        plugins: state.plugins,
      });
      state.api = await listen(app, { port: o.apiPort ?? state.config.port, host: o.apiHost ?? "127.0.0.1" });
    },
    async stop() {
      await state.api?.close();
      state.api = null;
    },
  };
}
