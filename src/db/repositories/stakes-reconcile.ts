/**
 * Reconciliation's statements, on one connection of the pool for the whole run: the addresses a chain
 * snapshot holds are kept in a temporary table on that connection (not in memory), each batch of the
 * snapshot is compared with `stakes` by the same state comparison the write path uses, and the live rows
 * the snapshot lacks are listed page by page.
 */
import type pg from "pg";
import { stakeColumns, stakeStateDiffers, type LiveStake } from "./stakes.ts";

export interface BatchDrift {
  /** UserStakes of the batch without a row. */
  missing: Set<string>;
  /** UserStakes whose row holds another state although it is not newer than the snapshot. */
  differing: Set<string>;
}

export interface ReconcileSession {
  /**
   * Records every address of a snapshot batch as seen and compares the batch's UserStakes with their rows.
   * Rows newer than `slot` are left out: the live feed got there first.
   */
  compareBatch(addresses: readonly string[], live: readonly LiveStake[], slot: bigint): Promise<BatchDrift>;
  /** Live rows of `pool` not newer than `slot` that no batch held, by address after `after`, at most `limit`. */
  unseenPage(pool: string, slot: bigint, after: string, limit: number): Promise<string[]>;
  /** Drops the temporary table and gives the connection back (or discards it when that fails). */
  close(): Promise<void>;
}

export async function openReconcileSession(pool: pg.Pool): Promise<ReconcileSession> {
  const client = await pool.connect();
  const session: ReconcileSession = {
    async compareBatch(addresses, live, slot) {
      const p = stakeColumns(live);
      const { rows } = await client.query<{ address: string; missing: boolean }>(
        `WITH seen AS (
           INSERT INTO reconcile_seen SELECT unnest($1::text[]) ON CONFLICT DO NOTHING
         ),
         chain AS (
           SELECT * FROM unnest($2::text[], $3::text[], $4::numeric[], $5::numeric[], $6::int8[], $7::numeric[],
                                $8::text[], $9::int4[], $10::int2[], $11::bool[])
             AS t(address, owner, staked_amount, cooldown_amount, cooldown_end, effective_stake, discount_tier,
                  discount_bps, program_tier, closed)
         )
         SELECT c.address, s.address IS NULL AS missing
         FROM chain c LEFT JOIN stakes s ON s.address = c.address
         WHERE s.address IS NULL OR (s.slot <= $12 AND ${stakeStateDiffers("s", "c")})`,
        [
          addresses,
          p.address,
          p.owner,
          p.staked_amount,
          p.cooldown_amount,
          p.cooldown_end,
          p.effective_stake,
          p.discount_tier,
          p.discount_bps,
          p.program_tier,
          p.closed,
          slot.toString(),
        ],
      );
      const drift: BatchDrift = { missing: new Set(), differing: new Set() };
      for (const r of rows) (r.missing ? drift.missing : drift.differing).add(r.address);
      return drift;
    },

    async unseenPage(stakePool, slot, after, limit) {
      const { rows } = await client.query<{ address: string }>(
        `SELECT s.address FROM stakes s
         WHERE s.pool = $1 AND NOT s.closed AND s.slot <= $2 AND s.address > $3
           AND NOT EXISTS (SELECT 1 FROM reconcile_seen r WHERE r.address = s.address)
         ORDER BY s.address LIMIT $4`,
        [stakePool, slot.toString(), after, limit],
      );
      return rows.map((r) => r.address);
    },

    async close() {
      try {
        await client.query("DROP TABLE IF EXISTS reconcile_seen");
        client.release();
      } catch (err) {
        // A connection that cannot even drop its temp table is not given back to the pool.
        client.release(err instanceof Error ? err : true);
      }
    },
  };
  try {
    await client.query("CREATE TEMP TABLE IF NOT EXISTS reconcile_seen (address text PRIMARY KEY)");
    await client.query("TRUNCATE reconcile_seen");
  } catch (err) {
    await session.close();
    throw err;
  }
  return session;
}
