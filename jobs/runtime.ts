/**
 * The worker process's parts, built from explicit inputs: the queue, one BullMQ worker for run, tick and
 * APY jobs, and the pipeline behind them. `createJobsRuntimeFromConfig` assembles it from `Config`.
 */
import { readFile } from "node:fs/promises";
import { Keypair } from "@solana/web3.js";
import { Worker, type Job, type Queue } from "bullmq";
import type { Kysely } from "kysely";
import type { Redis } from "ioredis";
import { ConfigError, type Config } from "../src/config.ts";
import type { Database } from "../src/db/schema.ts";
import { describeError } from "../src/errors.ts";
import type { Logger } from "../src/log.ts";
import { createAlerter, type Alerter } from "./alerts.ts";
import { snapshotApy } from "./apy.ts";
import { createChainGateway, type ChainGateway } from "./chain.ts";
import { PipelineHalt } from "./errors.ts";
import { createJupiter } from "./jupiter.ts";
import { createPipeline, type Boundary, type Pipeline } from "./pipeline.ts";
import { createPipelineQueue, createRedis, JOB, PIPELINE_QUEUE, RunJobData } from "./queue.ts";
import { createRunStore, type RunStore } from "./runs.ts";
import { setupSchedules, tick } from "./scheduler.ts";

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
}

export interface JobsRuntime {
  queue: Queue;
  worker: Worker | null;
  pipeline: Pipeline;
  store: RunStore;
  chain: ChainGateway;
  /** Upserts the schedulers and queues a catch-up tick (safe to repeat). */
  setup(): Promise<void>;
  /** Stops taking jobs, waits up to `graceMs` for the active one, then closes connections. */
  close(graceMs?: number): Promise<void>;
}

/** Reads a Solana CLI keypair file (a JSON array of 64 bytes). The secret is never logged. */
export async function loadKeypair(path: string): Promise<Keypair> {
  let bytes: unknown;
  try {
    bytes = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new Error(`cannot read the admin keypair at ${path}: ${describeError(err)}`);
  }
  if (!Array.isArray(bytes) || bytes.length !== 64 || !bytes.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    throw new Error(`${path} is not a keypair file (a JSON array of 64 bytes)`);
  }
  return Keypair.fromSecretKey(Uint8Array.from(bytes as number[]));
}

export async function createJobsRuntime(deps: JobsRuntimeDeps): Promise<JobsRuntime> {
  const { config } = deps;
  const logger = deps.logger.child({ component: "jobs" });
  const prefix = deps.prefix ?? config.jobs.queuePrefix;
  const admin = deps.admin ?? (await loadKeypair(config.jobs.adminKeypairPath));
  const store = createRunStore(deps.db);
  const chain = createChainGateway({ rpcUrl: config.solana.rpcUrl, commitment: config.solana.commitment });
  const alerter = deps.alerter ?? createAlerter({ webhookUrl: config.jobs.alertWebhookUrl, logger });
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
    ...(deps.minSolLamports !== undefined ? { minSolLamports: deps.minSolLamports } : {}),
    ...(deps.boundary ? { boundary: deps.boundary } : {}),
  });
  const queueConnection: Redis = createRedis(deps.redisUrl);
  const queue = createPipelineQueue(queueConnection, prefix);

  async function processJob(job: Job): Promise<unknown> {
    switch (job.name) {
      case JOB.run: {
        const parsed = RunJobData.safeParse(job.data);
        if (!parsed.success) throw new PipelineHalt("run_missing", `job ${job.id} has no valid run id`);
        const runId = BigInt(parsed.data.runId);
        try {
          return { status: await pipeline.processRun(runId) };
        } catch (err) {
          const last = err instanceof PipelineHalt || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
          if (last) await pipeline.failRun(runId, err);
          else logger.warn({ runId: runId.toString(), attempt: job.attemptsMade + 1, err: describeError(err) }, "run attempt failed; will retry");
          throw err;
        }
      }
      case JOB.tick:
        return tick({ store, queue, logger, ...(deps.now ? { now: deps.now } : {}) });
      case JOB.apy: {
        const row = await snapshotApy({
          store,
          chain,
          programId: config.solana.programId,
          kamiyoMint: config.solana.kamiyoMint,
          allocationBps: config.jobs.allocationBps,
          logger,
          ...(deps.now ? { now: deps.now } : {}),
        });
        return { apyBps: row.calculated_apy_bps?.toString() ?? null };
      }
      default:
        throw new PipelineHalt("run_missing", `unknown job name ${job.name}`);
    }
  }

  let worker: Worker | null = null;
  let workerConnection: Redis | null = null;
  if (deps.startWorker ?? true) {
    workerConnection = createRedis(deps.redisUrl);
    worker = new Worker(PIPELINE_QUEUE, processJob, {
      connection: workerConnection,
      prefix,
      concurrency: 1,
      lockDuration: deps.lockDurationMs ?? 60_000,
      stalledInterval: deps.stalledIntervalMs ?? 30_000,
      // A stalled run job is safe to redeliver (the row decides what happens); do not fail it for stalling.
      maxStalledCount: 10,
    });
    worker.on("error", (err) => logger.error({ err: describeError(err) }, "worker error"));
    worker.on("failed", (job, err) => logger.warn({ job: job?.id, name: job?.name, err: describeError(err) }, "job failed"));
  }

  return {
    queue,
    worker,
    pipeline,
    store,
    chain,
    setup: () =>
      setupSchedules(queue, {
        pipelineCron: config.jobs.pipelineCron,
        apyCron: config.jobs.apyCron,
        ...(deps.now ? { now: deps.now } : {}),
      }),
    async close(graceMs = 30_000) {
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

/** The runtime for `kamiyo-stake worker`, from configuration. */
export function createJobsRuntimeFromConfig(options: { config: Config; db: Kysely<Database>; logger: Logger; prefix?: string }) {
  return createJobsRuntime({ db: options.db, redisUrl: options.config.redisUrl, config: options.config, logger: options.logger, ...(options.prefix ? { prefix: options.prefix } : {}) });
}

/** The worker is the one role that calls Jupiter; it cannot run without knowing where. */
function requireJupiterUrl(config: Config): string {
  if (config.jobs.jupiterApiUrl === undefined) throw new ConfigError("JUPITER_API_URL: required by the worker");
  return config.jobs.jupiterApiUrl;
}
