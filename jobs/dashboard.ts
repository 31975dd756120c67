/**
 * The seed's admin dashboard (`StakingAnalytics.get_dashboard_metrics`) from the tables: revenue and
 * discounts by tier over the last 30 days (x402_usage, settled payments), staking totals (latest APY
 * snapshot, the pipeline's ledger) and APY history. Amounts are decimal strings of integer units.
 */
import { sql, type Kysely } from "kysely";
import type { Database } from "../src/db/schema.ts";

const str = (v: bigint | null | undefined) => (v === null || v === undefined ? null : v.toString());

export async function dashboardMetrics(db: Kysely<Database>, now: Date = new Date()) {
  const since = new Date(now.getTime() - 30 * 86_400_000);
  const revenue = (
    await sql<{ total: bigint; original: bigint; savings: bigint; requests: bigint }>`
      SELECT coalesce(sum(amount_charged), 0)::numeric(20, 0) AS total,
             coalesce(sum(original_amount), 0)::numeric(20, 0) AS original,
             coalesce(sum(savings), 0)::numeric(20, 0) AS savings,
             count(*)::bigint AS requests
      FROM x402_usage WHERE settlement_signature IS NOT NULL AND created_at >= ${since} AND created_at < ${now}
    `.execute(db)
  ).rows[0]!;
  const allocated = (
    await sql<{ allocated: bigint }>`
      SELECT coalesce(sum(allocation_usdc), 0)::numeric(20, 0) AS allocated
      FROM staking_revenue_allocations WHERE period_start >= ${since}
    `.execute(db)
  ).rows[0]!;
  const tiers = await sql<{ tier: string; requests: bigint; savings: bigint; revenue: bigint; payers: bigint }>`
    SELECT discount_tier AS tier, count(*)::bigint AS requests, sum(savings)::numeric(20, 0) AS savings,
           sum(amount_charged)::numeric(20, 0) AS revenue, count(DISTINCT payer)::bigint AS payers
    FROM x402_usage
    WHERE settlement_signature IS NOT NULL AND discount_tier IS NOT NULL AND created_at >= ${since} AND created_at < ${now}
    GROUP BY discount_tier ORDER BY discount_tier
  `.execute(db);
  const ledger = (
    await sql<{ spent: bigint; bought: bigint; funded: bigint; buybacks: bigint; fundings: bigint }>`
      SELECT (SELECT coalesce(sum(usdc_amount), 0)::numeric(20, 0) FROM kamiyo_buybacks) AS spent,
             (SELECT coalesce(sum(kamiyo_amount), 0)::numeric(20, 0) FROM kamiyo_buybacks) AS bought,
             (SELECT coalesce(sum(kamiyo_amount), 0)::numeric(20, 0) FROM staking_pool_fundings) AS funded,
             (SELECT count(*)::bigint FROM kamiyo_buybacks) AS buybacks,
             (SELECT count(*)::bigint FROM staking_pool_fundings) AS fundings
    `.execute(db)
  ).rows[0]!;
  const runs = await db
    .selectFrom("pipeline_runs")
    .select(["status", sql<bigint>`count(*)::bigint`.as("count")])
    .groupBy("status")
    .execute();
  const history = await db.selectFrom("staking_apy_history").selectAll().orderBy("recorded_at", "desc").limit(30).execute();
  const latest = history[0];
  return {
    window: { from: since.toISOString(), to: now.toISOString() },
    revenue: {
      totalRevenue: str(revenue.total),
      revenueWithoutDiscounts: str(revenue.original),
      totalDiscountsGiven: str(revenue.savings),
      requests: str(revenue.requests),
      allocatedToStaking: str(allocated.allocated),
      unit: "micro-USDC",
    },
    discounts: tiers.rows.map((t) => ({
      tier: t.tier,
      usageCount: str(t.requests),
      uniquePayers: str(t.payers),
      revenue: str(t.revenue),
      totalSavings: str(t.savings),
    })),
    staking: {
      totalStaked: str(latest?.total_staked),
      totalStakers: str(latest?.total_stakers),
      rewardVaultBalance: str(latest?.pool_balance),
      asOf: latest?.recorded_at.toISOString() ?? null,
      usdcSpentOnBuybacks: str(ledger.spent),
      kamiyoBought: str(ledger.bought),
      kamiyoFunded: str(ledger.funded),
      buybacks: str(ledger.buybacks),
      fundings: str(ledger.fundings),
      runs: Object.fromEntries(runs.map((r) => [r.status, str(r.count)])),
    },
    apy: history.map((h) => ({
      recordedAt: h.recorded_at.toISOString(),
      apyBps: str(h.calculated_apy_bps),
      totalStaked: str(h.total_staked),
      monthlyRevenue: str(h.monthly_revenue_usdc),
      rewardRatePerSecond: str(h.reward_rate_per_second),
      kamiyoPriceMicroUsdc: str(h.kamiyo_price_micro_usdc),
      poolBalance: str(h.pool_balance),
    })),
  };
}
