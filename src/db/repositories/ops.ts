/**
 * What operators look at: per-day revenue and per-tier usage over a range, the pipeline's runs with their
 * landed signatures and buyback prices, stake totals per tier, the ledger's unsettled reservations and the
 * pipeline's health figures for /metrics. Read-only; amounts arrive as bigint (selected as text, so no pool
 * type parser is assumed), counts too.
 */
import { sql, type Kysely } from "kysely";
import type { Database, PipelineStatus } from "../schema.ts";
import { SETTLED } from "./usage.ts";

export interface DayRevenue {
  /** YYYY-MM-DD (UTC). */
  day: string;
  revenue: bigint;
  gross: bigint;
  savings: bigint;
  requests: bigint;
  payers: bigint;
}

export interface TierUsage {
  /** The discount tier's name, or "none" for payments at full price. */
  tier: string;
  requests: bigint;
  payers: bigint;
  revenue: bigint;
  savings: bigint;
}

export interface RunLine {
  id: bigint;
  day: string;
  status: PipelineStatus;
  failedFrom: PipelineStatus | null;
  error: string | null;
  revenue: bigint | null;
  allocation: bigint | null;
  usdcSpent: bigint | null;
  kamiyoBought: bigint | null;
  kamiyoFunded: bigint | null;
  /** micro-USDC per whole KAMIYO as recorded with the buyback (floored). */
  averagePrice: bigint | null;
  swapSignature: string | null;
  fundSignature: string | null;
  updatedAt: Date;
}

export interface StakeTierTotals {
  tier: string;
  stakers: bigint;
  staked: bigint;
  effective: bigint;
}

export interface PipelineHealth {
  /** The newest run that ended done or skipped: its day and when it ended. */
  lastSuccess: { day: string; at: Date } | null;
  /** Open or halted runs: what they still have to spend (USDC allocated, not swapped) and fund (KAMIYO bought, not funded). */
  openUsdcToSpend: bigint;
  openKamiyoToFund: bigint;
  /** Open runs not allocated yet: their windows (the revenue in them is what they will allocate from). */
  unallocatedWindows: { start: Date; end: Date }[];
}

type Text<T> = { [K in keyof T]: T[K] extends bigint ? string : T[K] extends bigint | null ? string | null : T[K] };
const big = (v: string) => BigInt(v);
const bigOrNull = (v: string | null) => (v === null ? null : BigInt(v));

export function createOpsRepository(db: Kysely<Database>) {
  return {
    /** Settled revenue per UTC day in [start, end); days without payments are absent. */
    async revenueByDay(start: Date, end: Date): Promise<DayRevenue[]> {
      const { rows } = await sql<Text<DayRevenue>>`
        SELECT to_char((created_at AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS day,
               sum(amount_charged)::text AS revenue, sum(original_amount)::text AS gross, sum(savings)::text AS savings,
               count(*)::text AS requests, count(DISTINCT payer)::text AS payers
          FROM x402_usage
         WHERE ${SETTLED} AND created_at >= ${start} AND created_at < ${end}
         GROUP BY 1 ORDER BY 1
      `.execute(db);
      return rows.map((r) => ({ day: r.day, revenue: big(r.revenue), gross: big(r.gross), savings: big(r.savings), requests: big(r.requests), payers: big(r.payers) }));
    },

    /** Settled usage per tier in [start, end), full-price payments as tier "none". */
    async usageByTier(start: Date, end: Date): Promise<TierUsage[]> {
      const { rows } = await sql<Text<TierUsage>>`
        SELECT coalesce(discount_tier, 'none') AS tier, count(*)::text AS requests, count(DISTINCT payer)::text AS payers,
               sum(amount_charged)::text AS revenue, sum(savings)::text AS savings
          FROM x402_usage
         WHERE ${SETTLED} AND created_at >= ${start} AND created_at < ${end}
         GROUP BY 1 ORDER BY 1
      `.execute(db);
      return rows.map((r) => ({ tier: r.tier, requests: big(r.requests), payers: big(r.payers), revenue: big(r.revenue), savings: big(r.savings) }));
    },

    /** Runs whose day is in [firstDay, lastDay], newest first, with their landed swap and fund signatures. */
    async runsBetween(firstDay: string, lastDay: string): Promise<RunLine[]> {
      const { rows } = await sql<Text<RunLine>>`
        SELECT r.id::text AS id, to_char(r.run_date, 'YYYY-MM-DD') AS day, r.status, r.failed_from AS "failedFrom", r.error,
               r.revenue_micro_usdc::text AS revenue, r.allocation_micro_usdc::text AS allocation, r.usdc_spent::text AS "usdcSpent",
               r.kamiyo_bought::text AS "kamiyoBought", r.kamiyo_funded::text AS "kamiyoFunded",
               (SELECT b.average_price_micro_usdc::text FROM kamiyo_buybacks b WHERE b.run_id = r.id ORDER BY b.id DESC LIMIT 1) AS "averagePrice",
               (SELECT t.signature FROM pipeline_transactions t WHERE t.run_id = r.id AND t.purpose = 'swap' AND t.status = 'landed' ORDER BY t.id DESC LIMIT 1) AS "swapSignature",
               (SELECT t.signature FROM pipeline_transactions t WHERE t.run_id = r.id AND t.purpose = 'fund' AND t.status = 'landed' ORDER BY t.id DESC LIMIT 1) AS "fundSignature",
               r.updated_at AS "updatedAt"
          FROM pipeline_runs r
         WHERE r.run_date BETWEEN ${firstDay}::date AND ${lastDay}::date
         ORDER BY r.run_date DESC
      `.execute(db);
      return rows.map((r) => ({
        ...r,
        id: big(r.id),
        revenue: bigOrNull(r.revenue),
        allocation: bigOrNull(r.allocation),
        usdcSpent: bigOrNull(r.usdcSpent),
        kamiyoBought: bigOrNull(r.kamiyoBought),
        kamiyoFunded: bigOrNull(r.kamiyoFunded),
        averagePrice: bigOrNull(r.averagePrice),
      }));
    },

    /** Open stake accounts of the pool per discount tier: stakers, staked and effective stake. */
    async stakeByTier(pool: string): Promise<StakeTierTotals[]> {
      const { rows } = await sql<Text<StakeTierTotals>>`
        SELECT discount_tier AS tier, count(DISTINCT owner)::text AS stakers,
               coalesce(sum(staked_amount), 0)::text AS staked, coalesce(sum(effective_stake), 0)::text AS effective
          FROM stakes
         WHERE pool = ${pool} AND NOT closed
         GROUP BY discount_tier ORDER BY discount_tier
      `.execute(db);
      return rows.map((r) => ({ tier: r.tier, stakers: big(r.stakers), staked: big(r.staked), effective: big(r.effective) }));
    },

    /** Payments reserved but not (yet) recorded as settled, and the oldest one's age anchor. */
    async unsettledReservations(): Promise<{ count: bigint; oldest: Date | null }> {
      const { rows } = await sql<{ count: string; oldest: Date | null }>`
        SELECT count(*)::text AS count, min(created_at) AS oldest FROM x402_usage WHERE NOT ${SETTLED}
      `.execute(db);
      return { count: big(rows[0]!.count), oldest: rows[0]!.oldest };
    },

    /** The pipeline's health figures: last success and what open runs still need. */
    async pipelineHealth(): Promise<PipelineHealth> {
      const last = await sql<{ day: string; at: Date }>`
        SELECT to_char(run_date, 'YYYY-MM-DD') AS day, updated_at AS at FROM pipeline_runs
         WHERE status IN ('done', 'skipped') ORDER BY run_date DESC LIMIT 1
      `.execute(db);
      const open = await sql<{ spend: string; fund: string }>`
        SELECT coalesce(sum(allocation_micro_usdc) FILTER (WHERE coalesce(failed_from, status) IN ('allocated', 'swap_signed')), 0)::text AS spend,
               coalesce(sum(kamiyo_bought) FILTER (WHERE coalesce(failed_from, status) IN ('swapped', 'fund_signed')), 0)::text AS fund
          FROM pipeline_runs
      `.execute(db);
      const windows = await db.selectFrom("pipeline_runs").select(["window_start as start", "window_end as end"]).where("status", "=", "scheduled").execute();
      return {
        lastSuccess: last.rows[0] ?? null,
        openUsdcToSpend: big(open.rows[0]!.spend),
        openKamiyoToFund: big(open.rows[0]!.fund),
        unallocatedWindows: windows,
      };
    },
  };
}

export type OpsRepository = ReturnType<typeof createOpsRepository>;
