/**
 * The indexer: keeps `stakes` equal to the chain. While it holds the leader lock it
 *  1. opens the live feed (programSubscribe + slotSubscribe) and, once subscribed, records the slot;
 *  2. backfills with getProgramAccounts at minContextSlot = that slot, streaming in batches; websocket
 *     notifications that arrive meanwhile are buffered (coalesced per account) and drained between batches
 *     and after — the slot guard in the write path makes their order against the backfill irrelevant;
 *  3. resyncs (backfills again) after every reconnect of the live feed, since a websocket has no replay;
 *  4. processes the webhook inbox, reconciles periodically, and persists its status about once a second.
 * Every write goes through one bounded queue into the single write path.
 */
import type { Kysely } from "kysely";
import type pg from "pg";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Commitment, Config } from "../src/config.ts";
import type { Database, StakeEventSource } from "../src/db/schema.ts";
import { describeError } from "../src/errors.ts";
import { WEBHOOK_INBOX_CHANNEL, type IndexerStatusSnapshot } from "./contracts.ts";
import { runBackfill } from "./backfill.ts";
import { isRetryable, StoppedError } from "./errors.ts";
import { createLeadership, type LeaderTermContext } from "./leadership.ts";
import { createLiveFeed, type LiveFeed } from "./live-feed.ts";
import { createIndexerMetrics, type IndexerMetrics } from "./metrics.ts";
import { runReconcile, type ReconcileReport } from "./reconcile.ts";
import { exponentialBackoff, sleep } from "../src/retry.ts";
import { createRpcClient, type FetchLike, type RpcClient } from "./rpc-client.ts";
import { createRereads, type Rereads } from "./rereads.ts";
import { createWriteQueue } from "./write-queue.ts";
import { createWsBuffer, type WsBuffer } from "./ws-buffer.ts";
import { poolTarget, userStakeFilters, type PoolTarget } from "./stake-accounts.ts";
import { createStatusTracker, readStatus, writeStatus, type StatusTracker } from "./status.ts";
import { createWebhookProcessor, pruneInbox, type WebhookProcessor } from "./webhook-inbox.ts";
import { createWritePath, type SourcedRead, type WritePath, type WriteResult } from "./write-path.ts";

export interface IndexerOptions {
  /** No slot progress on the live feed for this long means the socket is dead. */
  stallTimeoutMs: number;
  handshakeTimeoutMs: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  /** Between reconciliations; 0 disables the timer (reconcileNow still works). */
  reconcileIntervalMs: number;
  /** Commitment of the reconciliation snapshot (finalized: it is the check on what confirmed reads said). */
  reconcileCommitment: Commitment;
  statusIntervalMs: number;
  /** How often a standby retries the lock and a leader checks its lock connection. */
  leaderRetryMs: number;
  backfillBatch: number;
  /** Batched upserts in flight at once (Postgres works on one while the next is decoded and sent). */
  writeConcurrency: number;
  /** Backfill batches read ahead of the writes (memory: backfillBatch accounts each). */
  backfillReadAhead: number;
  /** Delay before accounts whose same-slot reads disagreed are read again at a later slot. */
  rereadDelayMs: number;
  webhookPollMs: number;
  webhookMaxAttempts: number;
  /** First retry delay of a failed webhook delivery (doubling, capped at a minute). */
  webhookRetryBaseMs: number;
  /** Re-read tries within one processing attempt (the node may not have reached the webhook's slot yet). */
  webhookReadAttempts: number;
  /** Webhook inbox rows older than this are deleted during reconciliation. */
  webhookRetentionDays: number;
  rpcTimeoutMs: number;
}

export const DEFAULT_INDEXER_OPTIONS: IndexerOptions = {
  stallTimeoutMs: 15_000,
  handshakeTimeoutMs: 10_000,
  reconnectBaseMs: 250,
  reconnectMaxMs: 10_000,
  reconcileIntervalMs: 5 * 60_000,
  reconcileCommitment: "finalized",
  statusIntervalMs: 1_000,
  leaderRetryMs: 2_000,
  backfillBatch: 5_000,
  writeConcurrency: 2,
  backfillReadAhead: 3,
  rereadDelayMs: 250,
  webhookPollMs: 1_000,
  webhookMaxAttempts: 5,
  webhookRetryBaseMs: 1_000,
  webhookReadAttempts: 8,
  webhookRetentionDays: 7,
  rpcTimeoutMs: 30_000,
};

export interface IndexerDeps {
  config: Config;
  db: Kysely<Database>;
  /** The pool behind `db`: its options open the dedicated lock connection; reconciliation borrows a client. */
  pool: pg.Pool;
  logger: Logger;
  registry: Registry;
  /** Replaces global fetch for JSON-RPC (fault injection in tests, proxies). */
  fetch?: FetchLike;
  /** Overrides config.solana.rpcUrl / wsUrl. */
  rpcUrl?: string;
  wsUrl?: string;
  options?: Partial<IndexerOptions>;
}

export interface IndexerActivity {
  leader: boolean;
  subscribed: boolean;
  wsBuffered: number;
  rereadsPending: number;
  writesPending: number;
  resyncRunning: boolean;
}

export interface Indexer {
  /** Starts competing for leadership; resolves at once (a standby keeps waiting in the background). */
  start(): Promise<void>;
  /** Stops everything and releases the lock. */
  stop(): Promise<void>;
  readonly isLeader: boolean;
  status(): IndexerStatusSnapshot;
  activity(): IndexerActivity;
  /** Runs a reconciliation now (leader only). */
  reconcileNow(): Promise<ReconcileReport>;
  /** Replaces the live feed's socket, as a dead socket would (leader only); a resync follows. */
  restartFeed(reason: string): void;
  readonly metrics: IndexerMetrics;
}

interface Term {
  signal: AbortSignal;
  feed: LiveFeed;
  inbox: WebhookProcessor;
  wsBuffer: WsBuffer;
  rereads: Rereads;
  timers: NodeJS.Timeout[];
  resync: Promise<void> | null;
  resyncAgain: boolean;
  reconciling: Promise<ReconcileReport> | null;
}

export function createIndexer(deps: IndexerDeps): Indexer {
  const o: IndexerOptions = { ...DEFAULT_INDEXER_OPTIONS, ...deps.options };
  const log = deps.logger;
  const commitment = deps.config.solana.commitment;
  const target: PoolTarget = poolTarget(deps.config);
  const rpc: RpcClient = createRpcClient({
    url: deps.rpcUrl ?? deps.config.solana.rpcUrl,
    timeoutMs: o.rpcTimeoutMs,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  const wsUrl = deps.wsUrl ?? deps.config.solana.wsUrl;
  let tracker: StatusTracker | null = null;
  const metrics = createIndexerMetrics(deps.registry, () => tracker?.lastEventAt() ?? null);
  tracker = createStatusTracker(metrics);
  const status = tracker;
  const writes = createWriteQueue(o.writeConcurrency);
  const writePath: WritePath = createWritePath({
    db: deps.db,
    target,
    logger: log,
    onWrite: (result) => status.recordWrite(result),
  });
  const rpcBackoff = exponentialBackoff(o.reconnectBaseMs, o.reconnectMaxMs);
  let term: Term | null = null;

  async function write(t: Term, reads: SourcedRead[], source: StakeEventSource): Promise<WriteResult> {
    const result = await writes.run(() => writePath.apply(reads, source));
    if (result.sameSlotConflicts.length > 0) t.rereads.schedule(result.sameSlotConflicts, source);
    return result;
  }

  // ---- backfill / resync ----

  function requestResync(t: Term): void {
    if (t.resync) {
      // The running snapshot may predate the new gap: run once more after it.
      t.resyncAgain = true;
      return;
    }
    t.resync = (async () => {
      do {
        t.resyncAgain = false;
        await backfillUntilDone(t);
      } while (t.resyncAgain && !t.signal.aborted);
    })()
      .catch((err) => {
        if (!(err instanceof StoppedError)) log.error({ err: describeError(err) }, "resync stopped");
      })
      .finally(() => {
        t.resync = null;
      });
  }

  async function backfillUntilDone(t: Term): Promise<void> {
    for (let attempt = 1; !t.signal.aborted; attempt++) {
      const started = Date.now();
      try {
        // Recorded after the subscription was confirmed: everything before it is in the snapshot, everything
        // after it reaches the live feed.
        const recorded = await rpc.getSlot(commitment, t.signal);
        const result = await runBackfill({
          rpc,
          target,
          commitment,
          minContextSlot: recorded,
          batchSize: o.backfillBatch,
          maxInFlight: o.writeConcurrency,
          readAhead: o.backfillReadAhead,
          apply: (reads) => write(t, reads, "backfill"),
          signal: t.signal,
        });
        metrics.resyncs.inc();
        metrics.backfillAccounts.set(result.accounts);
        metrics.backfillSeconds.set((Date.now() - started) / 1000);
        status.recordBackfill(result.slot);
        log.info({ accounts: result.accounts, slot: result.slot.toString(), ms: Date.now() - started }, "backfill complete");
        await persistStatus(t);
        return;
      } catch (err) {
        if (err instanceof StoppedError || t.signal.aborted) return;
        const delay = rpcBackoff.delay(attempt);
        log[isRetryable(err) ? "warn" : "error"]({ err: describeError(err), attempt, delayMs: delay }, "backfill failed; retrying");
        await sleep(delay, t.signal).catch(() => undefined);
      }
    }
  }

  // ---- reconciliation ----

  function reconcile(t: Term): Promise<ReconcileReport> {
    t.reconciling ??= (async () => {
      try {
        const report = await runReconcile({
          rpc,
          pool: deps.pool,
          target,
          commitment: o.reconcileCommitment,
          batchSize: o.backfillBatch,
          apply: (reads) => write(t, reads, "reconcile"),
          signal: t.signal,
        });
        metrics.reconciliations.inc({ result: "ok" });
        for (const kind of ["missing", "differing", "extra"] as const) {
          metrics.reconciliationDrift.set({ kind }, report[kind]);
          metrics.reconciliationDriftTotal.inc({ kind }, report[kind]);
        }
        status.recordDrift(report.drift);
        (report.drift > 0 ? log.warn : log.info).call(
          log,
          { ...report, slot: report.slot.toString() },
          report.drift > 0 ? "reconciliation repaired drift" : "reconciliation found no drift",
        );
        await pruneInbox(deps.db, o.webhookRetentionDays).catch((err) =>
          log.warn({ err: describeError(err) }, "pruning the webhook inbox failed"),
        );
        return report;
      } catch (err) {
        metrics.reconciliations.inc({ result: "error" });
        throw err;
      }
    })().finally(() => {
      t.reconciling = null;
    });
    return t.reconciling;
  }

  async function persistStatus(t: Term): Promise<void> {
    if (t.signal.aborted) return;
    try {
      await writeStatus(deps.db, status.snapshot());
    } catch (err) {
      log.warn({ err: describeError(err) }, "persisting indexer status failed");
    }
  }

  // ---- leadership terms ----

  async function onElected(ctx: LeaderTermContext): Promise<void> {
    metrics.leader.set(1);
    status.adopt(await readStatus(deps.db));
    const signal = ctx.signal;
    const t: Term = {
      signal,
      feed: null as unknown as LiveFeed,
      inbox: createWebhookProcessor({
        db: deps.db,
        rpc,
        commitment,
        logger: log,
        metrics,
        apply: (reads) => write(t, reads, "webhook"),
        maxAttempts: o.webhookMaxAttempts,
        retryBackoff: exponentialBackoff(o.webhookRetryBaseMs, 60_000),
        readRetry: { attempts: o.webhookReadAttempts, backoff: exponentialBackoff(100, 2_000) },
        signal,
      }),
      wsBuffer: createWsBuffer({ write: (reads) => write(t, reads, "ws"), backoff: rpcBackoff, logger: log, signal }),
      rereads: createRereads({
        rpc,
        commitment,
        delayMs: o.rereadDelayMs,
        write: (reads, source) => write(t, reads, source),
        metrics,
        logger: log,
        signal,
      }),
      timers: [],
      resync: null,
      resyncAgain: false,
      reconciling: null,
    };
    term = t;
    t.feed = createLiveFeed({
      wsUrl,
      programId: target.programId,
      commitment,
      filters: userStakeFilters(target.pool),
      logger: log,
      stallTimeoutMs: o.stallTimeoutMs,
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      backoff: exponentialBackoff(o.reconnectBaseMs, o.reconnectMaxMs),
      onAccount: (read) => t.wsBuffer.push({ ...read, commitment }),
      onSlot: (slot) => status.recordSlot(slot),
      onSubscribed: () => requestResync(t),
      onReconnect: () => status.recordReconnect(),
    });

    await t.inbox.recover();
    ctx.client.on("notification", (n) => {
      if (n.channel === WEBHOOK_INBOX_CHANNEL) t.inbox.wake();
    });
    await ctx.client.query(`LISTEN ${WEBHOOK_INBOX_CHANNEL}`);
    t.feed.start();
    t.inbox.wake();
    t.timers.push(setInterval(() => t.inbox.wake(), o.webhookPollMs));
    t.timers.push(setInterval(() => void persistStatus(t), o.statusIntervalMs));
    if (o.reconcileIntervalMs > 0) {
      t.timers.push(
        setInterval(() => {
          // Only once a backfill exists to reconcile against, and never two at once.
          if (status.snapshot().backfillCompletedAt === null || t.reconciling) return;
          reconcile(t).catch((err) => {
            if (!(err instanceof StoppedError)) log.warn({ err: describeError(err) }, "reconciliation failed; next run will retry");
          });
        }, o.reconcileIntervalMs),
      );
    }
    await persistStatus(t);
  }

  async function onDeposed(): Promise<void> {
    const t = term;
    term = null;
    metrics.leader.set(0);
    if (!t) return;
    for (const timer of t.timers) clearInterval(timer);
    await t.feed.stop();
    await Promise.allSettled([t.wsBuffer.idle(), t.rereads.stop(), t.resync, t.reconciling, t.inbox.idle()]);
  }

  const leadership = createLeadership({
    pool: deps.pool,
    lockName: `kamiyo-stake indexer ${target.programId} ${target.pool}`,
    logger: log,
    retryMs: o.leaderRetryMs,
    onElected,
    onDeposed,
  });

  const requireTerm = (): Term => {
    if (!term) throw new Error("this indexer is not the leader");
    return term;
  };

  return {
    async start() {
      leadership.start();
    },
    async stop() {
      await leadership.stop();
    },
    get isLeader() {
      return leadership.isLeader && term !== null;
    },
    status: () => status.snapshot(),
    activity() {
      const t = term;
      return {
        leader: t !== null,
        subscribed: t?.feed.subscribed ?? false,
        wsBuffered: t?.wsBuffer.size ?? 0,
        rereadsPending: t?.rereads.pending ?? 0,
        writesPending: writes.pending,
        resyncRunning: t?.resync !== null && t?.resync !== undefined,
      };
    },
    reconcileNow: () => reconcile(requireTerm()),
    restartFeed: (reason) => requireTerm().feed.restart(reason),
    metrics,
  };
}
