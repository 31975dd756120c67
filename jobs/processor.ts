/**
 * The BullMQ processor for the pipeline queue: run, tick and APY jobs. It decides retries with
 * `isRetryable` (src/errors.ts): a retryable failure (RPC, Redis or Postgres unavailable, slippage,
 * Jupiter trouble) is retried with the job's configured attempts; anything else, classified as
 * non-retryable or not classified at all, fails the job at once, and a run job's run is marked failed
 * with an alert.
 */
import { UnrecoverableError, type Job, type Queue } from "bullmq";
import type { Config } from "../src/config.ts";
import { describeError, isRetryable } from "../src/errors.ts";
import type { Logger } from "../src/log.ts";
import { snapshotApy } from "./apy.ts";
import type { ChainGateway } from "./chain.ts";
import { PipelineHalt } from "./errors.ts";
import type { Pipeline } from "./pipeline.ts";
import { JOB, RunJobData } from "./queue.ts";
import type { RunStore } from "./runs.ts";
import { tick } from "./scheduler.ts";
import { LEDGER_JOB, runLedgerJob, type LedgerReconciler } from "./ledger/index.ts";
import { jobReport } from "./steps/report.ts";

export interface JobProcessorDeps {
  pipeline: Pipeline;
  store: RunStore;
  chain: ChainGateway;
  queue: Queue;
  config: Config;
  logger: Logger;
  /** Runs the periodic ledger reconciliation job (LEDGER_JOB). */
  ledger?: LedgerReconciler;
  now?: () => Date;
}

/** What BullMQ is told about a failed attempt: the error itself when a retry can help, else UnrecoverableError. */
export function toJobFailure(err: unknown): Error {
  if (isRetryable(err) && err instanceof Error) return err;
  const failure = new UnrecoverableError(describeError(err));
  failure.cause = err;
  if (err instanceof Error && err.stack) failure.stack = err.stack;
  return failure;
}

export function createJobProcessor(deps: JobProcessorDeps): (job: Job) => Promise<unknown> {
  const { pipeline, store, chain, queue, config, logger } = deps;
  const clock = deps.now ? { now: deps.now } : {};

  async function processRunJob(job: Job): Promise<unknown> {
    const parsed = RunJobData.safeParse(job.data);
    if (!parsed.success) throw new PipelineHalt("run_missing", `job ${job.id} has no valid run id`);
    const runId = BigInt(parsed.data.runId);
    try {
      return { status: await pipeline.processRun(runId, jobReport(job, logger)) };
    } catch (err) {
      const last = !isRetryable(err) || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (last) await pipeline.failRun(runId, err);
      else logger.warn({ runId: runId.toString(), attempt: job.attemptsMade + 1, err: describeError(err) }, "run attempt failed; will retry");
      throw err;
    }
  }

  async function processJob(job: Job): Promise<unknown> {
    switch (job.name) {
      case JOB.run:
        return processRunJob(job);
      case JOB.tick:
        return tick({ store, queue, logger, ...clock });
      case JOB.apy: {
        const { programId, kamiyoMint } = config.solana;
        const row = await snapshotApy({ store, chain, programId, kamiyoMint, allocationBps: config.jobs.allocationBps, logger, ...clock });
        return { apyBps: row.calculated_apy_bps?.toString() ?? null };
      }
      case LEDGER_JOB:
        if (deps.ledger) return runLedgerJob(deps.ledger);
        throw new PipelineHalt("run_missing", "this worker has no ledger reconciler");
      default:
        throw new PipelineHalt("run_missing", `unknown job name ${job.name}`);
    }
  }

  return async (job) => {
    try {
      return await processJob(job);
    } catch (err) {
      throw toJobFailure(err);
    }
  };
}
