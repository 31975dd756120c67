/**
 * The batched form of the stakes write (backfill and resync batches): the same slot guard and state comparison
 * as `writeBatch` in stakes.ts. Batches are snapshot reads (getProgramAccounts and its pages), which carry no
 * transaction signature: their events have none. Each batch, in one transaction on one connection:
 *  1. COPY the changes into a temporary staging table (no WAL, no index);
 *  2. one set-based upsert from it into `stakes`, guarded by `stakes.slot < staged.slot`, closing existing rows
 *     of gone accounts, stamping every row it wrote with the batch's id (`write_batch`);
 *  3. `stake_events` rows for the rows whose state changed, except, on an initial fill, rows that are new: the
 *     first snapshot of an empty table is the baseline, not a change anyone observed (one event per account
 *     would double the fill's writes and tell nobody anything; the row's slot and the batch notice say it);
 *  4. one NOTIFY for the batch, {"batch": id, "pool", "rows", "slot"}, which listeners expand with
 *     `batchStakes(id)` into the rows it wrote (the tier cache does).
 * The row, its event and the notice commit together or not at all.
 *
 * An initial fill's batch of live accounts first tries the shortcut those rules allow: COPY straight into
 * `stakes` (the batch id through the column's default, migration 2026_11_30_000), then the notice. Every row
 * is then new, so there is nothing to guard, compare or record, and the upsert's second pass over the rows is
 * saved (it costs about as much as the COPY). A row the live source wrote meanwhile makes the COPY fail on the
 * primary key: the transaction rolls back and the batch takes the steps above, which decide row by row.
 */
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { heldStake, CLOSED_HOLDINGS } from "../../domain/tiers.ts";
import type { StakeEventSource } from "../schema.ts";
import { batchResult, STAKE_CHANGES_CHANNEL, stakeStateDiffers, type BatchResult, type ResultRow, type StakeChange } from "./stakes.ts";

/** The JSON payload of a batch notice on STAKE_CHANGES_CHANNEL. */
export interface StakeBatchNotice {
  batch: string;
  pool: string;
  /** Rows the batch wrote. */
  rows: number;
  /** Newest slot among them. */
  slot: string;
}

/** The staging row's columns: the first columns of `stakes`, in its order, so one text serves both COPYs. */
const STAGING_COLUMNS =
  "address, owner, pool, staked_amount, cooldown_amount, cooldown_end, effective_stake, discount_tier, discount_bps, program_tier, slot, commitment, closed";

/** COPY text escaping of one value (\N for null). */
function field(v: string | number | bigint | boolean | null): string {
  if (v === null) return "\\N";
  if (typeof v === "boolean") return v ? "t" : "f";
  if (typeof v !== "string") return v.toString();
  return /[\\\t\n\r]/.test(v) ? v.replace(/[\\\t\n\r]/g, (c) => (c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r")) : v;
}

/** One change as its staging row in COPY text. */
function stagingRow(x: StakeChange): string {
  const live = x.kind === "live";
  const held = live ? x : CLOSED_HOLDINGS;
  return (
    `${field(x.address)}\t${field(live ? x.owner : null)}\t${field(live ? x.pool : null)}\t${held.stakedAmount}\t` +
    `${held.cooldownAmount}\t${field(held.cooldownEnd)}\t${held.effectiveStake}\t${field(x.tier.name)}\t${x.tier.discountBps}\t` +
    `${live ? x.programTier : 0}\t${x.slot}\t${x.commitment}\t${live ? "f" : "t"}\n`
  );
}

const STAGING_CHUNK = 64 * 1024;
/** Written batches' chunks kept for the next ones (at most 16 MiB). */
const spareChunks: Buffer[] = [];
const MAX_SPARE_CHUNKS = 256;

/**
 * A batch's staging rows, written into 64 KiB buffers as they are added. A backfill holds batches of tens of
 * thousands of rows while earlier ones are written: as buffers they sit outside the JS heap, where rows kept as
 * strings (ropes of their parts, several times the text) would be promoted by every young-generation
 * collection. The buffers of a written batch are reused by the next ones: left to the collector, each would
 * wait for a full collection, and a million-account backfill would hold them all by then.
 */
export class StagingRows {
  /** Filled buffers and the bytes used in each; the last one is being filled. */
  private buffers: Buffer[] = [];
  private used: number[] = [];
  private rows = 0;
  private newest: bigint | null = null;
  private gone = false;

  add(change: StakeChange): void {
    if (change.kind === "gone") this.gone = true;
    if (this.newest === null || change.slot > this.newest) this.newest = change.slot;
    const row = stagingRow(change);
    const bytes = Buffer.byteLength(row);
    let last = this.buffers.length - 1;
    if (last < 0 || this.used[last]! + bytes > this.buffers[last]!.length) {
      this.buffers.push(bytes <= STAGING_CHUNK ? (spareChunks.pop() ?? Buffer.allocUnsafe(STAGING_CHUNK)) : Buffer.allocUnsafe(bytes));
      this.used.push(0);
      last++;
    }
    this.used[last]! += this.buffers[last]!.write(row, this.used[last]!);
    this.rows++;
  }

  get count(): number {
    return this.rows;
  }

  /** Newest slot among the rows, or null when there are none. */
  get newestSlot(): bigint | null {
    return this.newest;
  }

  /** Whether every row is a live account (none closes a row). */
  get allLive(): boolean {
    return !this.gone;
  }

  /** The COPY text, in chunks. */
  text(): Buffer[] {
    return this.buffers.map((b, i) => b.subarray(0, this.used[i]));
  }

  /**
   * Hands the buffers over for reuse; the rows are gone. Only once the server has taken the COPY: a failed one
   * may leave bytes queued on its socket.
   */
  release(): void {
    for (const b of this.buffers) if (b.length === STAGING_CHUNK && spareChunks.length < MAX_SPARE_CHUNKS) spareChunks.push(b);
    this.buffers = [];
    this.used = [];
    this.rows = 0;
    this.newest = null;
    this.gone = false;
  }
}

const differs = stakeStateDiffers;

/** $1 batch id, $2 source, $3 initial fill, $4 pool (of the notice). */
const UPSERT = `
WITH prev AS (
  -- One primary-key lookup per staged row. As a plain join the planner hashes the staging rows and scans all
  -- of stakes for each batch, which makes a backfill quadratic in the table's size (LIMIT keeps it a lookup).
  SELECT s.address, s.owner, s.staked_amount, s.cooldown_amount, s.cooldown_end, s.effective_stake,
         s.discount_tier, s.discount_bps, s.program_tier, s.slot, s.closed
  FROM stakes_staging i CROSS JOIN LATERAL (
    SELECT * FROM stakes WHERE stakes.address = i.address LIMIT 1
  ) s
),
upserted AS (
  INSERT INTO stakes AS s (address, owner, pool, staked_amount, cooldown_amount, cooldown_end, effective_stake,
                           discount_tier, discount_bps, program_tier, slot, commitment, closed, updated_at, write_batch)
  SELECT address, owner, pool, staked_amount, cooldown_amount, cooldown_end, effective_stake,
         discount_tier, discount_bps, program_tier, slot, commitment, false, now(), $1
  FROM stakes_staging WHERE NOT closed
  ON CONFLICT (address) DO UPDATE SET
    owner = EXCLUDED.owner, pool = EXCLUDED.pool, staked_amount = EXCLUDED.staked_amount,
    cooldown_amount = EXCLUDED.cooldown_amount, cooldown_end = EXCLUDED.cooldown_end,
    effective_stake = EXCLUDED.effective_stake, discount_tier = EXCLUDED.discount_tier,
    discount_bps = EXCLUDED.discount_bps, program_tier = EXCLUDED.program_tier, slot = EXCLUDED.slot,
    commitment = EXCLUDED.commitment, closed = false, updated_at = now(), write_batch = $1
  WHERE s.slot < EXCLUDED.slot
  RETURNING s.address, s.owner, s.pool, s.staked_amount, s.cooldown_amount, s.cooldown_end, s.effective_stake,
            s.discount_tier, s.discount_bps, s.program_tier, s.slot, s.closed
),
gone AS (
  UPDATE stakes s SET staked_amount = i.staked_amount, cooldown_amount = i.cooldown_amount,
    cooldown_end = i.cooldown_end, effective_stake = i.effective_stake, discount_tier = i.discount_tier,
    discount_bps = i.discount_bps, program_tier = i.program_tier, slot = i.slot, commitment = i.commitment,
    closed = true, updated_at = now(), write_batch = $1
  FROM stakes_staging i
  WHERE i.closed AND s.address = i.address AND s.slot < i.slot
  RETURNING s.address, s.owner, s.pool, s.staked_amount, s.cooldown_amount, s.cooldown_end, s.effective_stake,
            s.discount_tier, s.discount_bps, s.program_tier, s.slot, s.closed
),
applied AS (
  SELECT a.*, p.address IS NULL AS new_row, p.effective_stake AS previous_effective_stake,
         (p.address IS NULL OR ${differs("p", "a")}) AS changed
  FROM (SELECT * FROM upserted UNION ALL SELECT * FROM gone) a
  LEFT JOIN prev p ON p.address = a.address
),
logged AS (
  INSERT INTO stake_events (address, owner, pool, slot, source, previous_effective_stake, effective_stake,
                            discount_tier, closed)
  SELECT a.address, a.owner, a.pool, a.slot, $2, a.previous_effective_stake, a.effective_stake, a.discount_tier, a.closed
  FROM applied a
  WHERE a.changed AND NOT ($3 AND a.new_row)
),
summary AS (
  SELECT count(*) AS applied, count(*) FILTER (WHERE changed) AS changed, max(slot) AS slot FROM applied
),
would_be AS (
  SELECT i.address, i.slot, i.closed, coalesce(i.owner, p.owner) AS owner, i.staked_amount, i.cooldown_amount,
         i.cooldown_end, i.program_tier, i.effective_stake, i.discount_tier, i.discount_bps
  FROM stakes_staging i JOIN prev p ON p.address = i.address
  WHERE p.slot = i.slot
)
SELECT 'applied' AS kind, NULL AS address, slot::text AS slot, applied::text AS applied, changed::text AS changed,
       CASE WHEN applied > 0 THEN pg_notify('${STAKE_CHANGES_CHANNEL}', json_build_object(
         'batch', $1::text, 'pool', $4::text, 'rows', applied, 'slot', slot::text)::text) END AS notified
FROM summary
UNION ALL
SELECT 'conflict', w.address, w.slot::text, NULL, NULL, NULL
FROM would_be w JOIN prev p ON p.address = w.address
WHERE ${differs("p", "w")}`;

/** Postgres gave up on the transaction for a reason that a retry resolves (deadlock, serialization). */
const TRANSIENT = new Set(["40P01", "40001"]);
/** A row with this key exists (an initial fill's COPY met a row the live source wrote). */
const UNIQUE_VIOLATION = "23505";

/** A new batch id, from the sequence whose values stamp `write_batch`. */
async function nextBatchId(client: pg.PoolClient): Promise<string> {
  return (await client.query<{ id: string }>("SELECT nextval('stake_write_batch_seq')::text AS id")).rows[0]!.id;
}

/** The rows of a batch that are all new: COPY into `stakes` itself and the notice; null when a row exists. */
async function copyNewRows(pool: pg.Pool, rows: StagingRows, o: BulkWriteOptions): Promise<BatchResult | null> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query("BEGIN");
    const batch = await nextBatchId(client);
    // Read by write_batch's default for every row the COPY inserts (migration 2026_11_30_000).
    await client.query("SELECT set_config('kamiyo.write_batch', $1, true)", [batch]);
    await pipeline(Readable.from(rows.text()), client.query(copyFrom(`COPY stakes (${STAGING_COLUMNS}) FROM STDIN`)));
    const notice: StakeBatchNotice = { batch, pool: o.pool, rows: rows.count, slot: String(rows.newestSlot) };
    await client.query("SELECT pg_notify($1, $2)", [STAKE_CHANGES_CHANNEL, JSON.stringify(notice)]);
    await client.query("COMMIT");
    return { applied: rows.count, changed: rows.count, newestSlot: rows.newestSlot, sameSlotConflicts: [] };
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    const code = (err as { code?: string }).code;
    // The connection is not reused after a COPY that failed midway.
    broken = err instanceof Error ? err : new Error(String(err));
    if (code === UNIQUE_VIOLATION || (code !== undefined && TRANSIENT.has(code))) return null;
    throw err;
  } finally {
    client.release(broken);
  }
}

const ATTEMPTS = 5;

export interface BulkWriteOptions {
  source: StakeEventSource;
  /** The table held no row of the pool when this backfill began: new rows get no event. */
  initialFill: boolean;
  /** The pool named in the batch notice. */
  pool: string;
}

async function writeOnce(client: pg.PoolClient, rows: StagingRows, o: BulkWriteOptions): Promise<BatchResult> {
  await client.query("BEGIN");
  try {
    // The planner cannot see into the CTEs; JIT would cost more than the statement.
    await client.query("SET LOCAL jit = off");
    await client.query(
      `CREATE TEMP TABLE IF NOT EXISTS stakes_staging (
         address text, owner text, pool text, staked_amount numeric(20,0), cooldown_amount numeric(20,0),
         cooldown_end int8, effective_stake numeric(20,0), discount_tier text, discount_bps int4, program_tier int2,
         slot int8, commitment text, closed bool
       ) ON COMMIT DELETE ROWS`,
    );
    await pipeline(Readable.from(rows.text()), client.query(copyFrom(`COPY stakes_staging (${STAGING_COLUMNS}) FROM STDIN`)));
    await client.query("ANALYZE stakes_staging");
    const batch = await nextBatchId(client);
    const result = await client.query<ResultRow>(UPSERT, [batch, o.source, o.initialFill, o.pool]);
    await client.query("COMMIT");
    return batchResult(result.rows);
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}

/**
 * Writes one batch of staging rows (at most one per address) on a connection of `pool`, and releases the rows
 * once written. Retried on deadlock or serialization failure; any other error is thrown.
 */
export async function writeStagedStakes(pool: pg.Pool, rows: StagingRows, o: BulkWriteOptions): Promise<BatchResult> {
  if (o.initialFill && rows.allLive && rows.count > 0) {
    const copied = await copyNewRows(pool, rows, o);
    if (copied) {
      rows.release();
      return copied;
    }
  }
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      const result = await writeOnce(client, rows, o);
      rows.release();
      return result;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (!code) broken = err instanceof Error ? err : new Error(String(err));
      if (!code || !TRANSIENT.has(code) || attempt >= ATTEMPTS) throw err;
    } finally {
      // A connection that failed below SQL (COPY stream, socket) is not given back.
      client.release(broken);
    }
  }
}

/** Whether the table holds any row of `pool` (an empty pool makes the next backfill an initial fill). */
export async function poolHasStakes(pool: pg.Pool, stakePool: string): Promise<boolean> {
  const { rows } = await pool.query<{ any: boolean }>("SELECT EXISTS (SELECT 1 FROM stakes WHERE pool = $1) AS any", [stakePool]);
  return rows[0]!.any;
}

/** The rows a batch wrote, as the tier cache holds them (on its listening connection). */
export async function batchStakes(client: pg.ClientBase, batch: string): Promise<{ owner: string; pool: string; slot: bigint; effectiveStake: bigint }[]> {
  const { rows } = await client.query<{ owner: string; pool: string; slot: string; closed: boolean; effective: string }>(
    "SELECT owner, pool, slot::text AS slot, closed, effective_stake::text AS effective FROM stakes WHERE write_batch = $1",
    [batch],
  );
  return rows.map((r) => ({
    owner: r.owner,
    pool: r.pool,
    slot: BigInt(r.slot),
    effectiveStake: heldStake({ closed: r.closed, effectiveStake: BigInt(r.effective) }).effectiveStake,
  }));
}
