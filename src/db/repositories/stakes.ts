/**
 * stakes and stake_events. One statement writes stake state (`writeBatch`), for every source; it
 *  - upserts a row only if its slot is newer than the stored one (`stakes.slot < EXCLUDED.slot`), so late,
 *    duplicate and reordered deliveries cannot move a row backwards;
 *  - closes an existing row whose account is gone or no longer a UserStake of the pool (CLOSED_HOLDINGS);
 *  - appends to `stake_events` and sends pg_notify(STAKE_CHANGES_CHANNEL) for rows whose state changed.
 * The row, its event and its notification commit together or not at all. Readers (stake info, resync) are
 * here too; the tier cache's listening connection is in stake-changes.ts, reconciliation in stakes-reconcile.ts.
 */
import { sql, type Kysely } from "kysely";
import type { Commitment } from "../../config.ts";
import { CLOSED_HOLDINGS, heldStake, type Holdings, type TierMatch } from "../../domain/tiers.ts";
import { arrayLiteral, type ArrayElement } from "../pg-array.ts";
import type { Database, StakeEventSource } from "../schema.ts";
import { STAKE_CHANGES_CHANNEL } from "./stake-changes.ts";

export { createStakeChangeListener, STAKE_CHANGES_CHANNEL, type StakeChangeNotice } from "./stake-changes.ts";

/** A UserStake of the pool, as the row it becomes. */
export interface LiveStake extends Holdings {
  kind: "live";
  address: string;
  owner: string;
  pool: string;
  tier: TierMatch;
  programTier: number;
  slot: bigint;
  commitment: Commitment;
  signature: string | null;
}

/**
 * The address holds no UserStake of the pool at `slot` (closed: no data or zero lamports; or something else
 * lives there). Applied only to an existing row, which becomes closed and holds CLOSED_HOLDINGS.
 */
export interface GoneStake {
  kind: "gone";
  address: string;
  slot: bigint;
  commitment: Commitment;
  signature: string | null;
  tier: TierMatch;
}

export type StakeChange = LiveStake | GoneStake;

/** The program's tier byte stored for a closed account. */
const CLOSED_PROGRAM_TIER = 0;

/** The columns that make up an account's state; slot, commitment and updated_at only say when it was read. */
const STATE_COLUMNS = ["closed", "owner", "staked_amount", "cooldown_amount", "cooldown_end", "program_tier", "effective_stake", "discount_tier", "discount_bps"];

/**
 * SQL text: whether rows `a` and `b` (aliases of relations shaped like `stakes`) hold different account
 * states. The one comparison of a stored row with a chain account: the write path's "changed" and
 * "same-slot conflict" and reconciliation's "differing" all use it.
 */
export function stakeStateDiffers(a: string, b: string): string {
  const tuple = (alias: string) => `(${STATE_COLUMNS.map((c) => `${alias}.${c}`).join(", ")})`;
  return `${tuple(a)} IS DISTINCT FROM ${tuple(b)}`;
}

const INPUT_COLUMNS = [
  ...["address", "owner", "pool", "staked_amount", "cooldown_amount", "cooldown_end", "effective_stake"],
  ...["discount_tier", "discount_bps", "program_tier", "slot", "commitment", "closed", "signature"],
] as const;

/** Changes as one Postgres array literal per column, named as in `stakes`; a gone account holds CLOSED_HOLDINGS. */
export function stakeColumns(changes: readonly StakeChange[]): Record<(typeof INPUT_COLUMNS)[number], string> {
  const c = Object.fromEntries(INPUT_COLUMNS.map((k) => [k, new Array<ArrayElement>(changes.length)])) as Record<
    (typeof INPUT_COLUMNS)[number],
    ArrayElement[]
  >;
  changes.forEach((x, i) => {
    const live = x.kind === "live";
    const held = live ? x : CLOSED_HOLDINGS;
    c.address[i] = x.address;
    c.owner[i] = live ? x.owner : null;
    c.pool[i] = live ? x.pool : null;
    c.staked_amount[i] = held.stakedAmount;
    c.cooldown_amount[i] = held.cooldownAmount;
    c.cooldown_end[i] = held.cooldownEnd;
    c.effective_stake[i] = held.effectiveStake;
    c.discount_tier[i] = x.tier.name;
    c.discount_bps[i] = x.tier.discountBps;
    c.program_tier[i] = live ? x.programTier : CLOSED_PROGRAM_TIER;
    c.slot[i] = x.slot;
    c.commitment[i] = x.commitment;
    c.closed[i] = !live;
    c.signature[i] = x.signature;
  });
  return Object.fromEntries(Object.entries(c).map(([k, v]) => [k, arrayLiteral(v)])) as Record<keyof typeof c, string>;
}

export interface BatchResult {
  /** Rows written (their slot advanced). */
  applied: number;
  /** Of those, rows whose state changed: each has a stake_events row and a notification. */
  changed: number;
  /** Highest slot among the rows written, or null when none was. */
  newestSlot: bigint | null;
  /** Refused reads whose slot equals the stored one but whose state differs. */
  sameSlotConflicts: { address: string; slot: bigint }[];
}

/** One summary row (kind "applied") plus one row per same-slot conflict. */
export interface ResultRow {
  kind: "applied" | "conflict";
  address: string | null;
  slot: string | null;
  applied: string | null;
  changed: string | null;
}

/** Postgres gave up on the transaction for a reason that a retry resolves (deadlock, serialization). */
const TRANSIENT = new Set(["40P01", "40001"]);
const ATTEMPTS = 5;

const differs = (a: string, b: string) => sql.raw(stakeStateDiffers(a, b));

/** The slot-guarded upsert of one batch (see the file comment). */
async function upsertBatch(db: Kysely<Database>, changes: readonly StakeChange[], source: StakeEventSource): Promise<ResultRow[]> {
  const p = stakeColumns(changes);
  const result = await sql<ResultRow>`
    WITH input AS (
      SELECT * FROM unnest(
        ${p.address}::text[], ${p.owner}::text[], ${p.pool}::text[], ${p.staked_amount}::numeric[],
        ${p.cooldown_amount}::numeric[], ${p.cooldown_end}::int8[], ${p.effective_stake}::numeric[],
        ${p.discount_tier}::text[], ${p.discount_bps}::int4[], ${p.program_tier}::int2[], ${p.slot}::int8[],
        ${p.commitment}::text[], ${p.closed}::bool[], ${p.signature}::text[]
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
      UPDATE stakes s SET staked_amount = i.staked_amount, cooldown_amount = i.cooldown_amount,
        cooldown_end = i.cooldown_end, effective_stake = i.effective_stake, discount_tier = i.discount_tier,
        discount_bps = i.discount_bps, program_tier = i.program_tier, slot = i.slot, commitment = i.commitment,
        closed = true, updated_at = now()
      FROM input i
      WHERE i.closed AND s.address = i.address AND s.slot < i.slot
      RETURNING s.address, s.owner, s.pool, s.staked_amount, s.cooldown_amount, s.cooldown_end, s.effective_stake,
                s.discount_tier, s.discount_bps, s.program_tier, s.slot, s.closed
    ),
    applied AS (
      SELECT a.*, i.signature, p.effective_stake AS previous_effective_stake,
             (p.address IS NULL OR ${differs("p", "a")}) AS changed
      FROM (SELECT * FROM upserted UNION ALL SELECT * FROM gone) a
      JOIN input i ON i.address = a.address
      LEFT JOIN prev p ON p.address = a.address
    ),
    logged AS (
      INSERT INTO stake_events (address, owner, pool, slot, source, previous_effective_stake, effective_stake,
                                discount_tier, closed, signature)
      SELECT address, owner, pool, slot, ${source}, previous_effective_stake, effective_stake, discount_tier, closed, signature
      FROM applied WHERE changed
    ),
    -- The row each refused read would have made of the stored one (a gone account keeps its stored owner).
    would_be AS (
      SELECT i.address, i.slot, i.closed, coalesce(i.owner, p.owner) AS owner, i.staked_amount, i.cooldown_amount,
             i.cooldown_end, i.program_tier, i.effective_stake, i.discount_tier, i.discount_bps
      FROM input i JOIN prev p ON p.address = i.address
      WHERE p.slot = i.slot
    )
    SELECT 'applied' AS kind, NULL AS address, max(a.slot)::text AS slot, count(*)::text AS applied,
           count(CASE WHEN a.changed THEN pg_notify(${STAKE_CHANGES_CHANNEL}, json_build_object(
             'owner', a.owner, 'pool', a.pool, 'address', a.address, 'tier', a.discount_tier,
             'discountBps', a.discount_bps, 'effectiveStake', a.effective_stake::text, 'slot', a.slot::text)::text)::text
           END)::text AS changed
    FROM applied a
    UNION ALL
    SELECT 'conflict', w.address, w.slot::text, NULL, NULL
    FROM would_be w JOIN prev p ON p.address = w.address
    WHERE ${differs("p", "w")}
  `.execute(db);
  return result.rows;
}

/** A write statement's result rows (one summary, one per same-slot conflict) as a BatchResult. */
export function batchResult(rows: readonly ResultRow[]): BatchResult {
  const r: BatchResult = { applied: 0, changed: 0, newestSlot: null, sameSlotConflicts: [] };
  for (const row of rows) {
    if (row.kind === "conflict") r.sameSlotConflicts.push({ address: row.address!, slot: BigInt(row.slot!) });
    else {
      r.applied = Number(row.applied);
      r.changed = Number(row.changed);
      r.newestSlot = row.slot === null ? null : BigInt(row.slot);
    }
  }
  return r;
}

/** A stored stake row as a reader sees it: closed rows hold CLOSED_HOLDINGS (src/domain/tiers.ts). */
export interface StoredStake extends Holdings {
  address: string;
  closed: boolean;
  slot: bigint;
  commitment: Commitment;
  updatedAt: Date;
}

export function createStakesRepository(db: Kysely<Database>) {
  return {
    /**
     * Applies one batch (at most one change per address) in one transaction. Retried on deadlock or
     * serialization failure; any other error is thrown.
     */
    async writeBatch(changes: readonly StakeChange[], source: StakeEventSource): Promise<BatchResult> {
      for (let attempt = 1; ; attempt++) {
        try {
          // The planner cannot see into the CTEs and overestimates their joins by orders of magnitude, which
          // would trigger JIT compilation costing more than the statement itself.
          const rows = await db.transaction().execute(async (trx) => {
            await sql`SET LOCAL jit = off`.execute(trx);
            return upsertBatch(trx, changes, source);
          });
          return batchResult(rows);
        } catch (err) {
          const code = (err as { code?: string }).code;
          if (!code || !TRANSIENT.has(code) || attempt >= ATTEMPTS) throw err;
        }
      }
    },

    /** The owner's stake account in the pool, if it has one. */
    async findByOwner(owner: string, pool: string): Promise<StoredStake | undefined> {
      const row = await db
        .selectFrom("stakes")
        .select(["address", "staked_amount", "cooldown_amount", "cooldown_end", "effective_stake", "slot", "commitment", "closed", "updated_at"])
        .where("owner", "=", owner)
        .where("pool", "=", pool)
        .executeTakeFirst();
      if (!row) return undefined;
      return heldStake({
        address: row.address,
        closed: row.closed,
        slot: row.slot,
        commitment: row.commitment,
        updatedAt: row.updated_at,
        stakedAmount: row.staked_amount,
        cooldownAmount: row.cooldown_amount,
        cooldownEnd: row.cooldown_end,
        effectiveStake: row.effective_stake,
      });
    },

    /** The stored state of one account as the write path left it. */
    findByAddress(address: string): Promise<{ slot: bigint; effective_stake: bigint; discount_tier: string } | undefined> {
      return db.selectFrom("stakes").select(["slot", "effective_stake", "discount_tier"]).where("address", "=", address).executeTakeFirst();
    },
  };
}

export type StakesRepository = ReturnType<typeof createStakesRepository>;
