import { describe, expect, it } from "vitest";
import { applyDiscount } from "../../src/domain/pricing.ts";

describe("applyDiscount (micro-USDC)", () => {
  it.each([
    [1000, 90_000n, 10_000n],
    [2000, 80_000n, 20_000n],
    [3000, 70_000n, 30_000n],
  ])("0.10 USDC at %i bps", (bps, price, savings) => {
    expect(applyDiscount(100_000n, bps)).toEqual({ price, original: 100_000n, savings, discountBps: bps });
  });

  it("charges full price without a discount", () => {
    expect(applyDiscount(100_000n, 0)).toEqual({ price: 100_000n, original: 100_000n, savings: 0n, discountBps: 0 });
  });

  it("floors the reduction, so rounding favours the protocol", () => {
    expect(applyDiscount(1n, 3000)).toMatchObject({ price: 1n, savings: 0n });
    expect(applyDiscount(33n, 1000)).toMatchObject({ price: 30n, savings: 3n });
    expect(applyDiscount(9n, 1000)).toMatchObject({ price: 9n, savings: 0n });
    expect(applyDiscount(10n, 1000)).toMatchObject({ price: 9n, savings: 1n });
  });

  it("is exact far above 2^53", () => {
    const big = 2n ** 64n + 7n;
    const { price, savings } = applyDiscount(big, 3000);
    expect(savings).toBe((big * 3000n) / 10_000n);
    expect(price + savings).toBe(big);
  });

  it("a 100 % discount makes it free only when configured so", () => {
    expect(applyDiscount(100_000n, 10_000)).toMatchObject({ price: 0n, savings: 100_000n });
  });

  it.each([
    ["a negative price", -1n, 1000],
    ["negative bps", 100n, -1],
    ["bps over 10000", 100n, 10_001],
    ["fractional bps", 100n, 1000.5],
    ["NaN bps", 100n, Number.NaN],
  ])("refuses %s", (_label, price, bps) => {
    expect(() => applyDiscount(price, bps)).toThrow(RangeError);
  });
});
