/**
 * The indexer: keeps `stakes` equal to the chain. While it holds the leader lock (leadership.ts) it runs a
 * term (term.ts) that
 *  1. opens the live feed (programSubscribe + slotSubscribe) and, once subscribed, records the slot;
 *  2. backfills with getProgramAccounts at minContextSlot = that slot, streaming in batches; websocket
 *     notifications that arrive meanwhile are buffered (coalesced per account) and drained between batches
 *     and after — the slot guard in the write path makes their order against the backfill irrelevant;
 *  3. resyncs (backfills again) after every reconnect of the live feed, since a websocket has no replay
 *     (resync-loop.ts);
 *  4. processes the webhook inbox, reconciles periodically (reconciler.ts), and publishes its status about
 *     once a second (status-publisher.ts).
 * Every write goes through one bounded queue into the single write path.
 */
import type { Kysely } from "kysely";
import type pg from "pg";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Config } from "../src/config.ts";
import type { Database } from "../src/db/schema.ts";
import { exponentialBackoff } from "../src/retry.ts";
import type { IndexerStatusSnapshot } from "./contracts.ts";
import { createLeadership } from "./leadership.ts";
import { createIndexerMetrics, type IndexerMetrics } from "./metrics.ts";
import { DEFAULT_INDEXER_OPTIONS, type IndexerOptions } from "./options.ts";
import type { ReconcileReport } from "./reconcile.ts";
import { createRpcClient, type FetchLike } from "./rpc-client.ts";
import { poolTarget } from "./stake-accounts.ts";
import { createStatusPublisher } from "./status-publisher.ts";
import { createStatusTracker, readStatus, type StatusTracker } from "./status.ts";
import { closeTerm, createTerm, startTerm, type IndexerCore, type Term } from "./term.ts";
import { createWriteQueue } from "./write-queue.ts";
import { createWritePath } from "./write-path.ts";

export { DEFAULT_INDEXER_OPTIONS, type IndexerOptions } from "./options.ts";

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
  /** Overrides config.solana.grpcUrl (null: the websocket, whatever the configuration says). */
  grpcUrl?: string | null;
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

function grpcEndpoint(deps: IndexerDeps): IndexerCore["grpc"] {
  const url = deps.grpcUrl === undefined ? deps.config.solana.grpcUrl : deps.grpcUrl;
  return url ? { url, token: deps.config.solana.grpcToken } : null;
}

/** What every term shares: the RPC client, metrics and status, the write queue and the write path. */
function createCore(deps: IndexerDeps): IndexerCore {
  const options: IndexerOptions = { ...DEFAULT_INDEXER_OPTIONS, ...deps.options };
  const target = poolTarget(deps.config);
  const rpc = createRpcClient({
    url: deps.rpcUrl ?? deps.config.solana.rpcUrl,
    timeoutMs: options.rpcTimeoutMs,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  // The metrics read the time of the last event from the tracker, which records into the metrics.
  let tracker: StatusTracker | null = null;
  const metrics = createIndexerMetrics(deps.registry, () => tracker?.lastEventAt() ?? null);
  const status = createStatusTracker(metrics);
  tracker = status;
  const writePath = createWritePath({ db: deps.db, target, logger: deps.logger, onWrite: (result) => status.recordWrite(result) });
  return {
    options,
    db: deps.db,
    pool: deps.pool,
    logger: deps.logger,
    rpc,
    target,
    commitment: deps.config.solana.commitment,
    wsUrl: deps.wsUrl ?? deps.config.solana.wsUrl,
    grpc: grpcEndpoint(deps),
    metrics,
    status,
    publisher: createStatusPublisher({ db: deps.db, status, logger: deps.logger }),
    writes: createWriteQueue(options.writeConcurrency),
    writePath,
    rpcBackoff: exponentialBackoff(options.reconnectBaseMs, options.reconnectMaxMs),
  };
}

export function createIndexer(deps: IndexerDeps): Indexer {
  const core = createCore(deps);
  let term: Term | null = null;

  const leadership = createLeadership({
    pool: deps.pool,
    lockName: `kamiyo-stake indexer ${core.target.programId} ${core.target.pool}`,
    logger: core.logger,
    retryMs: core.options.leaderRetryMs,
    async onElected(ctx) {
      core.metrics.leader.set(1);
      core.status.adopt(await readStatus(deps.db));
      // Registered before it starts, so that a start that fails is closed by onDeposed.
      term = createTerm(core, ctx.signal);
      await startTerm(core, term, ctx.client);
    },
    async onDeposed() {
      const t = term;
      term = null;
      core.metrics.leader.set(0);
      if (t) await closeTerm(t);
    },
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
    status: () => core.status.snapshot(),
    activity() {
      const t = term;
      return {
        leader: t !== null,
        subscribed: t?.feed.subscribed ?? false,
        wsBuffered: t?.wsBuffer.size ?? 0,
        rereadsPending: t?.rereads.pending ?? 0,
        writesPending: core.writes.pending,
        resyncRunning: t !== null && t.resync.running !== null,
      };
    },
    reconcileNow: () => requireTerm().reconciler.run(),
    restartFeed: (reason) => requireTerm().feed.restart(reason),
    metrics: core.metrics,
  };
}
