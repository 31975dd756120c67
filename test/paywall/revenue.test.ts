/**
 * The revenue endpoints over the x402_usage ledger: UTC day and month windows (half-open), settled rows only,
 * exact money, admin-only, 400 for bad dates.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { revenueRoutes } from "../../api/revenue/routes.ts";
import { dayWindow, monthWindow } from "../../src/domain/utc-day.ts";
import { ADMIN_KEY, json, startTestApi, type TestApi } from "../api/harness.ts";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";

let api: TestApi;
let schema: FreshSchema;
const auth = { authorization: `Bearer ${ADMIN_KEY}` };
const NOW = new Date("2026-11-24T12:00:00Z");

let n = 0;
const row = (at: string, over: Record<string, unknown> = {}) => {
  n++;
  return {
    payment_key: `key-${n}`,
    payer: "nonstaker",
    endpoint: "/api/premium",
    method: "GET",
    status_code: 200,
    settlement_signature: `sig-${n}`,
    amount_charged: 100_000n,
    original_amount: 100_000n,
    discount_tier: null,
    discount_bps: 0,
    savings: 0n,
    response_time_ms: 12,
    network: "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1",
    asset: "mint",
    pay_to: "payTo",
    created_at: new Date(at),
    ...over,
  };
};
const gold = (payer: string) => ({ payer, amount_charged: 80_000n, discount_tier: "gold", discount_bps: 2000, savings: 20_000n });

beforeAll(async () => {
  schema = await withFreshSchema();
  api = await startTestApi({ schema, plugins: [(app) => app.use(revenueRoutes({ db: schema.db, adminKey: ADMIN_KEY, now: () => NOW }))] });
  await schema.db
    .insertInto("x402_usage")
    .values([
      row("2026-11-23T23:59:59.999Z"), // the day before
      row("2026-11-24T00:00:00.000Z"), // first instant of the day
      row("2026-11-24T08:00:00Z", gold("alice")),
      row("2026-11-24T09:00:00Z", gold("alice")),
      row("2026-11-24T10:00:00Z", { ...gold("bob"), amount_charged: 70_000n, discount_tier: "platinum", discount_bps: 3000, savings: 30_000n }),
      row("2026-11-24T11:00:00Z", { settlement_signature: null }), // a reservation still settling: not revenue
      row("2026-11-30T23:59:59Z", { amount_charged: 1n, original_amount: 1n }),
      row("2026-12-01T00:00:00Z"), // next month
    ])
    .execute();
});
afterAll(async () => {
  await api?.close();
  await schema?.close();
});

describe("GET /x402/revenue/daily", () => {
  it("sums the settled payments of one UTC day, exactly", async () => {
    const res = await fetch(`${api.url}/x402/revenue/daily?date=2026-11-24`, { headers: auth });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      date: "2026-11-24",
      window: { start: "2026-11-24T00:00:00.000Z", end: "2026-11-25T00:00:00.000Z", closed: false },
      revenue: { amount: "330000", usdc: "0.33" },
      grossBeforeDiscounts: { amount: "400000", usdc: "0.4" },
      discountsGiven: { amount: "70000", usdc: "0.07" },
      requests: 4,
      discountedRequests: 3,
      uniqueStakers: 2,
      uniquePayers: 3,
      byTier: [
        { tier: "gold", requests: 2, revenue: { amount: "160000", usdc: "0.16" }, discountsGiven: { amount: "40000", usdc: "0.04" }, payers: 1 },
        { tier: "platinum", requests: 1, revenue: { amount: "70000", usdc: "0.07" }, discountsGiven: { amount: "30000", usdc: "0.03" }, payers: 1 },
      ],
    });
  });

  it("marks a past day closed and answers zeros for a day without payments", async () => {
    const res = await json(await fetch(`${api.url}/x402/revenue/daily?date=2026-11-23`, { headers: auth }));
    expect(res.window.closed).toBe(true);
    expect(res.revenue).toEqual({ amount: "100000", usdc: "0.1" });
    const empty = await json(await fetch(`${api.url}/x402/revenue/daily?date=2020-01-01`, { headers: auth }));
    expect(empty).toMatchObject({ revenue: { amount: "0", usdc: "0" }, requests: 0, uniqueStakers: 0, byTier: [] });
  });

  it("defaults to today (UTC)", async () => {
    const res = await json(await fetch(`${api.url}/x402/revenue/daily`, { headers: auth }));
    expect(res.date).toBe("2026-11-24");
  });

  it("answers 400 for a date that is not YYYY-MM-DD or not on the calendar", async () => {
    for (const bad of ["2026-13-01", "2026-02-30", "24-11-2026", "2026-11-24T00:00", "yesterday"]) {
      const res = await fetch(`${api.url}/x402/revenue/daily?date=${encodeURIComponent(bad)}`, { headers: auth });
      expect(res.status, bad).toBe(400);
      expect((await json(res)).error).toBe("invalid_date");
    }
    const twice = await fetch(`${api.url}/x402/revenue/daily?date=2026-11-24&date=2026-11-25`, { headers: auth });
    expect(twice.status).toBe(400);
  });

  it("requires the admin key", async () => {
    expect((await fetch(`${api.url}/x402/revenue/daily?date=2026-11-24`)).status).toBe(401);
    expect((await fetch(`${api.url}/x402/revenue/daily?date=2026-11-24`, { headers: { authorization: "Bearer wrong-key-0000000000" } })).status).toBe(401);
  });
});

describe("GET /x402/revenue/monthly", () => {
  it("sums the settled payments of one UTC month", async () => {
    const res = await json(await fetch(`${api.url}/x402/revenue/monthly?year=2026&month=11`, { headers: auth }));
    expect(res).toMatchObject({
      year: 2026,
      month: 11,
      window: { start: "2026-11-01T00:00:00.000Z", end: "2026-12-01T00:00:00.000Z", closed: false },
      revenue: { amount: "430001", usdc: "0.430001" },
      discountsGiven: { amount: "70000", usdc: "0.07" },
      requests: 6,
      discountedRequests: 3,
      uniqueStakers: 2,
    });
    const december = await json(await fetch(`${api.url}/x402/revenue/monthly?year=2026&month=12`, { headers: auth }));
    expect(december).toMatchObject({ requests: 1, revenue: { amount: "100000" } });
  });

  it("answers 400 for a missing or bad year or month", async () => {
    for (const q of ["year=2026", "month=11", "year=2026&month=13", "year=2026&month=0", "year=26&month=1", "year=2026&month=1.5"]) {
      const res = await fetch(`${api.url}/x402/revenue/monthly?${q}`, { headers: auth });
      expect(res.status, q).toBe(400);
    }
  });
});

describe("windows", () => {
  it("are half-open UTC intervals", () => {
    const d = dayWindow("2024-02-29");
    expect(d.ok && [d.window.start.toISOString(), d.window.end.toISOString()]).toEqual(["2024-02-29T00:00:00.000Z", "2024-03-01T00:00:00.000Z"]);
    expect(dayWindow("2023-02-29").ok).toBe(false);
    const m = monthWindow("2026", "12");
    expect(m.ok && [m.window.label, m.window.end.toISOString()]).toEqual(["2026-12", "2027-01-01T00:00:00.000Z"]);
  });
});
