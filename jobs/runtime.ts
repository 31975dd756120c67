/**
 * The worker process's parts, built from explicit inputs: the queue, one BullMQ worker for run, tick and
 * APY jobs, and the pipeline behind them. `createJobsRuntimeFromConfig` assembles it from `Config`.
 */
import { Keypair } from "@solana/web3.js";
import { Worker, type Queue } from "bullmq";
import type { Kysely } from "kysely";
import type { Redis } from "ioredis";
import type { Registry } from "prom-client";
import { ConfigError, type Config } from "../src/config.ts";
import type { Database } from "../src/db/schema.ts";
import { describeError } from "../src/errors.ts";
import type { Logger } from "../src/log.ts";
import { readKeypairFile } from "../src/solana/keypair-file.ts";
import { createAlerter, type Alerter } from "./alerts.ts";
import { createChainGateway, type ChainGateway } from "./chain.ts";
import { createJupiter } from "./jupiter.ts";
import { createLedgerGate, createLedgerMetrics, ledgerReconcilerFromConfig, scheduleLedgerReconciliation, type LedgerReconciler } from "./ledger/index.ts";
import { createPipelineMetrics } from "./metrics.ts";
import { createPipeline, type Boundary, type Pipeline } from "./pipeline.ts";
import { createJobProcessor } from "./processor.ts";
import { createPipelineQueue, createRedis, PIPELINE_QUEUE, watchRedisOutage, type RedisOutageWatch } from "./queue.ts";
import { createRunStore, type RunStore } from "./runs.ts";
import { setupSchedules } from "./scheduler.ts";

export interface JobsRuntimeDeps {
  db: Kysely<Database>;
  redisUrl: string;
  /** BullMQ key prefix; defaults to config.jobs.queuePrefix. */
  prefix?: string;
  config: Config;
  logger: Logger;
  /** Defaults to reading config.jobs.adminKeypairPath. */
  admin?: Keypair;
  alerter?: Alerter;
  now?: () => Date;
  /** Pipeline timing; tests shorten them. */
  pollMs?: number;
  resendMs?: number;
  minSolLamports?: bigint;
  /** BullMQ lock and stall settings (a crashed worker's job is picked up after the lock lapses). */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Test seam, see Boundary. */
  boundary?: (name: Boundary) => void | Promise<void>;
  /** Default true. */
  startWorker?: boolean;
  /** Where the kamiyo_pipeline_* series go (jobs/metrics.ts); none when absent. */
  registry?: Registry;
  /** How long Redis may be unreachable before the pipeline pauses and alerts (default REDIS_OUTAGE_GRACE_MS). */
  redisOutageGraceMs?: number;
}

/** A Redis blip shorter than this neither pauses the pipeline nor alerts. */
export const REDIS_OUTAGE_GRACE_MS = 5_000;

export interface JobsRuntime {
  queue: Queue;
  worker: Worker | null;
  pipeline: Pipeline;
  store: RunStore;
  chain: ChainGateway;
  /** The revenue ledger reconciler (run periodically by the queue, and before each allocation). */
  ledger: LedgerReconciler;
  /** Upserts the schedulers and queues a catch-up tick (safe to repeat). */
  setup(): Promise<void>;
  /** Stops taking jobs, waits up to `graceMs` for the active one, then closes connections. */
  close(graceMs?: number): Promise<void>;
}

/** The admin keypair from a Solana CLI keypair file. The secret is never logged. */
export function loadKeypair(path: string): Keypair {
  return Keypair.fromSecretKey(readKeypairFile(path, "admin keypair"));
}

export async function createJobsRuntime(deps: JobsRuntimeDeps): Promise<JobsRuntime> {
  const { config } = deps;
  const logger = deps.logger.child({ component: "jobs" });
  const prefix = deps.prefix ?? config.jobs.queuePrefix;
  const admin = deps.admin ?? loadKeypair(requireAdminKeypairPath(config));
  const store = createRunStore(deps.db);
  const chain = createChainGateway({ rpcUrl: config.solana.rpcUrl, commitment: config.solana.commitment });
  const minSolLamports = deps.minSolLamports ?? 10_000_000n;
  const metrics = deps.registry
    ? createPipelineMetrics({
        registry: deps.registry,
        db: deps.db,
        logger,
        admin: { chain, address: admin.publicKey.toBase58(), kamiyoMint: config.solana.kamiyoMint, usdcMint: config.solana.usdcMint },
        allocationBps: config.jobs.allocationBps,
        minSolLamports,
        ...(deps.now ? { now: deps.now } : {}),
      })
    : null;
  const baseAlerter = deps.alerter ?? createAlerter({ webhookUrl: config.jobs.alertWebhookUrl, logger });
  const alerter = metrics ? metrics.countingAlerter(baseAlerter) : baseAlerter;
  const ledger = ledgerReconcilerFromConfig({ config, db: deps.db, logger, alerter, metrics: deps.registry ? createLedgerMetrics(deps.registry) : null });
  const pipeline = createPipeline({
    store,
    chain,
    jupiter: createJupiter({ apiUrl: requireJupiterUrl(config), apiKey: config.jobs.jupiterApiKey }),
    admin,
    programId: config.solana.programId,
    kamiyoMint: config.solana.kamiyoMint,
    usdcMint: config.solana.usdcMint,
    allocationBps: config.jobs.allocationBps,
    slippageBps: config.jobs.slippageBps,
    maxPriceImpactBps: config.jobs.maxPriceImpactBps,
    alerter,
    logger,
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.pollMs !== undefined ? { pollMs: deps.pollMs } : {}),
    ...(deps.resendMs !== undefined ? { resendMs: deps.resendMs } : {}),
    minSolLamports,
    ...(deps.boundary ? { boundary: deps.boundary } : {}),
    ...(metrics ? { timeStep: metrics.timeStep } : {}),
    ledgerGate: createLedgerGate({ db: deps.db, reconciler: ledger }),
  });
  const queueConnection: Redis = createRedis(deps.redisUrl);
  const queue = createPipelineQueue(queueConnection, prefix);

  let worker: Worker | null = null;
  let workerConnection: Redis | null = null;
  let outage: RedisOutageWatch | null = null;
  if (deps.startWorker ?? true) {
    workerConnection = createRedis(deps.redisUrl);
    const processor = createJobProcessor({ pipeline, store, chain, queue, config, logger, ledger, ...(deps.now ? { now: deps.now } : {}) });
    worker = new Worker(PIPELINE_QUEUE, processor, {
      connection: workerConnection,
      prefix,
      concurrency: 1,
      lockDuration: deps.lockDurationMs ?? 60_000,
      stalledInterval: deps.stalledIntervalMs ?? 30_000,
      // A stalled run job is safe to redeliver (the row decides what happens); do not fail it for stalling.
      maxStalledCount: 10,
    });
    // While Redis is unreachable every reconnect attempt is an error: the outage is reported once (below).
    worker.on("error", (err) => logger[workerConnection?.status === "ready" ? "error" : "debug"]({ err: describeError(err) }, "worker error"));
    worker.on("failed", (job, err) => logger.warn({ job: job?.id, name: job?.name, err: describeError(err) }, "job failed"));
    outage = pauseWhileRedisIsDown(worker, workerConnection, alerter, logger, deps.redisOutageGraceMs ?? REDIS_OUTAGE_GRACE_MS);
  }

  return {
    queue,
    worker,
    pipeline,
    store,
    chain,
    ledger,
    async setup() {
      await setupSchedules(queue, {
        pipelineCron: config.jobs.pipelineCron,
        apyCron: config.jobs.apyCron,
        ...(deps.now ? { now: deps.now } : {}),
      });
      await scheduleLedgerReconciliation(queue, config.jobs.ledgerReconcileIntervalSeconds);
    },
    async close(graceMs = 30_000) {
      outage?.stop();
      if (worker) {
        const closing = worker.close();
        const timer = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), graceMs).unref());
        if ((await Promise.race([closing, timer])) === "timeout") {
          logger.warn({ graceMs }, "active job did not finish in time; closing anyway (it will be redelivered)");
          await worker.close(true);
        }
      }
      await queue.close();
      workerConnection?.disconnect();
      queueConnection.disconnect();
    },
  };
}

/**
 * Redis unreachable past `graceMs`: the worker stops taking jobs (a job already running goes on; its row and
 * stored transactions decide what a redelivery does, so nothing is lost or done twice), one alert per outage;
 * once Redis answers, the worker takes jobs again and ioredis replays what was waiting.
 */
function pauseWhileRedisIsDown(worker: Worker, connection: Redis, alerter: Alerter, logger: Logger, graceMs: number): RedisOutageWatch {
  return watchRedisOutage(connection, {
    graceMs,
    onDown(reason) {
      logger.error({ reason, graceMs }, "Redis unreachable: the pipeline is paused until it answers again");
      worker.pause(true).catch((err: unknown) => logger.warn({ err: describeError(err) }, "pausing the worker failed"));
      void alerter.alert("Redis unreachable: the pipeline is paused until it answers again", { reason });
    },
    onUp(downForMs) {
      logger.warn({ downForMs }, "Redis answers again: the pipeline resumes");
      worker.resume().catch((err: unknown) => logger.warn({ err: describeError(err) }, "resuming the worker failed"));
    },
  });
}

/** The runtime for `kamiyo-stake worker`, from configuration. */
export function createJobsRuntimeFromConfig(options: { config: Config; db: Kysely<Database>; logger: Logger; prefix?: string; registry?: Registry }) {
  return createJobsRuntime({
    db: options.db,
    redisUrl: options.config.redisUrl,
    config: options.config,
    logger: options.logger,
    ...(options.prefix ? { prefix: options.prefix } : {}),
    ...(options.registry ? { registry: options.registry } : {}),
  });
}

/** The worker signs the buyback and the funding with the pool admin's key (cli/compose.ts validate checks it first). */
function requireAdminKeypairPath(config: Config): string {
  if (config.jobs.adminKeypairPath === undefined) throw new ConfigError("ADMIN_KEYPAIR_PATH: required by the worker");
  return config.jobs.adminKeypairPath;
}

/** The worker is the one role that calls Jupiter; it cannot run without knowing where. */
function requireJupiterUrl(config: Config): string {
  if (config.jobs.jupiterApiUrl === undefined) throw new ConfigError("JUPITER_API_URL: required by the worker");
  return config.jobs.jupiterApiUrl;
}
