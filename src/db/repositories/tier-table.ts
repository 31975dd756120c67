/**
 * discount_tier_table: the one tier table in effect. The indexer leader publishes its DISCOUNT_TIERS when its
 * term starts; readers (tier cache, stake info, discount tiers) price with the published table and fall back
 * to their own configuration only while nothing has been published.
 */
import type pg from "pg";
import { sql, type Kysely } from "kysely";
import { NO_TIER, sameTierTable, tierTableFromJson, tierTableToJson, type DiscountTier } from "../../domain/tiers.ts";
import type { Database } from "../schema.ts";
import { STAKE_CHANGES_CHANNEL } from "./stakes.ts";

/** The STAKE_CHANGES_CHANNEL payload that tells listeners the tier table changed: re-read everything. */
export const TIER_TABLE_NOTICE = JSON.stringify({ kind: "tier_table" });

/** Serialises publishers: two leaders in quick succession must not interleave their re-tiering. */
const PUBLISH_LOCK = 0x4b_54_49_45_52_53n; // "KTIERS"

export interface TierTableRepository {
  read(): Promise<DiscountTier[] | null>;
  /**
   * Makes `tiers` the table in effect, unless it already is. When it changes, every stored row's tier is
   * derived again with it and listeners are told, in the same transaction. True when it changed.
   */
  publish(tiers: readonly DiscountTier[], publishedBy: string): Promise<boolean>;
  /**
   * Publishes `tiers` only when no table is in effect yet (an API started before any indexer), so the first
   * process decides for all until the indexer leader publishes its own. Returns the table in effect.
   */
  adopt(tiers: readonly DiscountTier[], publishedBy: string): Promise<readonly DiscountTier[]>;
}

async function readTable(q: Kysely<Database>): Promise<DiscountTier[] | null> {
  const row = await q.selectFrom("discount_tier_table").select("tiers").where("id", "=", 1).executeTakeFirst();
  return row === undefined ? null : tierTableFromJson(row.tiers);
}

export function createTierTableRepository(db: Kysely<Database>): TierTableRepository {
  return {
    read: () => readTable(db),
    publish: (tiers, publishedBy) => publishUnless(db, tiers, publishedBy, (current) => current !== null && sameTierTable(current, tiers)),
    async adopt(tiers, publishedBy) {
      let inEffect: readonly DiscountTier[] = tiers;
      await publishUnless(db, tiers, publishedBy, (current) => {
        if (current !== null) inEffect = current;
        return current !== null;
      });
      return inEffect;
    },
  };
}

/** Publishes `tiers` (re-tiering stored rows and telling listeners) unless `keep(current)` says otherwise. */
function publishUnless(
  db: Kysely<Database>,
  tiers: readonly DiscountTier[],
  publishedBy: string,
  keep: (current: DiscountTier[] | null) => boolean,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${PUBLISH_LOCK.toString()}::bigint)`.execute(trx);
    if (keep(await readTable(trx))) return false;
    const json = JSON.stringify(tierTableToJson(tiers));
    await sql`
      INSERT INTO discount_tier_table (id, tiers, published_by) VALUES (1, ${json}::jsonb, ${publishedBy})
      ON CONFLICT (id) DO UPDATE SET tiers = EXCLUDED.tiers, published_by = EXCLUDED.published_by, published_at = now()
    `.execute(trx);
    // Highest threshold first: the first match is the highest tier reached.
    const byThreshold = [...tiers].sort((a, b) => (a.minStake > b.minStake ? -1 : a.minStake < b.minStake ? 1 : 0));
    const caseOf = (pick: (t: DiscountTier) => string | number, none: string | number) =>
      byThreshold.length === 0
        ? sql`${none}`
        : sql`CASE ${sql.join(
            byThreshold.map((t) => sql`WHEN effective_stake >= ${t.minStake.toString()}::numeric THEN ${pick(t)}`),
            sql` `,
          )} ELSE ${none} END`;
    const tierName = caseOf((t) => t.name, NO_TIER.name);
    const tierBps = caseOf((t) => t.discountBps, NO_TIER.discountBps);
    await sql`
      UPDATE stakes SET discount_tier = ${tierName}, discount_bps = (${tierBps})::integer
      WHERE (discount_tier, discount_bps) IS DISTINCT FROM (${tierName}, (${tierBps})::integer)
    `.execute(trx);
    await sql`SELECT pg_notify(${STAKE_CHANGES_CHANNEL}, ${TIER_TABLE_NOTICE})`.execute(trx);
    return true;
  });
}

/** The published table read on a dedicated connection (the tier cache's LISTEN connection), or null. */
export async function readPublishedTiers(client: pg.ClientBase): Promise<DiscountTier[] | null> {
  const { rows } = await client.query<{ tiers: unknown }>("SELECT tiers FROM discount_tier_table WHERE id = 1");
  return rows[0] === undefined ? null : tierTableFromJson(rows[0].tiers);
}
