/**
 * The admin page's figures for a range of UTC days, read from the tables in one go. Every amount is an
 * integer string in base units (micro-USDC, KAMIYO base units); the page formats them without floats.
 */
import type { Kysely } from "kysely";
import { createApyRepository } from "../../src/db/repositories/apy.ts";
import { createOpsRepository } from "../../src/db/repositories/ops.ts";
import { createRevenueLedgerRepository } from "../../src/db/repositories/revenue-ledger.ts";
import { createUsageRepository } from "../../src/db/repositories/usage.ts";
import type { Database } from "../../src/db/schema.ts";
import type { Cluster } from "../../src/config.ts";
import { addUtcDays, utcDayOf, utcDaysBetween, utcDayWindow } from "../../src/domain/utc-day.ts";
import { highestAppliedSlot, readIndexerStatus } from "../indexer-status.ts";
import type { FeedHealthSnapshot } from "../feed-health.ts";

export const DEFAULT_RANGE_DAYS = 30;
export const MAX_RANGE_DAYS = 366;
/** Late rows (settled for a day already allocated) listed on the page; the count and amount cover all. */
export const LATE_ROWS_LISTED = 20;

export interface OverviewDeps {
  db: Kysely<Database>;
  pool: string;
  cluster: Cluster;
  rpcUrl: string;
  feed: () => FeedHealthSnapshot;
  nextRun?: () => Promise<Date | null>;
}

/** The explorer page of a transaction on the configured cluster (a custom RPC URL on localnet). */
export function explorerTxUrl(signature: string, cluster: Cluster, rpcUrl: string): string {
  const base = `https://explorer.solana.com/tx/${signature}`;
  if (cluster === "mainnet") return base;
  if (cluster === "devnet") return `${base}?cluster=devnet`;
  return `${base}?cluster=custom&customUrl=${encodeURIComponent(rpcUrl)}`;
}

/** [from, to] in UTC days: defaults to the last 30 days with today; a reason string when the range is bad. */
export function resolveRange(from: string | undefined, to: string | undefined, now: Date): { from: string; to: string } | string {
  const last = to ?? utcDayOf(now);
  const first = from ?? addUtcDays(last, -(DEFAULT_RANGE_DAYS - 1));
  for (const d of [first, last]) {
    if (utcDayOf(utcDayWindow(d).start) !== d) return `${d} is not a calendar day`;
  }
  if (first > last) return `from ${first} is after to ${last}`;
  if (utcDaysBetween(first, last).length > MAX_RANGE_DAYS) return `the range is longer than ${MAX_RANGE_DAYS} days`;
  return { from: first, to: last };
}

const s = (v: bigint | null | undefined) => (v === null || v === undefined ? null : v.toString());

export async function readOverview(deps: OverviewDeps, range: { from: string; to: string }, now: Date) {
  const ops = createOpsRepository(deps.db);
  const usage = createUsageRepository(deps.db);
  const start = utcDayWindow(range.from).start;
  const end = utcDayWindow(range.to).end;
  const window = { start, end };
  const revenueLedger = createRevenueLedgerRepository(deps.db);
  const [days, tiers, totals, runs, stake, apy, reservations, indexer, nextRun, lateTotals, late, ledgerPasses] = await Promise.all([
    ops.revenueByDay(start, end),
    ops.usageByTier(start, end),
    usage.totals(window),
    ops.runsBetween(range.from, range.to),
    ops.stakeByTier(deps.pool),
    createApyRepository(deps.db).latest(MAX_RANGE_DAYS * 4),
    ops.unsettledReservations(),
    readIndexerStatus(deps.db),
    deps.nextRun ? deps.nextRun().catch(() => null) : Promise.resolve(null),
    revenueLedger.lateRowTotals(),
    revenueLedger.lateRows({ limit: LATE_ROWS_LISTED }),
    revenueLedger.status(),
  ]);
  const byDay = new Map(days.map((d) => [d.day, d]));
  const inRange = apy.filter((a) => a.recorded_at >= start && a.recorded_at < end).reverse();
  const latestApy = apy[0];
  const snap = indexer?.snapshot;
  const chainSlot = snap?.chainSlot == null ? null : BigInt(snap.chainSlot);
  const applied = snap ? highestAppliedSlot(snap) : null;
  return {
    range: { ...range, start: start.toISOString(), end: end.toISOString(), generatedAt: now.toISOString() },
    units: { usdc: "micro-USDC (6 decimals)", kamiyo: "KAMIYO base units (9 decimals)" },
    totals: {
      revenue: s(totals.revenue),
      gross: s(totals.gross),
      savings: s(totals.discounts),
      requests: s(totals.requests),
      payers: s(totals.uniquePayers),
    },
    revenueByDay: utcDaysBetween(range.from, range.to).map((day) => {
      const d = byDay.get(day);
      return { day, revenue: s(d?.revenue ?? 0n), gross: s(d?.gross ?? 0n), savings: s(d?.savings ?? 0n), requests: s(d?.requests ?? 0n), payers: s(d?.payers ?? 0n) };
    }),
    byTier: tiers.map((t) => ({ tier: t.tier, requests: s(t.requests), payers: s(t.payers), revenue: s(t.revenue), savings: s(t.savings) })),
    runs: runs.map((r) => ({
      day: r.day,
      status: r.status,
      currentStep: r.status === "failed" ? `halted at ${r.failedFrom ?? "?"}` : r.status,
      error: r.error,
      revenue: s(r.revenue),
      allocation: s(r.allocation),
      usdcSpent: s(r.usdcSpent),
      kamiyoBought: s(r.kamiyoBought),
      averagePriceMicroUsdc: s(r.averagePrice),
      kamiyoFunded: s(r.kamiyoFunded),
      swap: r.swapSignature ? { signature: r.swapSignature, url: explorerTxUrl(r.swapSignature, deps.cluster, deps.rpcUrl) } : null,
      fund: r.fundSignature ? { signature: r.fundSignature, url: explorerTxUrl(r.fundSignature, deps.cluster, deps.rpcUrl) } : null,
      updatedAt: r.updatedAt.toISOString(),
    })),
    vault: { balance: s(latestApy?.pool_balance), asOf: latestApy?.recorded_at.toISOString() ?? null },
    apy: inRange.map((a) => ({ recordedAt: a.recorded_at.toISOString(), apyBps: s(a.calculated_apy_bps), totalStaked: s(a.total_staked), poolBalance: s(a.pool_balance) })),
    stake: stake.map((t) => ({ tier: t.tier, stakers: s(t.stakers), staked: s(t.staked), effective: s(t.effective) })),
    indexer: snap
      ? {
          lagSlots: chainSlot !== null && applied !== null ? s(chainSlot > applied ? chainSlot - applied : 0n) : null,
          chainSlot: snap.chainSlot,
          lastBackfillAt: snap.backfillCompletedAt,
          backfillSlot: snap.backfillSlot,
          reconciliationDrift: snap.reconciliationDrift,
          lastReconciliationAt: snap.lastReconciliationAt,
          reconnects: snap.reconnects,
          statusUpdatedAt: snap.updatedAt,
        }
      : null,
    ledger: {
      unsettledReservations: s(reservations.count),
      oldestUnsettledAt: reservations.oldest?.toISOString() ?? null,
      // Settled after their day was allocated: not in that day's allocation (any range, newest first).
      lateRows: s(lateTotals.count),
      lateAmount: s(lateTotals.amount),
      late: late.map((r) => ({ day: r.runDate, amount: s(r.amount), signature: r.signature, url: explorerTxUrl(r.signature, deps.cluster, deps.rpcUrl), detectedAt: r.detectedAt.toISOString(), alerted: r.alertedAt !== null })),
      // The ledger reconciler (jobs/ledger): its last successful pass, and the newest one when that one is running or failed.
      reconciliation: {
        lastPass: ledgerPasses.lastPass
          ? {
              finishedAt: ledgerPasses.lastPass.finishedAt.toISOString(),
              throughSlot: s(ledgerPasses.lastPass.throughSlot),
              transactionsRead: ledgerPasses.lastPass.transactionsRead,
              repairs: {
                completed: ledgerPasses.lastPass.completed,
                inserted: ledgerPasses.lastPass.inserted,
                released: ledgerPasses.lastPass.released,
                unexplained: ledgerPasses.lastPass.unexplained,
              },
            }
          : null,
        latest:
          ledgerPasses.latest && ledgerPasses.latest.id !== ledgerPasses.lastPass?.id
            ? {
                startedAt: ledgerPasses.latest.startedAt.toISOString(),
                finishedAt: ledgerPasses.latest.finishedAt?.toISOString() ?? null,
                state: ledgerPasses.latest.finishedAt === null ? "running" : "failed",
                error: ledgerPasses.latest.error,
              }
            : null,
      },
    },
    webhooks: deps.feed(),
    nextRun: nextRun?.toISOString() ?? null,
  };
}

export type Overview = Awaited<ReturnType<typeof readOverview>>;
