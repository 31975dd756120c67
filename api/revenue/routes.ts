/**
 * GET /x402/revenue/daily?date=YYYY-MM-DD and GET /x402/revenue/monthly?year=YYYY&month=M: x402 revenue,
 * discounts given, requests, unique stakers and discounted requests over a UTC day or month. Money is exact:
 * micro-USDC integers plus the same amounts as USDC decimals, both strings. Admin-only when a key is given.
 */
import { Router, type RequestHandler } from "express";
import type { Kysely } from "kysely";
import type { Database } from "../../src/db/schema.ts";
import { adminAuth } from "../admin-auth.ts";
import { HttpError } from "../errors.ts";
import { RevenueDailyQuery, RevenueMonthlyQuery } from "../openapi/schemas.ts";
import { validate } from "../openapi/validate.ts";
import { usdcJson, type UsdcJson } from "../paywall/quote-body.ts";
import { revenueTotals, type RevenueTotals } from "./queries.ts";
import { dayWindow, monthWindow, utcToday, type UtcWindow, type WindowResult } from "../../src/domain/utc-day.ts";

export interface RevenueRoutesDeps {
  db: Kysely<Database>;
  /** When set, both routes require this admin key. */
  adminKey?: string;
  now?: () => Date;
}

export interface RevenueJson {
  window: { start: string; end: string; closed: boolean };
  revenue: UsdcJson;
  grossBeforeDiscounts: UsdcJson;
  discountsGiven: UsdcJson;
  requests: number;
  discountedRequests: number;
  uniqueStakers: number;
  uniquePayers: number;
  byTier: Array<{ tier: string; requests: number; revenue: UsdcJson; discountsGiven: UsdcJson; payers: number }>;
}

function revenueJson(w: UtcWindow, t: RevenueTotals, now: Date): RevenueJson {
  return {
    window: { start: w.start.toISOString(), end: w.end.toISOString(), closed: w.end.getTime() <= now.getTime() },
    revenue: usdcJson(t.revenue),
    grossBeforeDiscounts: usdcJson(t.gross),
    discountsGiven: usdcJson(t.discounts),
    requests: t.requests,
    discountedRequests: t.discountedRequests,
    uniqueStakers: t.uniqueStakers,
    uniquePayers: t.uniquePayers,
    byTier: t.byTier.map((b) => ({ tier: b.tier, requests: b.requests, revenue: usdcJson(b.revenue), discountsGiven: usdcJson(b.discounts), payers: b.payers })),
  };
}


function windowOrThrow(r: WindowResult): UtcWindow {
  if (!r.ok) throw new HttpError("invalid_input", "invalid_date", r.reason);
  return r.window;
}

export function revenueRoutes(deps: RevenueRoutesDeps): Router {
  const router = Router();
  const now = deps.now ?? (() => new Date());
  const guard: RequestHandler[] = deps.adminKey ? [adminAuth({ key: deps.adminKey })] : [];

  router.get("/x402/revenue/daily", ...guard, async (req, res) => {
    const at = now();
    const q = validate(RevenueDailyQuery, req.query, "invalid_date");
    const w = windowOrThrow(dayWindow(q.date ?? utcToday(at)));
    const totals = await revenueTotals(deps.db, w);
    res.set("Cache-Control", "no-store").json({ date: w.label, ...revenueJson(w, totals, at) });
  });

  router.get("/x402/revenue/monthly", ...guard, async (req, res) => {
    const at = now();
    const q = validate(RevenueMonthlyQuery, req.query, "invalid_query");
    const w = windowOrThrow(monthWindow(q.year, q.month));
    const totals = await revenueTotals(deps.db, w);
    res.set("Cache-Control", "no-store").json({
      year: w.start.getUTCFullYear(),
      month: w.start.getUTCMonth() + 1,
      ...revenueJson(w, totals, at),
    });
  });
  return router;
}
