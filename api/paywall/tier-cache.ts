/**
 * Owner -> discount tier for one staking pool, held in memory so that pricing a request reads no database
 * and no chain. Loaded from `stakes` and kept fresh by LISTEN on the indexer's STAKE_CHANGES_CHANNEL over a
 * dedicated connection. While the connection is down, and until the table has been re-read after it comes
 * back, the cache is untrusted and `lookup` answers null (callers charge the full price).
 */
import type pg from "pg";
import { createStakeChangeListener, STAKE_CHANGES_CHANNEL, type StakeChangeNotice } from "../../src/db/repositories/stakes.ts";
import { batchStakes } from "../../src/db/repositories/stakes-bulk.ts";
import { destroyClient, endClient } from "../../src/db/database.ts";
import { INDEXER_HEARTBEAT_CHANNEL, listenForHeartbeats, pingConnection } from "../../src/db/repositories/indexer-state.ts";
import { readPublishedTiers, TIER_TABLE_NOTICE } from "../../src/db/repositories/tier-table.ts";
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

/** A batch notice's id (the indexer's batched writes announce a batch, not rows), or null. */
export function parseBatchNotice(payload: string | undefined): string | null {
  try {
    const v = JSON.parse(payload ?? "") as { batch?: unknown };
    return typeof v.batch === "string" && DIGITS.test(v.batch) ? v.batch : null;
  } catch {
    return null;
  }
}

/**
 * The in-memory owner -> tier map of one pool. Later slots win; a notice for a slot already reflected
 * changes nothing. While a load runs, notices are kept and applied on top of the snapshot once it is in.
 */
function createTierTable(pool: string, configured: readonly DiscountTier[]) {
  let entries = new Map<string, Entry>();
  let pending: StakeChangeNotice[] | null = null;
  // The published table once read (see src/db/repositories/tier-table.ts); the configured one until then.
  let tiers: readonly DiscountTier[] = configured;
  const tierOf = (effective: bigint): TierMatch => {
    const t = tierFor(effective, tiers);
    return t.discountBps === 0 ? NO_TIER : t;
  };
  const apply = (map: Map<string, Entry>, owner: string, slot: bigint, effective: bigint) => {
    const current = map.get(owner);
    if (current && current.slot > slot) return;
    map.set(owner, { slot, tier: tierOf(effective) });
  };
  return {
    tiers: () => tiers,
    tier: (owner: string): TierMatch => entries.get(owner)?.tier ?? NO_TIER,
    has: (owner: string) => entries.has(owner),
    get size() {
      return entries.size;
    },
    notice(n: StakeChangeNotice): void {
      if (n.pool !== pool) return;
      if (pending) pending.push(n);
      else apply(entries, n.owner, BigInt(n.slot), BigInt(n.effectiveStake));
    },
    /**
     * Replaces the map with `read()`'s rows plus the notices that arrived meanwhile, unless `current()` says
     * the source was replaced. False when it did not replace it (or a load was already running).
     */
    async load(
      read: () => Promise<Array<{ owner: string; slot: bigint; effectiveStake: bigint }>>,
      current: () => boolean,
      published: () => Promise<readonly DiscountTier[] | null>,
    ): Promise<boolean> {
      if (pending) return false;
      pending = [];
      const before = tiers;
      try {
        const table = (await published()) ?? configured;
        if (!current()) return false;
        tiers = table;
        const fresh = new Map<string, Entry>();
        for (const r of await read()) apply(fresh, r.owner, r.slot, r.effectiveStake);
        for (const n of pending) apply(fresh, n.owner, BigInt(n.slot), BigInt(n.effectiveStake));
        if (!current()) {
          tiers = before;
          return false;
        }
        entries = fresh;
        return true;
      } finally {
        pending = null;
      }
    },
  };
}

interface SupervisorOptions {
  connect: () => pg.Client;
  onNotification: (msg: pg.Notification) => void;
  /** Runs on each new connection once connected; a rejection counts as losing it. */
  ready: (c: pg.Client) => Promise<void>;
  /** The connection was lost; the next attempt follows in `retryInMs`. */
  lost: (err: unknown, retryInMs: number) => void;
  minDelay: number;
  maxDelay: number;
}

/** One dedicated connection, reopened with exponential backoff after any error or end until closed. */
function superviseConnection(o: SupervisorOptions) {
  let client: pg.Client | null = null;
  let closed = false;
  let delay = o.minDelay;
  let retryTimer: NodeJS.Timeout | undefined;

  const lose = (c: pg.Client, err: unknown) => {
    if (c !== client) return;
    client = null;
    o.lost(err, delay);
    // Not end(): a silent server never acknowledges the goodbye.
    destroyClient(c);
    scheduleConnect();
  };
  const scheduleConnect = () => {
    if (closed || retryTimer) return;
    const wait = delay;
    delay = Math.min(delay * 2, o.maxDelay);
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
    c.on("error", (err) => lose(c, err));
    c.on("end", () => lose(c, new Error("connection ended")));
    c.on("notification", o.onNotification);
    try {
      await c.connect();
      await o.ready(c);
    } catch (err) {
      lose(c, err);
    }
  }
  void connect();

  return {
    /** The open connection, or null between connections. */
    get client() {
      return client;
    },
    lose,
    /** The connection proved usable: the next loss waits the shortest delay again. */
    resetBackoff: () => void (delay = o.minDelay),
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      const c = client;
      client = null;
      if (c) await endClient(c);
    },
  };
}

/** Callers waiting for the cache to be trusted: released together, or each rejected after its timeout. */
function createWaiters() {
  let waiters: Array<() => void> = [];
  return {
    release() {
      const ready = waiters;
      waiters = [];
      for (const w of ready) w();
    },
    wait(timeoutMs: number, lastError: () => string | null): Promise<void> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== done);
          const why = lastError();
          reject(new Error(`tier cache not loaded within ${timeoutMs} ms${why ? `: ${why}` : ""}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        waiters.push(done);
      });
    },
  };
}

/**
 * Parses a heartbeat payload: its slot for `pool`, undefined when it is not a heartbeat of this pool's
 * indexer writing to `schema` (the schema this cache reads).
 */
function heartbeatSlot(payload: string | undefined, pool: string, schema: string | null): string | null | undefined {
  try {
    const v = JSON.parse(payload ?? "") as { pool?: unknown; slot?: unknown; schema?: unknown };
    if (v.pool !== pool || schema === null || v.schema !== schema) return undefined;
    return typeof v.slot === "string" && DIGITS.test(v.slot) ? v.slot : null;
  } catch {
    return undefined;
  }
}

/**
 * The source's proof of life: the table is trusted only while the indexer's heartbeat (or a stake change)
 * arrived within `maxAgeMs`. Once past it (every lookup already answers null), the cache reconnects once
 * and reloads on a fresh connection, since a silent LISTEN connection looks exactly like a silent indexer;
 * while the silence lasts, the connection is pinged and replaced when it does not answer.
 */
function watchProofOfLife(o: {
  maxAgeMs: number;
  logger: Logger;
  client: () => pg.Client | null;
  lose: (c: pg.Client, err: Error) => void;
}) {
  let lastProofAt: number | null = null;
  let silentSince: number | null = null;
  let reconnected = false;
  let checking = false;
  const started = Date.now();
  const age = () => Date.now() - (lastProofAt ?? started);
  const fresh = () => o.maxAgeMs <= 0 || (lastProofAt !== null && age() <= o.maxAgeMs);

  const check = async () => {
    if (fresh() || checking) return;
    const c = o.client();
    if (!c) return;
    if (silentSince === null) {
      silentSince = Date.now();
      o.logger.warn({ proofOfLifeAgeMs: lastProofAt === null ? null : age(), maxAgeMs: o.maxAgeMs }, "tier cache: no proof of life from the indexer; charging full prices");
    }
    if (!reconnected) {
      reconnected = true;
      o.lose(c, new Error(`no proof of life from the indexer within ${o.maxAgeMs} ms; reloading on a fresh connection`));
      return;
    }
    checking = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        pingConnection(c),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the stake data connection did not answer within ${o.maxAgeMs} ms`)), o.maxAgeMs);
        }),
      ]);
    } catch (err) {
      o.lose(c, err instanceof Error ? err : new Error(String(err)));
    } finally {
      clearTimeout(timer);
      checking = false;
    }
  };
  const timer = o.maxAgeMs > 0 ? setInterval(() => void check(), Math.max(50, Math.floor(o.maxAgeMs / 5))) : undefined;
  timer?.unref();

  return {
    fresh,
    age: () => (lastProofAt === null ? null : age()),
    proof() {
      lastProofAt = Date.now();
      reconnected = false;
      if (silentSince !== null) {
        o.logger.info({ silentMs: lastProofAt - silentSince }, "tier cache: the indexer proved itself alive again; discounts resume");
        silentSince = null;
      }
    },
    stop: () => clearInterval(timer),
  };
}

/** A load that does not finish within `ms` (a silent connection) rejects; the caller replaces the connection. */
function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
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
