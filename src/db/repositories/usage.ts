/**
 * x402_usage: the paywall's reservation and completion of each payment, and every revenue figure read from
 * them. A row without a settlement signature is a reservation for a payment still settling: it is never
 * revenue. Sums stay NUMERIC in SQL and arrive as bigint (src/db/database.ts), never as a float.
 */
import { sql, type Kysely } from "kysely";
import type { Database } from "../schema.ts";

/** The one definition of a settled payment; every revenue query filters with it. Qualified: it is also used inside ON CONFLICT. */
export const SETTLED = sql<boolean>`x402_usage.settlement_signature IS NOT NULL`;

/** A payment as the paywall reserves it before settlement. Amounts are micro-USDC. */
export interface UsageRecord {
  paymentKey: string;
  payer: string;
  endpoint: string;
  method: string;
  statusCode: number;
  amountCharged: bigint;
  originalAmount: bigint;
  discountTier: string | null;
  discountBps: number;
  savings: bigint;
  network: string;
  asset: string;
  payTo: string;
}

export interface SettledUsage extends UsageRecord {
  settlementSignature: string;
  responseTimeMs: number;
  /** When the payment settled; the row's created_at when it has to be inserted late. */
  settledAt: Date;
}

/** [start, end): settled payments created in it count. */
export interface TimeWindow {
  start: Date;
  end: Date;
}

export interface RevenueTotals {
  /** micro-USDC charged. */
  revenue: bigint;
  /** micro-USDC the same requests would have cost at full price. */
  gross: bigint;
  /** micro-USDC of discounts given (gross - revenue). */
  discounts: bigint;
  requests: bigint;
  discountedRequests: bigint;
  /** Distinct payers that received a discount. */
  uniqueStakers: bigint;
  uniquePayers: bigint;
}

export interface TierRevenue {
  tier: string;
  requests: bigint;
  /** micro-USDC charged. */
  revenue: bigint;
  /** micro-USDC of discounts given. */
  discounts: bigint;
  payers: bigint;
}

/** Figures selected as decimal text (so no pool type parser is assumed) and read back as bigint. */
type Decimals<T> = { [K in keyof T]: string };

function integers<T extends Record<string, string>>(row: T): { [K in keyof T]: bigint } {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, BigInt(v)])) as { [K in keyof T]: bigint };
}

export function createUsageRepository(db: Kysely<Database>) {
  const inWindow = (w: TimeWindow) => sql<boolean>`${SETTLED} AND x402_usage.created_at >= ${w.start} AND x402_usage.created_at < ${w.end}`;

  return {
    /** Inserts the reservation; false when this payment already has a row (settled or settling). */
    async reserve(r: UsageRecord): Promise<boolean> {
      const res = await sql<{ id: bigint }>`
        INSERT INTO x402_usage (payment_key, payer, endpoint, method, status_code, amount_charged, original_amount,
                                discount_tier, discount_bps, savings, network, asset, pay_to)
        VALUES (${r.paymentKey}, ${r.payer}, ${r.endpoint}, ${r.method}, ${r.statusCode}, ${r.amountCharged.toString()},
                ${r.originalAmount.toString()}, ${r.discountTier}, ${r.discountBps}, ${r.savings.toString()},
                ${r.network}, ${r.asset}, ${r.payTo})
        ON CONFLICT (payment_key) DO NOTHING
        RETURNING id
      `.execute(db);
      return res.rows.length === 1;
    },

    /** Records the settlement: completes the reservation, or inserts the row when there was none. A settled row is never changed. */
    async complete(s: SettledUsage): Promise<void> {
      await sql`
        INSERT INTO x402_usage (payment_key, payer, endpoint, method, status_code, settlement_signature, amount_charged,
                                original_amount, discount_tier, discount_bps, savings, response_time_ms, network, asset,
                                pay_to, created_at)
        VALUES (${s.paymentKey}, ${s.payer}, ${s.endpoint}, ${s.method}, ${s.statusCode}, ${s.settlementSignature},
                ${s.amountCharged.toString()}, ${s.originalAmount.toString()}, ${s.discountTier}, ${s.discountBps},
                ${s.savings.toString()}, ${s.responseTimeMs}, ${s.network}, ${s.asset}, ${s.payTo}, ${s.settledAt})
        ON CONFLICT (payment_key) DO UPDATE
          SET settlement_signature = EXCLUDED.settlement_signature,
              payer = EXCLUDED.payer,
              status_code = EXCLUDED.status_code,
              response_time_ms = EXCLUDED.response_time_ms
          WHERE NOT ${SETTLED}
      `.execute(db);
    },

    async isSettled(paymentKey: string): Promise<boolean> {
      const row = await db.selectFrom("x402_usage").select("id").where("payment_key", "=", paymentKey).where(SETTLED).executeTakeFirst();
      return row !== undefined;
    },

    /** Deletes the payment's reservation; a settled row stays. */
    async release(paymentKey: string): Promise<void> {
      await db
        .deleteFrom("x402_usage")
        .where("payment_key", "=", paymentKey)
        .where(sql<boolean>`NOT ${SETTLED}`)
        .execute();
    },

    /** Settled revenue, discounts and payers in the window. */
    async totals(w: TimeWindow): Promise<RevenueTotals> {
      const { rows } = await sql<Decimals<RevenueTotals>>`
        SELECT coalesce(sum(amount_charged), 0)::text                                AS revenue,
               coalesce(sum(original_amount), 0)::text                               AS gross,
               coalesce(sum(savings), 0)::text                                       AS discounts,
               count(*)::text                                                        AS "requests",
               count(*) FILTER (WHERE discount_tier IS NOT NULL)::text               AS "discountedRequests",
               count(DISTINCT payer) FILTER (WHERE discount_tier IS NOT NULL)::text  AS "uniqueStakers",
               count(DISTINCT payer)::text                                           AS "uniquePayers"
          FROM x402_usage
         WHERE ${inWindow(w)}
      `.execute(db);
      return integers(rows[0]!);
    },

    /** Settled revenue per discount tier in the window (undiscounted payments are in no tier), by tier name. */
    async revenueByTier(w: TimeWindow): Promise<TierRevenue[]> {
      const { rows } = await sql<{ tier: string } & Decimals<Omit<TierRevenue, "tier">>>`
        SELECT discount_tier AS tier, count(*)::text AS requests, sum(amount_charged)::text AS revenue,
               sum(savings)::text AS discounts, count(DISTINCT payer)::text AS payers
          FROM x402_usage
         WHERE ${inWindow(w)} AND discount_tier IS NOT NULL
         GROUP BY discount_tier
         ORDER BY discount_tier
      `.execute(db);
      return rows.map(({ tier, ...figures }) => ({ tier, ...integers(figures) }));
    },

    /** Settled revenue (micro-USDC) and number of payments in the window: what the pipeline allocates from. */
    async settledRevenue(w: TimeWindow): Promise<{ revenue: bigint; requests: bigint }> {
      const { rows } = await sql<Decimals<{ revenue: bigint; requests: bigint }>>`
        SELECT coalesce(sum(amount_charged), 0)::text AS revenue, count(*)::text AS requests
          FROM x402_usage
         WHERE ${inWindow(w)}
      `.execute(db);
      return integers(rows[0]!);
    },
  };
}

export type UsageRepository = ReturnType<typeof createUsageRepository>;
