/**
 * The resync loop of one leadership term: a backfill (getProgramAccounts at minContextSlot = a slot recorded
 * after the live source subscribed) run until one completes. It runs when the live source first subscribes,
 * and after every reconnect the source could not replay (a websocket never can; gRPC when the server no
 * longer holds the slot). After a reconnect the resync is incremental where the RPC supports it: Helius's
 * getProgramAccountsV2 with changedSinceSlot = the first slot of the gap, so a reconnect costs the changes
 * it missed rather than every account; an RPC without the method (-32601) gets a full backfill, and is not
 * asked again. A request while a resync runs makes it run once more (full if either asked for full): the
 * running snapshot may predate the new gap. Failures that retrying can fix are retried with backoff; any
 * other failure ends the resync (logged as an error), and the next resubscription starts a new one.
 */
import type { Logger } from "pino";
import type { Commitment } from "../src/config.ts";
import { describeError, isRetryable, StoppedError } from "../src/errors.ts";
import { sleep, type Backoff } from "../src/retry.ts";
import { isUnsupportedMethod, runBackfill, runIncrementalResync, type BackfillResult } from "./backfill.ts";
import { writeAllStaged, type StagedBatch, type Staging } from "./bulk-write.ts";
import type { IndexerMetrics } from "./metrics.ts";
import type { IndexerOptions } from "./options.ts";
import type { RpcClient } from "./rpc-client.ts";
import type { PoolTarget } from "./stake-accounts.ts";
import type { StatusTracker } from "./status.ts";

/** full: every account (the first backfill); incremental: what changed since the gap began. */
export type ResyncKind = "full" | "incremental";

export interface ResyncLoop {
  /** Starts a resync, or makes the running one run once more. */
  request(kind?: ResyncKind): void;
  /** The running resync, or null. It never rejects. */
  readonly running: Promise<void> | null;
}

export interface ResyncLoopOptions {
  rpc: RpcClient;
  target: PoolTarget;
  commitment: Commitment;
  options: Pick<IndexerOptions, "backfillBatch" | "writeConcurrency" | "backfillReadAhead" | "onBackfillProgress">;
  backoff: Backoff;
  /** A staging area for one batch at a time (the batched write path). */
  staging(): Staging;
  /**
   * Writes one staged batch through the term's write queue. `initialFill`: the table held no row of the pool
   * when this backfill began.
   */
  write(batch: StagedBatch, kind: { source: "backfill" | "resync"; initialFill: boolean }): Promise<unknown>;
  /** Whether the table holds no row of the pool (the next full backfill is then an initial fill). */
  isEmpty(): Promise<boolean>;
  metrics: IndexerMetrics;
  status: StatusTracker;
  /** Publishes the status right after a backfill completed. */
  publishStatus(): Promise<void>;
  /**
   * Taken when an incremental resync starts: the first slot whose changes the table may lack (the gap since
   * the live source was lost), or null when unknown (a full backfill runs instead).
   */
  takeGap?(): bigint | null;
  /** A resync completed with a snapshot at `slot`: every change up to it is in the table. */
  onSnapshot?(slot: bigint): void;
  logger: Logger;
  /** The term's signal: a resync stops when the term ends. */
  signal: AbortSignal;
}

export function createResyncLoop(o: ResyncLoopOptions): ResyncLoop {
  const log = o.logger;
  let running: Promise<void> | null = null;
  let again: ResyncKind | null = null;
  /** Whether the RPC has getProgramAccountsV2 (null until asked). */
  let incrementalSupported: boolean | null = null;

  async function incrementalOnce(since: bigint, recorded: bigint): Promise<BackfillResult | null> {
    if (incrementalSupported === false) return null;
    try {
      const result = await runIncrementalResync({
        rpc: o.rpc,
        target: o.target,
        commitment: o.commitment,
        changedSinceSlot: since,
        minContextSlot: recorded,
        apply: async (reads) => {
          const staging = o.staging();
          for (const read of reads) staging.add(read);
          await writeAllStaged(staging, (batch) => o.write(batch, { source: "resync", initialFill: false }));
        },
        signal: o.signal,
      });
      incrementalSupported = true;
      return result;
    } catch (err) {
      if (!isUnsupportedMethod(err)) throw err;
      incrementalSupported = false;
      log.info("the RPC has no getProgramAccountsV2: resyncs after a reconnect are full backfills");
      return null;
    }
  }

  async function backfillOnce(kind: ResyncKind, since: bigint | null): Promise<void> {
    const started = Date.now();
    // Recorded after the subscription was confirmed: everything before it is in the snapshot, everything
    // after it reaches the live feed.
    const recorded = await o.rpc.getSlot(o.commitment, o.signal);
    if (kind === "incremental" && since !== null) {
      const result = await incrementalOnce(since, recorded);
      if (result) {
        o.metrics.resyncs.inc();
        o.onSnapshot?.(result.slot);
        log.info({ accounts: result.accounts, since: since.toString(), slot: result.slot.toString(), ms: Date.now() - started }, "incremental resync complete");
        return;
      }
    }
    const initialFill = await o.isEmpty();
    const result = await runBackfill({
      rpc: o.rpc,
      target: o.target,
      commitment: o.commitment,
      minContextSlot: recorded,
      batchSize: o.options.backfillBatch,
      maxInFlight: o.options.writeConcurrency,
      readAhead: o.options.backfillReadAhead,
      staging: o.staging(),
      write: (batch) => o.write(batch, { source: "backfill", initialFill }),
      signal: o.signal,
      ...(o.options.onBackfillProgress ? { onProgress: o.options.onBackfillProgress } : {}),
    });
    o.metrics.resyncs.inc();
    o.metrics.backfillAccounts.set(result.accounts);
    o.metrics.backfillSeconds.set((Date.now() - started) / 1000);
    o.status.recordBackfill(result.slot);
    o.onSnapshot?.(result.slot);
    log.info({ accounts: result.accounts, initialFill, slot: result.slot.toString(), ms: Date.now() - started }, "backfill complete");
    await o.publishStatus();
  }

  /** Retries what retrying can fix; rethrows anything else. Returns quietly when the term ends. */
  async function backfillUntilDone(kind: ResyncKind): Promise<void> {
    // Taken once per run, so that a retry covers the same gap.
    const since = kind === "incremental" ? (o.takeGap?.() ?? null) : null;
    for (let attempt = 1; !o.signal.aborted; attempt++) {
      try {
        await backfillOnce(kind, since);
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
    request(kind = "full") {
      if (running) {
        again = again === "full" || kind === "full" ? "full" : "incremental";
        return;
      }
      running = (async () => {
        let next: ResyncKind | null = kind;
        while (next !== null && !o.signal.aborted) {
          again = null;
          await backfillUntilDone(next);
          next = again;
        }
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
