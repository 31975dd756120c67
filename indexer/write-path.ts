/**
 * The single write path for stake state. Every source (websocket, webhook, backfill, reconcile, resync)
 * hands it account reads; it decodes them, and applies them in one SQL statement per batch that
 *  - upserts a row only if its slot is newer than the stored one (`stakes.slot < EXCLUDED.slot`), so late,
 *    duplicate and reordered deliveries cannot move a row backwards;
 *  - closes (stake 0) an existing row whose account is gone or no longer a UserStake of the pool;
 *  - appends to `stake_events` and sends pg_notify(STAKE_CHANGES_CHANNEL) for rows whose state changed.
 * The row, its event and its notification are written by one statement in one transaction: they commit
 * together or not at all.
 *
 * A read with a newer slot but the same state still advances the row's slot (without an event): a delayed
 * read from between the two slots must not be able to overwrite it afterwards.
 */
import { sql, type Kysely } from "kysely";
import type { Logger } from "pino";
import type { Commitment } from "../src/config.ts";
import type { Database, StakeEventSource } from "../src/db/schema.ts";
import { STAKE_CHANGES_CHANNEL } from "./contracts.ts";
import { arrayLiteral, type ArrayElement } from "./pg-array.ts";
import type { AccountRead } from "./rpc-client.ts";
import { toStakeChange, type PoolTarget, type StakeChange } from "./stake-accounts.ts";

/** Rows per statement: large enough to amortise the round trip, small enough to keep locks and memory short. */
export const WRITE_BATCH_ROWS = 5000;

export interface SourcedRead extends AccountRead {
  commitment: Commitment;
  /** The transaction that caused this read (webhook), if known. */
  signature?: string | null;
}

export interface WriteResult {
  source: StakeEventSource;
  /** Rows written (their slot advanced). */
  applied: number;
  /** Of those, rows whose state changed: each has a stake_events row and a notification. */
  changed: number;
  /** Highest slot among the rows written, or null when none was. */
  newestSlot: bigint | null;
  /**
   * Refused reads whose slot equals the stored one but whose state differs: one of the two was read while
   * that slot was still taking transactions. Re-reading the account at a later slot settles it.
   */
  sameSlotConflicts: { address: string; slot: bigint }[];
  /** Reads that were not applied (older or same slot and same state, or a gone account without a row). */
  refused: number;
  undecodable: { address: string; reason: string }[];
}

export interface WritePath {
  apply(reads: readonly SourcedRead[], source: StakeEventSource): Promise<WriteResult>;
}

export interface WritePathOptions {
  db: Kysely<Database>;
  target: PoolTarget;
  logger: Logger;
  batchRows?: number;
  /** Called after every committed batch (status, metrics). */
  onWrite?: (result: WriteResult) => void;
}

/**
 * Keeps one read per address (the highest slot; among equal slots the one that arrived last), sorted by
 * address: index insertions in key order touch fewer pages, and every writer locks rows in the same order.
 */
function latestPerAddress(reads: readonly SourcedRead[]): SourcedRead[] {
  const byAddress = new Map<string, SourcedRead>();
  for (const r of reads) {
    const held = byAddress.get(r.address);
    if (!held || held.slot <= r.slot) byAddress.set(r.address, r);
  }
  return [...byAddress.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

/** One summary row (kind "applied") plus one row per same-slot conflict. */
interface ResultRow {
  kind: "applied" | "conflict";
  address: string | null;
  slot: string | null;
  applied: string | null;
  changed: string | null;
}

/** Postgres gave up on the transaction for a reason that a retry resolves (deadlock, serialization). */
const TRANSIENT = new Set(["40P01", "40001"]);
const ATTEMPTS = 5;

async function writeBatch(db: Kysely<Database>, changes: StakeChange[], source: StakeEventSource): Promise<ResultRow[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      // The planner cannot see into the CTEs and overestimates their joins by orders of magnitude, which would
      // trigger JIT compilation costing more than the statement itself.
      return await db.transaction().execute(async (trx) => {
        await sql`SET LOCAL jit = off`.execute(trx);
        return upsertBatch(trx, changes, source);
      });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (!code || !TRANSIENT.has(code) || attempt >= ATTEMPTS) throw err;
    }
  }
}

/** The batch as one Postgres array literal per column, in the order unnest() takes them. */
function columns(changes: StakeChange[]) {
  const col = () => new Array<ArrayElement>(changes.length);
  const c = {
    address: col(),
    owner: col(),
    pool: col(),
    staked: col(),
    cooldownAmount: col(),
    cooldownEnd: col(),
    effective: col(),
    tier: col(),
    bps: col(),
    programTier: col(),
    slot: col(),
    commitment: col(),
    closed: col(),
    signature: col(),
  };
  changes.forEach((x, i) => {
    c.address[i] = x.address;
    c.slot[i] = x.slot;
    c.commitment[i] = x.commitment;
    c.signature[i] = x.signature;
    c.tier[i] = x.tier.name;
    c.bps[i] = x.tier.discountBps;
    const live = x.kind === "live";
    c.owner[i] = live ? x.owner : null;
    c.pool[i] = live ? x.pool : null;
    c.staked[i] = live ? x.stakedAmount : null;
    c.cooldownAmount[i] = live ? x.cooldownAmount : null;
    c.cooldownEnd[i] = live ? x.cooldownEnd : null;
    c.effective[i] = live ? x.effectiveStake : 0n;
    c.programTier[i] = live ? x.programTier : null;
    c.closed[i] = !live;
  });
  return Object.fromEntries(Object.entries(c).map(([k, v]) => [k, arrayLiteral(v)])) as Record<keyof typeof c, string>;
}

async function upsertBatch(db: Kysely<Database>, changes: StakeChange[], source: StakeEventSource): Promise<ResultRow[]> {
  const p = columns(changes);
  const result = await sql<ResultRow>`
    WITH input AS (
      SELECT * FROM unnest(
        ${p.address}::text[], ${p.owner}::text[], ${p.pool}::text[], ${p.staked}::numeric[], ${p.cooldownAmount}::numeric[],
        ${p.cooldownEnd}::int8[], ${p.effective}::numeric[], ${p.tier}::text[], ${p.bps}::int4[], ${p.programTier}::int2[],
        ${p.slot}::int8[], ${p.commitment}::text[], ${p.closed}::bool[], ${p.signature}::text[]
      ) AS t(address, owner, pool, staked_amount, cooldown_amount, cooldown_end, effective_stake, discount_tier,
             discount_bps, program_tier, slot, commitment, closed, signature)
    ),
    prev AS (
      SELECT s.address, s.owner, s.staked_amount, s.cooldown_amount, s.cooldown_end, s.effective_stake,
             s.discount_tier, s.discount_bps, s.program_tier, s.slot, s.closed
      FROM stakes s WHERE s.address = ANY(${p.address}::text[])
    ),
    upserted AS (
      INSERT INTO stakes AS s (address, owner, pool, staked_amount, cooldown_amount, cooldown_end, effective_stake,
                               discount_tier, discount_bps, program_tier, slot, commitment, closed, updated_at)
      SELECT address, owner, pool, staked_amount, cooldown_amount, cooldown_end, effective_stake,
             discount_tier, discount_bps, program_tier, slot, commitment, false, now()
      FROM input WHERE NOT closed
      ON CONFLICT (address) DO UPDATE SET
        owner = EXCLUDED.owner, pool = EXCLUDED.pool, staked_amount = EXCLUDED.staked_amount,
        cooldown_amount = EXCLUDED.cooldown_amount, cooldown_end = EXCLUDED.cooldown_end,
        effective_stake = EXCLUDED.effective_stake, discount_tier = EXCLUDED.discount_tier,
        discount_bps = EXCLUDED.discount_bps, program_tier = EXCLUDED.program_tier, slot = EXCLUDED.slot,
        commitment = EXCLUDED.commitment, closed = false, updated_at = now()
      WHERE s.slot < EXCLUDED.slot
      RETURNING s.address, s.owner, s.pool, s.staked_amount, s.cooldown_amount, s.cooldown_end, s.effective_stake,
                s.discount_tier, s.discount_bps, s.program_tier, s.slot, s.closed
    ),
    gone AS (
      UPDATE stakes s SET staked_amount = 0, cooldown_amount = 0, cooldown_end = NULL, effective_stake = 0,
        discount_tier = i.discount_tier, discount_bps = i.discount_bps, program_tier = 0, slot = i.slot,
        commitment = i.commitment, closed = true, updated_at = now()
      FROM input i
      WHERE i.closed AND s.address = i.address AND s.slot < i.slot
      RETURNING s.address, s.owner, s.pool, s.staked_amount, s.cooldown_amount, s.cooldown_end, s.effective_stake,
                s.discount_tier, s.discount_bps, s.program_tier, s.slot, s.closed
    ),
    applied AS (
      SELECT a.*, i.signature, p.effective_stake AS previous_effective_stake,
             (p.address IS NULL OR p.closed <> a.closed OR
              (p.owner, p.staked_amount, p.cooldown_amount, p.cooldown_end, p.program_tier, p.effective_stake,
               p.discount_tier, p.discount_bps)
                IS DISTINCT FROM (a.owner, a.staked_amount, a.cooldown_amount, a.cooldown_end, a.program_tier,
                                  a.effective_stake, a.discount_tier, a.discount_bps)) AS changed
      FROM (SELECT * FROM upserted UNION ALL SELECT * FROM gone) a
      JOIN input i ON i.address = a.address
      LEFT JOIN prev p ON p.address = a.address
    ),
    logged AS (
      INSERT INTO stake_events (address, owner, pool, slot, source, previous_effective_stake, effective_stake,
                                discount_tier, closed, signature)
      SELECT address, owner, pool, slot, ${source}, previous_effective_stake, effective_stake, discount_tier, closed, signature
      FROM applied WHERE changed
    )
    SELECT 'applied' AS kind, NULL AS address, max(a.slot)::text AS slot, count(*)::text AS applied,
           count(CASE WHEN a.changed THEN pg_notify(${STAKE_CHANGES_CHANNEL}, json_build_object(
             'owner', a.owner, 'pool', a.pool, 'address', a.address, 'tier', a.discount_tier,
             'discountBps', a.discount_bps, 'effectiveStake', a.effective_stake::text, 'slot', a.slot::text)::text)::text
           END)::text AS changed
    FROM applied a
    UNION ALL
    SELECT 'conflict', i.address, i.slot::text, NULL, NULL
    FROM input i JOIN prev p ON p.address = i.address
    WHERE p.slot = i.slot AND (
      p.closed <> i.closed OR
      (NOT i.closed AND (p.owner, p.staked_amount, p.cooldown_amount, p.cooldown_end, p.program_tier,
                         p.effective_stake, p.discount_tier, p.discount_bps)
                        IS DISTINCT FROM (i.owner, i.staked_amount, i.cooldown_amount, i.cooldown_end, i.program_tier,
                                          i.effective_stake, i.discount_tier, i.discount_bps)) OR
      (i.closed AND (p.discount_tier, p.discount_bps) IS DISTINCT FROM (i.discount_tier, i.discount_bps)))
  `.execute(db);
  return result.rows;
}

export function createWritePath(options: WritePathOptions): WritePath {
  const batchRows = options.batchRows ?? WRITE_BATCH_ROWS;
  return {
    async apply(reads, source) {
      const result: WriteResult = {
        source,
        applied: 0,
        changed: 0,
        newestSlot: null,
        sameSlotConflicts: [],
        refused: 0,
        undecodable: [],
      };
      const changes: StakeChange[] = [];
      for (const read of latestPerAddress(reads)) {
        const change = toStakeChange(read, options.target, read.commitment, read.signature ?? null);
        if (change.kind === "undecodable") {
          // A UserStake-shaped account that Anchor cannot decode: keep the stored row rather than guess.
          options.logger.warn({ address: change.address, reason: change.reason, source }, "account not decodable; skipped");
          result.undecodable.push({ address: change.address, reason: change.reason });
        } else changes.push(change);
      }
      for (let i = 0; i < changes.length || (i === 0 && result.undecodable.length > 0); i += batchRows) {
        const batch = changes.slice(i, i + batchRows);
        const rows = batch.length > 0 ? await writeBatch(options.db, batch, source) : [];
        const part: WriteResult = {
          source,
          applied: 0,
          changed: 0,
          newestSlot: null,
          sameSlotConflicts: [],
          refused: 0,
          // Reported with the first batch only.
          undecodable: i === 0 ? result.undecodable : [],
        };
        for (const row of rows) {
          if (row.kind === "conflict") part.sameSlotConflicts.push({ address: row.address!, slot: BigInt(row.slot!) });
          else {
            part.applied = Number(row.applied);
            part.changed = Number(row.changed);
            part.newestSlot = row.slot === null ? null : BigInt(row.slot);
          }
        }
        part.refused = batch.length - part.applied;
        options.onWrite?.(part);
        result.applied += part.applied;
        result.changed += part.changed;
        if (part.newestSlot !== null && (result.newestSlot === null || part.newestSlot > result.newestSlot)) {
          result.newestSlot = part.newestSlot;
        }
        for (const c of part.sameSlotConflicts) result.sameSlotConflicts.push(c);
        result.refused += part.refused;
      }
      return result;
    },
  };
}
