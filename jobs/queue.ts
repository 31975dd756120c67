/**
 * The pipeline's BullMQ queue: its name, Redis connections, job names and deterministic job ids.
 * Jobs carry a run id and nothing else; amounts live in Postgres.
 */
import { Queue, type ConnectionOptions, type JobsOptions } from "bullmq";
import { Redis } from "ioredis";
import { z } from "zod";
import { RetryableError } from "../src/errors.ts";

export const PIPELINE_QUEUE = "revenue-pipeline";
export const DEFAULT_QUEUE_PREFIX = "kamiyo-stake";

export const JOB = { run: "run", tick: "tick", apy: "apy-snapshot" } as const;
export const SCHEDULER = { daily: "pipeline-daily", apy: "apy-snapshot" } as const;

/** Ids never contain ':' (BullMQ's key separator). */
export const runJobId = (runId: bigint) => `run-${runId}`;
export const catchUpJobId = (day: string) => `catch-up-${day}`;

export const RunJobData = z.object({ runId: z.string().regex(/^\d{1,19}$/, "runId must be a decimal run id") }).strict();
export type RunJobData = z.infer<typeof RunJobData>;

export const RUN_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: "exponential", delay: 10_000, jitter: 0.5 },
  // Failed jobs are kept for the operator; completed ones are capped.
  removeOnComplete: { age: 30 * 86_400, count: 1000 },
  removeOnFail: false,
};

/** How long opening a Redis connection may take before ioredis gives up on that attempt (it retries). */
export const REDIS_CONNECT_TIMEOUT_MS = 3_000;

/**
 * A Redis connection for BullMQ: workers need `maxRetriesPerRequest: null` (blocking commands). Connection
 * errors are kept as `lastError` and reported by whoever waits on Redis (redisAnswers, the worker's pause),
 * never as ioredis's "Unhandled error event" stack traces.
 */
export function createRedis(url: string): Redis & { lastError: () => Error | null } {
  const redis = new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, connectTimeout: REDIS_CONNECT_TIMEOUT_MS });
  let last: Error | null = null;
  redis.on("error", (err: Error) => {
    last = err;
  });
  redis.on("ready", () => {
    last = null;
  });
  return Object.assign(redis, { lastError: () => last });
}

/** Resolves once Redis answers a PING; rejects with one line after `timeoutMs` (no address in it). */
export async function redisAnswers(redis: Redis, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RetryableError("unavailable", `Redis did not answer within ${timeoutMs / 1000} s`, { code: "redis_unavailable" })), timeoutMs);
  });
  try {
    await Promise.race([redis.ping(), late]);
  } finally {
    clearTimeout(timer);
  }
}

export function createPipelineQueue(connection: ConnectionOptions | Redis, prefix = DEFAULT_QUEUE_PREFIX): Queue {
  const queue = new Queue(PIPELINE_QUEUE, { connection: connection as ConnectionOptions, prefix });
  // Connection errors fail the calls that need Redis (with deadlines); unheard, BullMQ prints each one's stack.
  queue.on("error", () => undefined);
  return queue;
}

/**
 * Puts the run's job on the queue. While a job with its id exists BullMQ ignores a second add; a finished
 * job of a run that is still open (stalled too often, or failed before its run was marked) is retried.
 */
export async function enqueueRun(queue: Queue, runId: bigint, options: JobsOptions = RUN_JOB_OPTIONS): Promise<void> {
  const jobId = runJobId(runId);
  const existing = await queue.getJob(jobId);
  if (existing) {
    const state = await existing.getState();
    if (state === "failed" || state === "completed") {
      try {
        await existing.retry(state);
      } catch {
        // Another scheduler retried it first.
      }
    }
    return;
  }
  const data: RunJobData = { runId: runId.toString() };
  await queue.add(JOB.run, data, { ...options, jobId });
}

export interface RedisOutageWatch {
  /** True between `onDown` and the next `onUp`. */
  readonly down: boolean;
  stop(): void;
}

/**
 * Watches a connection for an outage: once it has not been ready for `graceMs` after an error or a close,
 * `onDown` is called (once per outage); when it is ready again, `onUp` with how long it was down. A blip
 * shorter than `graceMs` calls neither.
 */
export function watchRedisOutage(
  redis: Redis,
  o: { graceMs: number; onDown: (reason: string) => void; onUp: (downForMs: number) => void },
): RedisOutageWatch {
  let lostAt: number | null = null;
  let down = false;
  let timer: NodeJS.Timeout | undefined;
  let reason = "connection closed";
  const lost = (why: string) => {
    reason = why;
    if (lostAt !== null) return;
    lostAt = Date.now();
    timer = setTimeout(() => {
      down = true;
      o.onDown(reason);
    }, o.graceMs);
    timer.unref();
  };
  const onError = (err: Error) => lost(err.message);
  const onClose = () => lost("connection closed");
  const onReady = () => {
    clearTimeout(timer);
    if (down && lostAt !== null) o.onUp(Date.now() - lostAt);
    down = false;
    lostAt = null;
  };
  redis.on("error", onError);
  redis.on("close", onClose);
  redis.on("ready", onReady);
  return {
    get down() {
      return down;
    },
    stop() {
      clearTimeout(timer);
      redis.off("error", onError);
      redis.off("close", onClose);
      redis.off("ready", onReady);
    },
  };
}
