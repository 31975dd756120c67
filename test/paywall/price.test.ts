/** Pricing a paid route for one payer: pure. */
import { describe, expect, it } from "vitest";
import { fullPrice, priceForSignedAmount, priceForTier } from "../../src/domain/quote.ts";
import { percentOf, usdcJson } from "../../api/paywall/quote-body.ts";
import { NO_TIER } from "../../src/domain/tiers.ts";

const gold = { name: "gold", discountBps: 2000, priority: "priority" as const };
const silver = { name: "silver", discountBps: 1000, priority: "priority" as const };

describe("priceForTier", () => {
  it("floors the reduction, so the payer never pays less than the exact discount", () => {
    expect(priceForTier(100_000n, gold)).toEqual({ amount: 80_000n, original: 100_000n, savings: 20_000n, discountBps: 2000, tier: "gold" });
    // 10% of 99_999 is 9_999.9: the reduction is 9_999, the price 90_000.
    expect(priceForTier(99_999n, silver)).toMatchObject({ amount: 90_000n, savings: 9_999n });
  });

  it("is the full price without a tier, with NO_TIER, or when the reduction floors to nothing", () => {
    expect(priceForTier(100_000n, null)).toEqual(fullPrice(100_000n));
    expect(priceForTier(100_000n, NO_TIER)).toEqual(fullPrice(100_000n));
    expect(priceForTier(9n, silver)).toEqual(fullPrice(9n));
  });
});

describe("priceForSignedAmount", () => {
  it("accepts the payer's own discounted price or the full price, nothing else", () => {
    expect(priceForSignedAmount(100_000n, 80_000n, gold)).toMatchObject({ amount: 80_000n, tier: "gold" });
    expect(priceForSignedAmount(100_000n, 100_000n, gold)).toMatchObject({ amount: 100_000n, tier: null, savings: 0n });
    expect(priceForSignedAmount(100_000n, 90_000n, gold)).toBeNull();
    expect(priceForSignedAmount(100_000n, 70_000n, gold)).toBeNull();
    expect(priceForSignedAmount(100_000n, 100_001n, gold)).toBeNull();
  });

  it("accepts only the full price when the payer has no tier or stake data is untrusted", () => {
    expect(priceForSignedAmount(100_000n, 80_000n, NO_TIER)).toBeNull();
    expect(priceForSignedAmount(100_000n, 80_000n, null)).toBeNull();
    expect(priceForSignedAmount(100_000n, 100_000n, null)).toEqual(fullPrice(100_000n));
  });
});

describe("money in JSON", () => {
  it("is exact decimal strings", () => {
    expect(usdcJson(80_000n)).toEqual({ amount: "80000", usdc: "0.08" });
    expect(usdcJson(12_345_678_901_234_567_890n)).toEqual({ amount: "12345678901234567890", usdc: "12345678901234.56789" });
    expect(percentOf(1250)).toBe("12.5");
    expect(percentOf(3000)).toBe("30");
  });
});
