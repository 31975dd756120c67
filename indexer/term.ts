/**
 * One leadership term: everything the leader runs while it holds the lock. A term is built when the lock is
 * won, registered, then started (a start that fails is torn down like any other term), and closed when the
 * lock is lost. Every part stops on the term's signal; closeTerm waits until none of them is still running.
 * All of a term's writes go through the indexer's one write queue into the single write path.
 */
import type { Kysely } from "kysely";
import type pg from "pg";
import type { Logger } from "pino";
import type { Commitment } from "../src/config.ts";
import { createTierTableRepository } from "../src/db/repositories/tier-table.ts";
import { listenForDeliveries } from "../src/db/repositories/webhook-inbox.ts";
import type { Database, StakeEventSource } from "../src/db/schema.ts";
import { poolHasStakes } from "../src/db/repositories/stakes-bulk.ts";
import { exponentialBackoff, type Backoff } from "../src/retry.ts";
import { createBulkWritePath, type StagedBatch } from "./bulk-write.ts";
import { WEBHOOK_INBOX_CHANNEL } from "./contracts.ts";
import { createLiveSource, type LiveSource } from "./live/index.ts";
import type { IndexerMetrics } from "./metrics.ts";
import type { IndexerOptions } from "./options.ts";
import { createReconciler, type Reconciler } from "./reconciler.ts";
import { createRereads, type Rereads } from "./rereads.ts";
import { createResyncLoop, type ResyncLoop } from "./resync-loop.ts";
import type { RpcClient } from "./rpc-client.ts";
import { userStakeFilters, type PoolTarget } from "./stake-accounts.ts";
import type { StatusPublisher } from "./status-publisher.ts";
import type { StatusTracker } from "./status.ts";
import { createWebhookProcessor, type WebhookProcessor } from "./webhook-inbox.ts";
import type { SourcedRead, WritePath, WriteResult } from "./write-path.ts";
import type { WriteQueue } from "./write-queue.ts";
import { createWsBuffer, type WsBuffer } from "./ws-buffer.ts";

/** What outlives terms: built once by createIndexer and shared by every term. */
export interface IndexerCore {
  options: IndexerOptions;
  db: Kysely<Database>;
  /** Reconciliation borrows clients from it. */
  pool: pg.Pool;
  logger: Logger;
  rpc: RpcClient;
  target: PoolTarget;
  commitment: Commitment;
  wsUrl: string;
  /** Yellowstone gRPC endpoint: when set, the live source is gRPC instead of the websocket. */
  grpc: { url: string; token: string | undefined } | null;
  metrics: IndexerMetrics;
  status: StatusTracker;
  publisher: StatusPublisher;
  writes: WriteQueue;
  writePath: WritePath;
  /** Between retries of RPC reads and websocket writes (the reconnect bounds). */
  rpcBackoff: Backoff;
}

export interface Term {
  signal: AbortSignal;
  feed: LiveSource;
  inbox: WebhookProcessor;
  wsBuffer: WsBuffer;
  rereads: Rereads;
  resync: ResyncLoop;
  reconciler: Reconciler;
  timers: NodeJS.Timeout[];
}

/** Builds a term's parts; nothing runs until startTerm. */
export function createTerm(core: IndexerCore, signal: AbortSignal): Term {
  const { options: o, rpc, commitment, logger: log, metrics, status } = core;
  /** Every change at or before this slot is in the table or on its way (a snapshot, or the live source). */
  let covered: bigint | null = null;
  /** The first slot of a gap the live source could not replay (what it had covered when it was lost). */
  let gap: bigint | null = null;
  let gapOpen = false;
  const cover = (slot: bigint) => {
    if (covered === null || slot > covered) covered = slot;
  };

  async function write(reads: SourcedRead[], source: StakeEventSource): Promise<WriteResult> {
    const result = await core.writes.run(() => core.writePath.apply(reads, source));
    if (result.sameSlotConflicts.length > 0) rereads.schedule(result.sameSlotConflicts, source);
    return result;
  }

  const inbox = createWebhookProcessor({
    db: core.db,
    rpc,
    commitment,
    logger: log,
    metrics,
    apply: (reads) => write(reads, "webhook"),
    maxAttempts: o.webhookMaxAttempts,
    retryBackoff: exponentialBackoff(o.webhookRetryBaseMs, 60_000),
    readRetry: { attempts: o.webhookReadAttempts, backoff: exponentialBackoff(100, 2_000) },
    signal,
  });
  // Backfill and resync batches: COPY + one set-based upsert each, one notice per batch.
  const bulk = createBulkWritePath({ pool: core.pool, target: core.target, logger: log, onWrite: (result) => status.recordWrite(result) });
  async function writeBatch(batch: StagedBatch, source: StakeEventSource, initialFill: boolean): Promise<WriteResult> {
    const result = await core.writes.run(() => bulk.write(batch, source, { initialFill }));
    if (result.sameSlotConflicts.length > 0) rereads.schedule(result.sameSlotConflicts, source);
    return result;
  }

  // The live source's updates, whichever it is (recorded as its own source).
  const liveSource: StakeEventSource = core.grpc ? "grpc" : "ws";
  const wsBuffer = createWsBuffer({ write: (reads) => write(reads, liveSource), backoff: core.rpcBackoff, logger: log, signal });
  const rereads = createRereads({ rpc, commitment, delayMs: o.rereadDelayMs, write, metrics, logger: log, signal });
  const resync = createResyncLoop({
    rpc,
    target: core.target,
    commitment,
    options: o,
    backoff: core.rpcBackoff,
    staging: () => bulk.staging(),
    write: (batch, kind) => writeBatch(batch, kind.source, kind.initialFill),
    isEmpty: async () => !(await poolHasStakes(core.pool, core.target.pool)),
    metrics,
    status,
    publishStatus: () => core.publisher.publish(signal),
    takeGap() {
      const since = gap;
      gap = null;
      gapOpen = false;
      return since;
    },
    onSnapshot: cover,
    logger: log,
    signal,
  });
  const reconciler = createReconciler({
    rpc,
    db: core.db,
    pool: core.pool,
    target: core.target,
    commitment: o.reconcileCommitment,
    batchSize: o.backfillBatch,
    webhookRetentionDays: o.webhookRetentionDays,
    apply: (reads) => write(reads, "reconcile"),
    metrics,
    status,
    logger: log,
    signal,
  });
  const feed = createLiveSource({
    endpoints: { wsUrl: core.wsUrl, grpc: core.grpc },
    programId: core.target.programId,
    commitment,
    filters: userStakeFilters(core.target.pool),
    logger: log,
    stallTimeoutMs: o.stallTimeoutMs,
    handshakeTimeoutMs: o.handshakeTimeoutMs,
    backoff: exponentialBackoff(o.reconnectBaseMs, o.reconnectMaxMs),
    onAccount(read) {
      // Sources deliver in slot order: everything before this slot has been delivered.
      cover(read.slot - 1n);
      wsBuffer.push({ ...read, commitment });
    },
    onSlot: (slot) => status.recordSlot(slot),
    // The first subscription is followed by the backfill. A reconnect the source replayed (gRPC fromSlot) left
    // no gap; any other leaves one, healed by an incremental resync from the slot covered when it was lost.
    onSubscribed({ reconnect, resumed }) {
      if (!reconnect) resync.request("full");
      else if (!resumed) resync.request(gap === null ? "full" : "incremental");
      else {
        gap = null;
        gapOpen = false;
        log.info("live source resumed by replay; no resync needed");
      }
    },
    onReconnect() {
      status.recordReconnect();
      // The earliest uncovered slot since the source was first lost, until a resync takes it.
      if (!gapOpen) {
        // Inclusive: a snapshot read while its slot was still open (processed, or a chain whose levels
        // coincide) may lack that slot's later changes; re-reading them is harmless behind the slot guard.
        gap = covered;
        gapOpen = true;
      }
    },
  });
  return { signal, feed, inbox, wsBuffer, rereads, resync, reconciler, timers: [] };
}

/**
 * Starts a registered term: inbox recovery, LISTEN for stored webhook deliveries on the lock connection (so
 * losing it ends the term), the live feed, and the timers (inbox poll, status, reconciliation).
 */
export async function startTerm(core: IndexerCore, t: Term, lockClient: pg.Client): Promise<void> {
  const o = core.options;
  // The leader's table is the one in effect: stored rows are re-tiered with it and readers told, before any
  // write of this term derives a tier with it.
  if (await createTierTableRepository(core.db).publish(core.target.tiers, "indexer")) {
    core.logger.info({ tiers: core.target.tiers.map((x) => x.name) }, "published the discount tier table; stored rows re-tiered");
  }
  await t.inbox.recover();
  lockClient.on("notification", (n) => {
    if (n.channel === WEBHOOK_INBOX_CHANNEL) t.inbox.wake();
  });
  await listenForDeliveries(lockClient);
  t.feed.start();
  t.inbox.wake();
  t.timers.push(setInterval(() => t.inbox.wake(), o.webhookPollMs));
  t.timers.push(setInterval(() => void core.publisher.publish(t.signal), o.statusIntervalMs));
  // Proof of life for the tier cache, behind the stake writes (status-publisher.ts).
  t.timers.push(setInterval(() => void core.publisher.heartbeat(t.signal, core.target.pool, core.writes), o.statusIntervalMs));
  if (o.reconcileIntervalMs > 0) t.timers.push(setInterval(() => t.reconciler.tick(), o.reconcileIntervalMs));
  await core.publisher.publish(t.signal);
  await core.publisher.heartbeat(t.signal, core.target.pool, core.writes);
}

/** Stops a term whose signal has been aborted; resolves once none of its parts is still working. */
export async function closeTerm(t: Term): Promise<void> {
  for (const timer of t.timers) clearInterval(timer);
  await t.feed.stop();
  await Promise.allSettled([t.wsBuffer.idle(), t.rereads.stop(), t.resync.running, t.reconciler.running, t.inbox.idle()]);
}
