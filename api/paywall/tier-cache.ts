/**
 * Owner -> discount tier for one staking pool, held in memory so that pricing a request reads no database
 * and no chain. Loaded from `stakes` and kept fresh by LISTEN on the indexer's STAKE_CHANGES_CHANNEL over a
 * dedicated connection. While the connection is down, and until the table has been re-read after it comes
 * back, the cache is untrusted and `lookup` answers null (callers charge the full price).
 */
import type pg from "pg";
import { createStakeChangeListener, STAKE_CHANGES_CHANNEL } from "../../src/db/repositories/stakes.ts";
import { batchStakes } from "../../src/db/repositories/stakes-bulk.ts";
import { INDEXER_HEARTBEAT_CHANNEL, listenForHeartbeats } from "../../src/db/repositories/indexer-state.ts";
import { readPublishedTiers, TIER_TABLE_NOTICE } from "../../src/db/repositories/tier-table.ts";
import type { DiscountTier, TierMatch } from "../../src/domain/tiers.ts";
import { describeError } from "../../src/errors.ts";
import type { Logger } from "../../src/log.ts";
import { superviseConnection, withDeadline } from "./connection-supervisor.ts";
import { watchProofOfLife } from "./proof-of-life.ts";
import { heartbeatSlot, parseBatchNotice, parseNotice } from "./tier-notices.ts";
import { createTierTable } from "./tier-table-memory.ts";
import { createWaiters } from "./waiters.ts";

export { parseBatchNotice, parseNotice };

export interface TierCacheOptions {
  /** Opens a new, not yet connected client; the cache owns and ends it. */
  connect: () => pg.Client;
  /** The staking pool whose stakes earn discounts. */
  pool: string;
  tiers: readonly DiscountTier[];
  logger: Logger;
  /** Backoff between reconnect attempts. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Re-read the whole table this often while connected (repairs any missed notice). 0 disables. */
  reloadIntervalMs?: number;
  /**
   * Proof of life: the cache trusts its table only while the indexer's heartbeat (or a stake change) arrived
   * within this many milliseconds; past it every lookup is null (full price), the connection is checked and
   * replaced, and trust returns with the next heartbeat. 0 (the default) trusts a loaded table without one.
   */
  maxAgeMs?: number;
}

export interface TierCacheStatus {
  healthy: boolean;
  entries: number;
  loadedAt: Date | null;
  lastNoticeAt: Date | null;
  loads: number;
  connectionLosses: number;
  lastError: string | null;
  /** Milliseconds since the newest proof of life (heartbeat or stake change), null before the first. */
  proofOfLifeAgeMs: number | null;
  /** Newest slot the indexer said it applied, from its heartbeat. */
  indexerSlot: string | null;
  /** The bound on proofOfLifeAgeMs past which lookups answer null (0: none). */
  maxAgeMs: number;
}

export interface TierCache {
  /** The owner's tier, NO_TIER for a wallet without stake, or null while the cache cannot be trusted. */
  lookup(owner: string): TierMatch | null;
  /** The tier table lookups are derived with: the published one, or the configured one until it is read. */
  tiers(): readonly DiscountTier[];
  /** Whether `owner` has a row in the pool (so it is a real wallet address: the indexer read it from chain). */
  has(owner: string): boolean;
  readonly healthy: boolean;
  status(): TierCacheStatus;
  /** Resolves once the cache is trusted (loaded after the latest connect), rejects after `timeoutMs`. */
  whenHealthy(timeoutMs: number): Promise<void>;
  /** Resolves once the table is loaded after the latest connect (proof of life or not), rejects after `timeoutMs`. */
  whenLoaded(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export function createTierCache(o: TierCacheOptions): TierCache {
  const reloadEvery = o.reloadIntervalMs ?? 300_000;
  const table = createTierTable(o.pool, o.tiers);
  let healthy = false;
  let reloadTimer: NodeJS.Timeout | undefined;
  const waiters = createWaiters();
  const loadWaiters = createWaiters();
  const stats = { loadedAt: null as Date | null, lastNoticeAt: null as Date | null, loads: 0, losses: 0, lastError: null as string | null, indexerSlot: null as string | null };
  const maxAgeMs = o.maxAgeMs ?? 0;
  const life = watchProofOfLife({ maxAgeMs, logger: o.logger, client: () => connection.client, lose: (c, err) => connection.lose(c, err) });
  /** Loaded after the latest connect, and the source proved alive within the bound. */
  const trusted = () => healthy && life.fresh();
  const reloadOrLose = () => {
    const c = connection.client;
    reload().catch((err: unknown) => c && connection.lose(c, err));
  };

  /** The schema this cache reads, learnt on its connection: heartbeats from other schemas prove nothing here. */
  let heartbeatSchema: string | null = null;
  const onNotification = (msg: pg.Notification) => {
    if (msg.channel === INDEXER_HEARTBEAT_CHANNEL) {
      const slot = heartbeatSlot(msg.payload, o.pool, heartbeatSchema);
      if (slot === undefined) return;
      if (slot !== null) stats.indexerSlot = slot;
      life.proof();
      if (trusted()) waiters.release();
      return;
    }
    if (msg.channel !== STAKE_CHANGES_CHANNEL) return;
    stats.lastNoticeAt = new Date();
    // Not a proof of life: an API started before any indexer publishes its own tier table.
    if (msg.payload === TIER_TABLE_NOTICE) {
      o.logger.info("tier cache: the tier table in effect changed; re-reading it and the stakes");
      reloadOrLose();
      return;
    }
    // A stake change is committed by the indexer: it proves the whole path alive as a heartbeat does.
    life.proof();
    const batch = parseBatchNotice(msg.payload);
    if (batch !== null) {
      expandBatch(batch);
      return;
    }
    const notice = parseNotice(msg.payload);
    if (!notice) {
      o.logger.warn({ channel: msg.channel }, "tier cache: malformed stake change notice; re-reading stakes");
      reloadOrLose();
      return;
    }
    table.notice(notice);
  };

  /**
   * Expands a batch notice into its rows, read on the listening connection (after the batch committed) and
   * applied like single notices (later slots win). A failed read replaces the connection, which reloads.
   */
  function expandBatch(batch: string): void {
    const c = connection.client;
    if (!c) return;
    batchStakes(c, batch)
      .then((rows) => {
        for (const r of rows) {
          table.notice({ owner: r.owner, pool: r.pool, address: "", tier: "", discountBps: 0, effectiveStake: r.effectiveStake.toString(), slot: r.slot.toString() });
        }
      })
      .catch((err: unknown) => connection.lose(c, err));
  }

  /** Reads the pool's stakes on the listening connection, so the snapshot is taken after LISTEN began. */
  async function reload(): Promise<void> {
    const c = connection.client;
    const loaded =
      c !== null &&
      (await withDeadline(
        table.load(
          () => createStakeChangeListener(c).poolStakes(o.pool),
          () => c === connection.client,
          () => readPublishedTiers(c),
        ),
        Math.max(maxAgeMs, 5_000),
        "loading the stakes",
      ));
    if (!loaded) return;
    stats.loadedAt = new Date();
    stats.loads++;
    healthy = true;
    connection.resetBackoff();
    loadWaiters.release();
    if (trusted()) waiters.release();
  }

  const connection = superviseConnection({
    connect: o.connect,
    onNotification,
    minDelay: o.reconnectMinMs ?? 250,
    maxDelay: o.reconnectMaxMs ?? 15_000,
    async ready(c) {
      await createStakeChangeListener(c).listen();
      if (maxAgeMs > 0) heartbeatSchema = await listenForHeartbeats(c);
      await reload();
      if (reloadEvery > 0 && c === connection.client) {
        reloadTimer = setInterval(() => {
          reload().catch((err) => connection.lose(c, err));
        }, reloadEvery);
        reloadTimer.unref();
      }
      if (c === connection.client) o.logger.info({ entries: table.size, pool: o.pool }, "tier cache loaded");
    },
    lost(err, retryInMs) {
      healthy = false;
      clearInterval(reloadTimer);
      stats.losses++;
      stats.lastError = describeError(err);
      o.logger.warn({ err: stats.lastError, retryInMs }, "tier cache: stake data unreachable; charging full prices until it is reloaded");
    },
  });

  return {
    lookup: (owner) => (trusted() ? table.tier(owner) : null),
    tiers: () => table.tiers(),
    has: (owner) => table.has(owner),
    get healthy() {
      return trusted();
    },
    status: () => ({
      healthy: trusted(),
      entries: table.size,
      loadedAt: stats.loadedAt,
      lastNoticeAt: stats.lastNoticeAt,
      loads: stats.loads,
      connectionLosses: stats.losses,
      lastError: stats.lastError,
      proofOfLifeAgeMs: life.age(),
      indexerSlot: stats.indexerSlot,
      maxAgeMs,
    }),
    whenHealthy: (timeoutMs) =>
      trusted()
        ? Promise.resolve()
        : waiters.wait(timeoutMs, () => stats.lastError ?? (healthy ? `no proof of life from the indexer within ${maxAgeMs} ms` : null)),
    whenLoaded: (timeoutMs) => (healthy ? Promise.resolve() : loadWaiters.wait(timeoutMs, () => stats.lastError)),
    async close() {
      healthy = false;
      life.stop();
      clearInterval(reloadTimer);
      await connection.close();
    },
  };
}
