/**
 * What a paid route costs one wallet. Pure: the tier comes from the caller (the tier cache), and `null`
 * means the stake data cannot be trusted right now, which always prices at the full price.
 */
import { applyDiscount } from "../../src/domain/pricing.ts";
import type { TierMatch } from "../../src/domain/tiers.ts";

export interface PriceDecision {
  /** What is charged, micro-USDC. */
  amount: bigint;
  /** The route's full price, micro-USDC. */
  original: bigint;
  /** original - amount, micro-USDC. */
  savings: bigint;
  /** 0 when no discount applies. */
  discountBps: number;
  /** The tier whose discount was applied; null when none was. */
  tier: string | null;
}

export function fullPrice(original: bigint): PriceDecision {
  return { amount: original, original, savings: 0n, discountBps: 0, tier: null };
}

/**
 * The discounted price for a wallet in `tier`, or the full price when the tier earns nothing or the
 * reduction floors to zero (a discount that saves nothing is not recorded as one).
 */
export function priceForTier(original: bigint, tier: TierMatch | null): PriceDecision {
  if (tier === null || tier.discountBps === 0) return fullPrice(original);
  const d = applyDiscount(original, tier.discountBps);
  if (d.savings === 0n) return fullPrice(original);
  return { amount: d.price, original, savings: d.savings, discountBps: d.discountBps, tier: tier.name };
}

/**
 * The price of a paid request, from what its payer signed: the payer's own discounted price or the full
 * price, nothing else. Null when the signed amount is neither (the request must then fail to match).
 */
export function priceForSignedAmount(original: bigint, signed: bigint, payerTier: TierMatch | null): PriceDecision | null {
  const own = priceForTier(original, payerTier);
  if (signed === own.amount) return own;
  if (signed === original) return fullPrice(original);
  return null;
}
