/**
 * Owner -> discount tier for one staking pool, held in memory so that pricing a request reads no database
 * and no chain. Loaded from `stakes` and kept fresh by LISTEN on the indexer's STAKE_CHANGES_CHANNEL over a
 * dedicated connection. While the connection is down, and until the table has been re-read after it comes
 * back, the cache is untrusted and `lookup` answers null (callers charge the full price).
 */
import type pg from "pg";
import { createStakeChangeListener, STAKE_CHANGES_CHANNEL, type StakeChangeNotice } from "../../src/db/repositories/stakes.ts";
import { NO_TIER, tierFor, type DiscountTier, type TierMatch } from "../../src/domain/tiers.ts";
import { describeError } from "../../src/errors.ts";
import type { Logger } from "../../src/log.ts";

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
}

export interface TierCacheStatus {
  healthy: boolean;
  entries: number;
  loadedAt: Date | null;
  lastNoticeAt: Date | null;
  loads: number;
  connectionLosses: number;
  lastError: string | null;
}

export interface TierCache {
  /** The owner's tier, NO_TIER for a wallet without stake, or null while the cache cannot be trusted. */
  lookup(owner: string): TierMatch | null;
  /** Whether `owner` has a row in the pool (so it is a real wallet address: the indexer read it from chain). */
  has(owner: string): boolean;
  readonly healthy: boolean;
  status(): TierCacheStatus;
  /** Resolves once the cache is trusted (loaded after the latest connect), rejects after `timeoutMs`. */
  whenHealthy(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

interface Entry {
  slot: bigint;
  tier: TierMatch;
}

const DIGITS = /^\d{1,20}$/;

/** A notice's fields, or null when the payload is not a StakeChangeNotice. */
export function parseNotice(payload: string | undefined): StakeChangeNotice | null {
  if (!payload) return null;
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return null;
  }
  if (typeof v !== "object" || v === null) return null;
  const n = v as Record<string, unknown>;
  if (typeof n.owner !== "string" || typeof n.pool !== "string") return null;
  if (typeof n.effectiveStake !== "string" || !DIGITS.test(n.effectiveStake)) return null;
  if (typeof n.slot !== "string" || !DIGITS.test(n.slot)) return null;
  return v as StakeChangeNotice;
}

export function createTierCache(o: TierCacheOptions): TierCache {
  const minDelay = o.reconnectMinMs ?? 250;
  const maxDelay = o.reconnectMaxMs ?? 15_000;
  const reloadEvery = o.reloadIntervalMs ?? 300_000;
  let entries = new Map<string, Entry>();
  let healthy = false;
  let closed = false;
  let client: pg.Client | null = null;
  // Notices received while a load runs, applied on top of the snapshot (slot-guarded) once it is in.
  let pending: StakeChangeNotice[] | null = null;
  let delay = minDelay;
  let retryTimer: NodeJS.Timeout | undefined;
  let reloadTimer: NodeJS.Timeout | undefined;
  let waiters: Array<() => void> = [];
  const stats = { loadedAt: null as Date | null, lastNoticeAt: null as Date | null, loads: 0, losses: 0, lastError: null as string | null };

  const tierOf = (effective: bigint): TierMatch => {
    const t = tierFor(effective, o.tiers);
    return t.discountBps === 0 ? NO_TIER : t;
  };

  // Later slots win; a notice for a slot already reflected changes nothing.
  const apply = (map: Map<string, Entry>, owner: string, slot: bigint, effective: bigint) => {
    const current = map.get(owner);
    if (current && current.slot > slot) return;
    map.set(owner, { slot, tier: tierOf(effective) });
  };

  const onNotification = (msg: pg.Notification) => {
    if (msg.channel !== STAKE_CHANGES_CHANNEL) return;
    stats.lastNoticeAt = new Date();
    const notice = parseNotice(msg.payload);
    if (!notice) {
      o.logger.warn({ channel: msg.channel }, "tier cache: malformed stake change notice; re-reading stakes");
      void reload();
      return;
    }
    if (notice.pool !== o.pool) return;
    if (pending) pending.push(notice);
    else apply(entries, notice.owner, BigInt(notice.slot), BigInt(notice.effectiveStake));
  };

  const markHealthy = () => {
    healthy = true;
    delay = minDelay;
    const ready = waiters;
    waiters = [];
    for (const w of ready) w();
  };

  /** Reads the pool's stakes on the listening connection, so the snapshot is taken after LISTEN began. */
  async function reload(): Promise<void> {
    const c = client;
    if (!c || pending) return;
    pending = [];
    try {
      const rows = await createStakeChangeListener(c).poolStakes(o.pool);
      const fresh = new Map<string, Entry>();
      for (const r of rows) apply(fresh, r.owner, r.slot, r.effectiveStake);
      for (const n of pending) apply(fresh, n.owner, BigInt(n.slot), BigInt(n.effectiveStake));
      if (c !== client) return; // the connection was replaced while loading
      entries = fresh;
      stats.loadedAt = new Date();
      stats.loads++;
      markHealthy();
    } finally {
      pending = null;
    }
  }

  const lost = (c: pg.Client, err: unknown) => {
    if (c !== client) return;
    client = null;
    healthy = false;
    clearInterval(reloadTimer);
    if (closed) return;
    stats.losses++;
    stats.lastError = describeError(err);
    o.logger.warn({ err: stats.lastError, retryInMs: delay }, "tier cache: stake data unreachable; charging full prices until it is reloaded");
    c.end().catch(() => undefined);
    scheduleConnect();
  };

  const scheduleConnect = () => {
    if (closed || retryTimer) return;
    const wait = delay;
    delay = Math.min(delay * 2, maxDelay);
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void connect();
    }, wait);
    retryTimer.unref();
  };

  async function connect(): Promise<void> {
    if (closed) return;
    const c = o.connect();
    client = c;
    c.on("error", (err) => lost(c, err));
    c.on("end", () => lost(c, new Error("connection ended")));
    c.on("notification", onNotification);
    try {
      await c.connect();
      await createStakeChangeListener(c).listen();
      await reload();
      if (reloadEvery > 0 && c === client) {
        reloadTimer = setInterval(() => {
          reload().catch((err) => lost(c, err));
        }, reloadEvery);
        reloadTimer.unref();
      }
      if (c === client) o.logger.info({ entries: entries.size, pool: o.pool }, "tier cache loaded");
    } catch (err) {
      lost(c, err);
    }
  }

  void connect();

  return {
    lookup(owner) {
      if (!healthy) return null;
      return entries.get(owner)?.tier ?? NO_TIER;
    },
    has(owner) {
      return entries.has(owner);
    },
    get healthy() {
      return healthy;
    },
    status() {
      return {
        healthy,
        entries: entries.size,
        loadedAt: stats.loadedAt,
        lastNoticeAt: stats.lastNoticeAt,
        loads: stats.loads,
        connectionLosses: stats.losses,
        lastError: stats.lastError,
      };
    },
    whenHealthy(timeoutMs) {
      if (healthy) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== done);
          reject(new Error(`tier cache not loaded within ${timeoutMs} ms${stats.lastError ? `: ${stats.lastError}` : ""}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        waiters.push(done);
      });
    },
    async close() {
      closed = true;
      healthy = false;
      clearTimeout(retryTimer);
      clearInterval(reloadTimer);
      const c = client;
      client = null;
      if (c) await c.end().catch(() => undefined);
    },
  };
}
