/**
 * x402_usage: the paywall's reservation and completion of each payment, and every revenue figure read from
 * them. A row without a settlement signature is a reservation for a payment still settling: it is never
 * revenue. Sums stay NUMERIC in SQL and arrive as bigint (src/db/database.ts), never as a float.
 */
import { sql, type Kysely } from "kysely";
import type { Database, UsageSource } from "../schema.ts";

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
  /** The payment transaction's recent blockhash (lets the reconciler release a reservation that can no longer land). */
  recentBlockhash?: string | null;
}

export interface SettledUsage extends UsageRecord {
  settlementSignature: string;
  responseTimeMs: number;
  /** When the payment settled; the row's created_at when it has to be inserted late. */
  settledAt: Date;
}

/** A settled payment the ledger lacked, as the reconciler rebuilds it from its transaction. */
export interface RecoveredUsage extends SettledUsage {
  source: Exclude<UsageSource, "paywall">;
}

/** A reservation not (yet) completed: its payment is settling, or its outcome is unknown. */
export interface OpenReservation {
  paymentKey: string;
  recentBlockhash: string | null;
  amountCharged: bigint;
  createdAt: Date;
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
                                discount_tier, discount_bps, savings, network, asset, pay_to, recent_blockhash)
        VALUES (${r.paymentKey}, ${r.payer}, ${r.endpoint}, ${r.method}, ${r.statusCode}, ${r.amountCharged.toString()},
                ${r.originalAmount.toString()}, ${r.discountTier}, ${r.discountBps}, ${r.savings.toString()},
                ${r.network}, ${r.asset}, ${r.payTo}, ${r.recentBlockhash ?? null})
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
                                pay_to, created_at, settled_at, recent_blockhash)
        VALUES (${s.paymentKey}, ${s.payer}, ${s.endpoint}, ${s.method}, ${s.statusCode}, ${s.settlementSignature},
                ${s.amountCharged.toString()}, ${s.originalAmount.toString()}, ${s.discountTier}, ${s.discountBps},
                ${s.savings.toString()}, ${s.responseTimeMs}, ${s.network}, ${s.asset}, ${s.payTo}, ${s.settledAt},
                ${s.settledAt}, ${s.recentBlockhash ?? null})
        ON CONFLICT (payment_key) DO UPDATE
          SET settlement_signature = EXCLUDED.settlement_signature,
              payer = EXCLUDED.payer,
              status_code = EXCLUDED.status_code,
              response_time_ms = EXCLUDED.response_time_ms,
              settled_at = EXCLUDED.settled_at
          WHERE NOT ${SETTLED}
      `.execute(db);
    },

    async isSettled(paymentKey: string): Promise<boolean> {
      const row = await db.selectFrom("x402_usage").select("id").where("payment_key", "=", paymentKey).where(SETTLED).executeTakeFirst();
      return row !== undefined;
    },

    /** Deletes the payment's reservation; a settled row stays. True when a reservation was deleted. */
    async release(paymentKey: string): Promise<boolean> {
      const res = await db
        .deleteFrom("x402_usage")
        .where("payment_key", "=", paymentKey)
        .where(sql<boolean>`NOT ${SETTLED}`)
        .executeTakeFirst();
      return res.numDeletedRows === 1n;
    },

    /**
     * Completes reservations from the chain (the reconciler found their transactions) in one statement (UPDATE ...
     * FROM VALUES): signature, payer and settlement time. Returns the keys completed; a key with no open reservation
     * (none, or already settled) is left alone. Keys must be distinct.
     */
    async completeFromChainMany(list: ReadonlyArray<{ paymentKey: string; signature: string; payer: string; settledAt: Date }>): Promise<Set<string>> {
      if (list.length === 0) return new Set();
      const values = sql.join(list.map((c) => sql`(${c.paymentKey}::text, ${c.signature}::text, ${c.payer}::text, ${c.settledAt}::timestamptz)`));
      const res = await sql<{ payment_key: string }>`
        UPDATE x402_usage SET settlement_signature = v.signature, payer = v.payer, settled_at = v.settled_at
          FROM (VALUES ${values}) AS v (payment_key, signature, payer, settled_at)
         WHERE x402_usage.payment_key = v.payment_key AND NOT ${SETTLED}
        RETURNING x402_usage.payment_key
      `.execute(db);
      return new Set(res.rows.map((r) => r.payment_key));
    },

    /**
     * Inserts settled payments the ledger lacked in one multi-row INSERT: the keys inserted (a payment whose row, or
     * whose signature, exists already is left alone).
     */
    async insertRecoveredMany(list: readonly RecoveredUsage[]): Promise<Set<string>> {
      if (list.length === 0) return new Set();
      const rows = await db
        .insertInto("x402_usage")
        .values(
          list.map((r) => ({
            payment_key: r.paymentKey,
            payer: r.payer,
            endpoint: r.endpoint,
            method: r.method,
            status_code: r.statusCode,
            settlement_signature: r.settlementSignature,
            amount_charged: r.amountCharged,
            original_amount: r.originalAmount,
            discount_tier: r.discountTier,
            discount_bps: r.discountBps,
            savings: r.savings,
            network: r.network,
            asset: r.asset,
            pay_to: r.payTo,
            created_at: r.settledAt,
            settled_at: r.settledAt,
            recent_blockhash: r.recentBlockhash ?? null,
            source: r.source,
          })),
        )
        .onConflict((oc) => oc.doNothing())
        .returning("payment_key")
        .execute();
      return new Set(rows.map((r) => r.payment_key));
    },

    /** The rows of these payments: key -> settled or not. */
    async statusOf(paymentKeys: readonly string[]): Promise<Map<string, { settled: boolean }>> {
      if (paymentKeys.length === 0) return new Map();
      const rows = await db
        .selectFrom("x402_usage")
        .select(["payment_key", "settlement_signature"])
        .where("payment_key", "in", [...paymentKeys])
        .execute();
      return new Map(rows.map((r) => [r.payment_key, { settled: r.settlement_signature !== null }]));
    },

    /** Reservations still open (created before `before`, when given), oldest first. */
    async openReservations(before?: Date): Promise<OpenReservation[]> {
      let q = db
        .selectFrom("x402_usage")
        .select(["payment_key", "recent_blockhash", "amount_charged", "created_at"])
        .where(sql<boolean>`NOT ${SETTLED}`);
      if (before) q = q.where("created_at", "<", before);
      const rows = await q.orderBy("created_at").execute();
      return rows.map((r) => ({ paymentKey: r.payment_key, recentBlockhash: r.recent_blockhash, amountCharged: BigInt(r.amount_charged), createdAt: r.created_at }));
    },

    /** Every settled payment's amount and signature in the window (micro-USDC), for comparisons with the chain. */
    async settledRows(w: TimeWindow): Promise<Array<{ paymentKey: string; signature: string; amount: bigint; source: UsageSource }>> {
      const rows = await db
        .selectFrom("x402_usage")
        .select(["payment_key", "settlement_signature", "amount_charged", "source"])
        .where(inWindow(w))
        .orderBy("id")
        .execute();
      return rows.map((r) => ({ paymentKey: r.payment_key, signature: r.settlement_signature!, amount: BigInt(r.amount_charged), source: r.source }));
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
