/**
 * The seed's admin dashboard (`StakingAnalytics.get_dashboard_metrics`) from the tables: revenue and
 * discounts by tier over the last 30 days (x402_usage, settled payments), staking totals (latest APY
 * snapshot, the pipeline's ledger), APY history, and the late rows (payments that settled for a day already
 * allocated, from ledger_late_rows). Amounts are decimal strings of integer units.
 */
import type { Kysely } from "kysely";
import { createApyRepository } from "../src/db/repositories/apy.ts";
import { createLedgerRepository } from "../src/db/repositories/ledger.ts";
import { createRevenueLedgerRepository } from "../src/db/repositories/revenue-ledger.ts";
import { createUsageRepository } from "../src/db/repositories/usage.ts";
import type { Database } from "../src/db/schema.ts";
import { trailingDays } from "../src/domain/utc-day.ts";

/** The newest late rows listed (the count and amount cover all of them). */
export const LATE_ROWS_SHOWN = 50;

const str = (v: bigint | null | undefined) => (v === null || v === undefined ? null : v.toString());

export async function dashboardMetrics(db: Kysely<Database>, now: Date = new Date()) {
  const usage = createUsageRepository(db);
  const ledgerRepo = createLedgerRepository(db);
  const window = trailingDays(now, 30);
  const since = window.start;
  const revenue = await usage.totals(window);
  const allocated = await ledgerRepo.allocatedSince(since);
  const tiers = await usage.revenueByTier(window);
  const ledger = await ledgerRepo.ledgerTotals();
  const runs = await ledgerRepo.runsByStatus();
  const history = await createApyRepository(db).latest(30);
  const latest = history[0];
  const revenueLedger = createRevenueLedgerRepository(db);
  const lateTotals = await revenueLedger.lateRowTotals();
  const late = await revenueLedger.lateRows({ limit: LATE_ROWS_SHOWN });
  return {
    window: { from: since.toISOString(), to: now.toISOString() },
    revenue: {
      totalRevenue: str(revenue.revenue),
      revenueWithoutDiscounts: str(revenue.gross),
      totalDiscountsGiven: str(revenue.discounts),
      requests: str(revenue.requests),
      allocatedToStaking: str(allocated),
      unit: "micro-USDC",
    },
    discounts: tiers.map((t) => ({
      tier: t.tier,
      usageCount: str(t.requests),
      uniquePayers: str(t.payers),
      revenue: str(t.revenue),
      totalSavings: str(t.discounts),
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
    // Settled payments recorded after their day was allocated (ledger_late_rows): never in that day's allocation.
    lateRows: {
      count: str(lateTotals.count),
      amount: str(lateTotals.amount),
      unit: "micro-USDC",
      newest: late.map((r) => ({
        day: r.runDate,
        runId: str(r.runId),
        usageId: str(r.usageId),
        amount: str(r.amount),
        signature: r.signature,
        detectedAt: r.detectedAt.toISOString(),
        alertedAt: r.alertedAt?.toISOString() ?? null,
      })),
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
