/**
 * A revenue report over a UTC window: the usage repository's settled totals and revenue per tier, with
 * counts as numbers for JSON. Amounts stay bigint micro-USDC.
 */
import type { Kysely } from "kysely";
import { createUsageRepository } from "../../src/db/repositories/usage.ts";
import type { Database } from "../../src/db/schema.ts";
import type { UtcWindow } from "../../src/domain/utc-day.ts";

export interface RevenueTotals {
  /** micro-USDC charged. */
  revenue: bigint;
  /** micro-USDC the same requests would have cost at full price. */
  gross: bigint;
  /** micro-USDC of discounts given (gross - revenue). */
  discounts: bigint;
  requests: number;
  discountedRequests: number;
  /** Distinct payers that received a discount. */
  uniqueStakers: number;
  uniquePayers: number;
  byTier: Array<{ tier: string; requests: number; revenue: bigint; discounts: bigint; payers: number }>;
}

export async function revenueTotals(db: Kysely<Database>, w: UtcWindow): Promise<RevenueTotals> {
  const usage = createUsageRepository(db);
  const t = await usage.totals(w);
  const tiers = await usage.revenueByTier(w);
  return {
    revenue: t.revenue,
    gross: t.gross,
    discounts: t.discounts,
    requests: Number(t.requests),
    discountedRequests: Number(t.discountedRequests),
    uniqueStakers: Number(t.uniqueStakers),
    uniquePayers: Number(t.uniquePayers),
    byTier: tiers.map((r) => ({
      tier: r.tier,
      requests: Number(r.requests),
      revenue: r.revenue,
      discounts: r.discounts,
      payers: Number(r.payers),
    })),
  };
}
