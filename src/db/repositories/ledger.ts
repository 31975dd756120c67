/**
 * Figures read from the pipeline's ledger tables (staking_revenue_allocations, kamiyo_buybacks,
 * staking_pool_fundings) and its runs, for the APY snapshot and the dashboard. Writes are in runs.ts, each
 * inside the compare-and-set that moves its run. Amounts are bigint (NUMERIC(20,0)).
 */
import { sql, type Kysely } from "kysely";
import type { Database, PipelineStatus } from "../schema.ts";

export function createLedgerRepository(db: Kysely<Database>) {
  return {
    /** The most recent buyback's execution (its exact price ratio), if any. */
    latestBuyback(): Promise<{ usdc_amount: bigint; kamiyo_amount: bigint } | undefined> {
      return db.selectFrom("kamiyo_buybacks").select(["usdc_amount", "kamiyo_amount"]).orderBy("id", "desc").limit(1).executeTakeFirst();
    },

    /** micro-USDC allocated to staking by runs whose window starts at or after `since`. */
    async allocatedSince(since: Date): Promise<bigint> {
      const row = await sql<{ allocated: bigint }>`
        SELECT coalesce(sum(allocation_usdc), 0)::numeric(20, 0) AS allocated
        FROM staking_revenue_allocations WHERE period_start >= ${since}
      `.execute(db);
      return row.rows[0]!.allocated;
    },

    /** What every buyback and funding so far added up to. */
    async ledgerTotals(): Promise<{ spent: bigint; bought: bigint; funded: bigint; buybacks: bigint; fundings: bigint }> {
      const row = await sql<{ spent: bigint; bought: bigint; funded: bigint; buybacks: bigint; fundings: bigint }>`
        SELECT (SELECT coalesce(sum(usdc_amount), 0)::numeric(20, 0) FROM kamiyo_buybacks) AS spent,
               (SELECT coalesce(sum(kamiyo_amount), 0)::numeric(20, 0) FROM kamiyo_buybacks) AS bought,
               (SELECT coalesce(sum(kamiyo_amount), 0)::numeric(20, 0) FROM staking_pool_fundings) AS funded,
               (SELECT count(*)::bigint FROM kamiyo_buybacks) AS buybacks,
               (SELECT count(*)::bigint FROM staking_pool_fundings) AS fundings
      `.execute(db);
      return row.rows[0]!;
    },

    /** Number of runs per status (statuses without runs are absent). */
    runsByStatus(): Promise<{ status: PipelineStatus; count: bigint }[]> {
      return db
        .selectFrom("pipeline_runs")
        .select(["status", sql<bigint>`count(*)::bigint`.as("count")])
        .groupBy("status")
        .execute();
    },
  };
}

export type LedgerRepository = ReturnType<typeof createLedgerRepository>;
