/** Prices in micro-USDC. Pure. Rounding favours the protocol: the reduction is floored. */
import { BPS_DENOMINATOR } from "./units.ts";

export interface DiscountedPrice {
  /** What the payer is charged, micro-USDC. */
  price: bigint;
  /** The undiscounted price, micro-USDC. */
  original: bigint;
  /** original - price, micro-USDC. */
  savings: bigint;
  discountBps: number;
}

export function applyDiscount(original: bigint, discountBps: number): DiscountedPrice {
  if (original < 0n) throw new RangeError("price must not be negative");
  if (!Number.isInteger(discountBps) || discountBps < 0 || discountBps > 10_000) {
    throw new RangeError("discountBps must be an integer in 0..10000");
  }
  const savings = (original * BigInt(discountBps)) / BPS_DENOMINATOR;
  return { price: original - savings, original, savings, discountBps };
}
