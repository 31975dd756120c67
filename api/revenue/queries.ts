/**
 * Revenue over a UTC window from the x402 usage ledger. Only settled payments count (rows with a settlement
 * signature); a reservation for a payment still settling is not revenue. Sums stay NUMERIC in SQL and
 * arrive as decimal text, so no amount ever passes through a float.
 */
import { sql, type Kysely } from "kysely";
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

interface TotalsRow {
  revenue: string;
  gross: string;
  discounts: string;
  requests: string;
  discounted_requests: string;
  unique_stakers: string;
  unique_payers: string;
}

interface TierRow {
  tier: string;
  requests: string;
  revenue: string;
  discounts: string;
  payers: string;
}

export async function revenueTotals(db: Kysely<Database>, w: UtcWindow): Promise<RevenueTotals> {
  const totals = await sql<TotalsRow>`
    SELECT coalesce(sum(amount_charged), 0)::text                                  AS revenue,
           coalesce(sum(original_amount), 0)::text                                 AS gross,
           coalesce(sum(savings), 0)::text                                         AS discounts,
           count(*)::text                                                          AS requests,
           count(*) FILTER (WHERE discount_tier IS NOT NULL)::text                 AS discounted_requests,
           count(DISTINCT payer) FILTER (WHERE discount_tier IS NOT NULL)::text    AS unique_stakers,
           count(DISTINCT payer)::text                                             AS unique_payers
      FROM x402_usage
     WHERE settlement_signature IS NOT NULL AND created_at >= ${w.start} AND created_at < ${w.end}
  `.execute(db);
  const tiers = await sql<TierRow>`
    SELECT discount_tier AS tier, count(*)::text AS requests, sum(amount_charged)::text AS revenue,
           sum(savings)::text AS discounts, count(DISTINCT payer)::text AS payers
      FROM x402_usage
     WHERE settlement_signature IS NOT NULL AND discount_tier IS NOT NULL
       AND created_at >= ${w.start} AND created_at < ${w.end}
     GROUP BY discount_tier
     ORDER BY discount_tier
  `.execute(db);
  const t = totals.rows[0]!;
  return {
    revenue: BigInt(t.revenue),
    gross: BigInt(t.gross),
    discounts: BigInt(t.discounts),
    requests: Number(t.requests),
    discountedRequests: Number(t.discounted_requests),
    uniqueStakers: Number(t.unique_stakers),
    uniquePayers: Number(t.unique_payers),
    byTier: tiers.rows.map((r) => ({
      tier: r.tier,
      requests: Number(r.requests),
      revenue: BigInt(r.revenue),
      discounts: BigInt(r.discounts),
      payers: Number(r.payers),
    })),
  };
}
