/**
 * The resync loop of one leadership term: a backfill (getProgramAccounts at minContextSlot = a slot recorded
 * after the live feed subscribed) run until one completes. It runs whenever the live feed (re)subscribes,
 * because a websocket has no replay. A request while a resync runs makes it run once more: the running
 * snapshot may predate the new gap. Failures that retrying can fix are retried with backoff; any other
 * failure ends the resync (logged as an error), and the next resubscription starts a new one.
 */
import type { Logger } from "pino";
import type { Commitment } from "../src/config.ts";
import { describeError, isRetryable, StoppedError } from "../src/errors.ts";
import { sleep, type Backoff } from "../src/retry.ts";
import { runBackfill } from "./backfill.ts";
import type { IndexerMetrics } from "./metrics.ts";
import type { IndexerOptions } from "./options.ts";
import type { RpcClient } from "./rpc-client.ts";
import type { PoolTarget } from "./stake-accounts.ts";
import type { StatusTracker } from "./status.ts";
import type { SourcedRead } from "./write-path.ts";

export interface ResyncLoop {
  /** Starts a resync, or makes the running one run once more. */
  request(): void;
  /** The running resync, or null. It never rejects. */
  readonly running: Promise<void> | null;
}

export interface ResyncLoopOptions {
  rpc: RpcClient;
  target: PoolTarget;
  commitment: Commitment;
  options: Pick<IndexerOptions, "backfillBatch" | "writeConcurrency" | "backfillReadAhead">;
  backoff: Backoff;
  /** Applies one backfill batch through the term's write queue. */
  apply(reads: SourcedRead[]): Promise<unknown>;
  metrics: IndexerMetrics;
  status: StatusTracker;
  /** Publishes the status right after a backfill completed. */
  publishStatus(): Promise<void>;
  logger: Logger;
  /** The term's signal: a resync stops when the term ends. */
  signal: AbortSignal;
}

export function createResyncLoop(o: ResyncLoopOptions): ResyncLoop {
  const log = o.logger;
  let running: Promise<void> | null = null;
  let again = false;

  async function backfillOnce(): Promise<void> {
    const started = Date.now();
    // Recorded after the subscription was confirmed: everything before it is in the snapshot, everything
    // after it reaches the live feed.
    const recorded = await o.rpc.getSlot(o.commitment, o.signal);
    const result = await runBackfill({
      rpc: o.rpc,
      target: o.target,
      commitment: o.commitment,
      minContextSlot: recorded,
      batchSize: o.options.backfillBatch,
      maxInFlight: o.options.writeConcurrency,
      readAhead: o.options.backfillReadAhead,
      apply: o.apply,
      signal: o.signal,
    });
    o.metrics.resyncs.inc();
    o.metrics.backfillAccounts.set(result.accounts);
    o.metrics.backfillSeconds.set((Date.now() - started) / 1000);
    o.status.recordBackfill(result.slot);
    log.info({ accounts: result.accounts, slot: result.slot.toString(), ms: Date.now() - started }, "backfill complete");
    await o.publishStatus();
  }

  /** Retries what retrying can fix; rethrows anything else. Returns quietly when the term ends. */
  async function backfillUntilDone(): Promise<void> {
    for (let attempt = 1; !o.signal.aborted; attempt++) {
      try {
        await backfillOnce();
        return;
      } catch (err) {
        if (err instanceof StoppedError || o.signal.aborted) return;
        if (!isRetryable(err)) throw err;
        const delayMs = o.backoff.delay(attempt);
        log.warn({ err: describeError(err), attempt, delayMs }, "backfill failed; retrying");
        await sleep(delayMs, o.signal).catch(() => undefined);
      }
    }
  }

  return {
    request() {
      if (running) {
        again = true;
        return;
      }
      running = (async () => {
        do {
          again = false;
          await backfillUntilDone();
        } while (again && !o.signal.aborted);
      })()
        .catch((err) => {
          if (!(err instanceof StoppedError)) {
            log.error({ err: describeError(err) }, "resync stopped: retrying cannot help; the next resubscription of the live feed starts another");
          }
        })
        .finally(() => {
          running = null;
        });
    },
    get running() {
      return running;
    },
  };
}
