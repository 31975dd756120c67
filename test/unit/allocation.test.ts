import { describe, expect, it } from "vitest";
import { allocationOf, averagePriceMicroUsdc, impliedApy, minimumOut, priceImpactBps } from "../../src/domain/allocation.ts";
import { addUtcDays, lastClosedUtcDay, parseUtcDay, utcDayWindow, utcDaysBetween } from "../../src/domain/utc-day.ts";
import { checkQuote } from "../../jobs/jupiter.ts";
import { PipelineHalt, RetryableStepError } from "../../jobs/errors.ts";
import type { QuoteResponse } from "@jup-ag/api";

describe("allocation", () => {
  it("floors revenue x bps / 10000 to whole micro-USDC", () => {
    expect(allocationOf(10_000_000_000n, 3000)).toBe(3_000_000_000n); // the seed's 10000 USDC -> 3000
    expect(allocationOf(290_001n, 3000)).toBe(87_000n); // 87000.3 floored
    expect(allocationOf(3n, 3000)).toBe(0n);
    expect(allocationOf(0n, 3000)).toBe(0n);
    expect(allocationOf(18_446_744_073_709_551_615n, 10_000)).toBe(18_446_744_073_709_551_615n);
    expect(() => allocationOf(-1n, 3000)).toThrow(RangeError);
    expect(() => allocationOf(1n, 10_001)).toThrow(RangeError);
    expect(() => allocationOf(1n, 0.5)).toThrow(RangeError);
  });
});

describe("UTC days", () => {
  it("are half-open windows of exactly one day", () => {
    const w = utcDayWindow("2026-03-29"); // a DST change in Europe: irrelevant in UTC
    expect(w.start.toISOString()).toBe("2026-03-29T00:00:00.000Z");
    expect(w.end.toISOString()).toBe("2026-03-30T00:00:00.000Z");
  });
  it("validates calendar dates", () => {
    expect(parseUtcDay("2024-02-29")).toBe("2024-02-29");
    expect(() => parseUtcDay("2025-02-29")).toThrow(RangeError);
    expect(() => parseUtcDay("2025-1-01")).toThrow(RangeError);
  });
  it("steps, ranges and finds the last closed day", () => {
    expect(addUtcDays("2026-12-31", 1)).toBe("2027-01-01");
    expect(utcDaysBetween("2026-02-27", "2026-03-02")).toEqual(["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"]);
    expect(utcDaysBetween("2026-03-02", "2026-03-01")).toEqual([]);
    expect(lastClosedUtcDay(new Date("2026-11-25T00:00:00.000Z"))).toBe("2026-11-24");
    expect(lastClosedUtcDay(new Date("2026-11-24T23:59:59.999Z"))).toBe("2026-11-23");
  });
});

describe("prices and APY", () => {
  it("prices a buyback in micro-USDC per whole KAMIYO, floored", () => {
    expect(averagePriceMicroUsdc(300_000n, 15_000_000_000n)).toBe(20_000n); // 0.30 USDC for 15 KAMIYO
    expect(averagePriceMicroUsdc(1n, 3_000_000_000n)).toBe(0n); // 0.33 floored
    expect(averagePriceMicroUsdc(1n, 0n)).toBeNull();
  });

  it("annualizes the window's allocation at the buyback price over total staked, floored once", () => {
    // 30 days of 1000 USDC/day = 30000 USDC; 30 % = 9000 USDC; at 0.02 USDC/KAMIYO = 450000 KAMIYO a month;
    // x 365/30 = 5475000 KAMIYO a year over 10M staked = 54.75 % = 5475 bps.
    const f = impliedApy({
      windowRevenueMicroUsdc: 30_000_000_000n,
      allocationBps: 3000,
      priceUsdcSpent: 20_000n,
      priceKamiyoBought: 1_000_000_000n,
      totalStaked: 10_000_000n * 10n ** 9n,
    });
    expect(f.apyBps).toBe(5475n);
    expect(f.windowRewardKamiyo).toBe(450_000n * 10n ** 9n);
    expect(f.rewardRatePerSecond).toBe((450_000n * 10n ** 9n) / (30n * 86_400n));
    // One floor at the end, not one per step: half a micro-USDC allocated still counts (floored first it would be 0).
    expect(impliedApy({ windowRevenueMicroUsdc: 1n, allocationBps: 5000, priceUsdcSpent: 1n, priceKamiyoBought: 10n ** 9n, totalStaked: 10n ** 9n }).apyBps).toBe(60_833n);
  });

  it("has no APY without stake or without a price", () => {
    const base = { windowRevenueMicroUsdc: 1_000n, allocationBps: 3000, priceUsdcSpent: 1n, priceKamiyoBought: 1n, totalStaked: 0n };
    expect(impliedApy(base).apyBps).toBeNull();
    expect(impliedApy({ ...base, totalStaked: 5n, priceUsdcSpent: 0n })).toEqual({ windowRewardKamiyo: 0n, rewardRatePerSecond: 0n, apyBps: null });
  });

  it("reads Jupiter's price impact as a fraction, rounded up to whole bps, without floats", () => {
    expect(priceImpactBps("0")).toBe(0n);
    expect(priceImpactBps("0.01")).toBe(100n);
    expect(priceImpactBps("0.0100001")).toBe(101n);
    expect(priceImpactBps("-0.002")).toBe(0n);
    expect(priceImpactBps("1")).toBe(10_000n);
    expect(() => priceImpactBps("1e-5")).toThrow(RangeError);
  });

  it("bounds the output a quote may accept", () => {
    expect(minimumOut(1_000_000n, 50)).toBe(995_000n);
    expect(minimumOut(999n, 50)).toBe(994n);
  });
});

describe("quote checks", () => {
  const quote = (over: Partial<QuoteResponse> = {}): QuoteResponse => ({
    inputMint: "USDC",
    outputMint: "KAMIYO",
    inAmount: "300000",
    outAmount: "15000000000000",
    otherAmountThreshold: "14925000000000",
    swapMode: "ExactIn",
    slippageBps: 50,
    priceImpactPct: "0.001",
    routePlan: [],
    ...over,
  });
  const bounds = { inputMint: "USDC", outputMint: "KAMIYO", amount: 300_000n, slippageBps: 50, maxPriceImpactBps: 100 };

  it("accepts a quote within the bounds", () => {
    expect(checkQuote(quote(), bounds)).toMatchObject({ inAmount: 300_000n, outAmount: 15_000_000_000_000n, minOut: 14_925_000_000_000n, impactBps: 10n });
  });
  it("refuses quotes that do not match or exceed the bounds", () => {
    expect(() => checkQuote(quote({ outputMint: "OTHER" }), bounds)).toThrow(PipelineHalt);
    expect(() => checkQuote(quote({ inAmount: "300001" }), bounds)).toThrow(PipelineHalt);
    expect(() => checkQuote(quote({ slippageBps: 51 }), bounds)).toThrow(PipelineHalt);
    expect(() => checkQuote(quote({ otherAmountThreshold: "14924999999999" }), bounds)).toThrow(PipelineHalt);
    expect(() => checkQuote(quote({ outAmount: "1.5" }), bounds)).toThrow(PipelineHalt);
  });
  it("retries when the price impact is too high now", () => {
    expect(() => checkQuote(quote({ priceImpactPct: "0.0101" }), bounds)).toThrow(RetryableStepError);
  });
});
