/**
 * Quoting a paid route: what an unpaid request is offered and what a paid request is charged. Pure: the
 * tier comes from the caller's stake view (the tier cache), and a null tier means the stake data cannot be
 * trusted right now, which always prices at the full price. The discount belongs to the payer: a wallet
 * hint only changes the quote, a payment is priced by the wallet that signed it.
 */
import { applyDiscount } from "./pricing.ts";
import type { TierMatch } from "./tiers.ts";

/** The request header naming the wallet a client wants to be quoted for before it pays. */
export const WALLET_HINT_HEADER = "x-wallet-address";

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

/** How an unpaid quote came about. */
export type QuoteBasis =
  /** No wallet hint: the full price. */
  | "no_hint"
  /** The hinted wallet's stake, from the stake view. */
  | "wallet_hint"
  /** The hint is not a Solana address: the full price. */
  | "invalid_hint"
  /** Stake data cannot be trusted right now: the full price for everyone. */
  | "stake_data_unavailable";

/** How a quote was priced and for which wallet (null without a usable hint). */
export interface Quote {
  basis: QuoteBasis;
  wallet: string | null;
  note?: string;
}

export interface UnpaidQuote {
  decision: PriceDecision;
  quote: Quote;
}

/**
 * One route's price decisions: the full price and one per tier, each built once and shared by every
 * request (decisions are never mutated), so callers may key on a decision's identity.
 */
export interface RoutePrices {
  readonly full: PriceDecision;
  forTier(tier: TierMatch): PriceDecision;
}

export function createRoutePrices(price: bigint): RoutePrices {
  const full = fullPrice(price);
  const byTier = new Map<string, PriceDecision>();
  return {
    full,
    forTier(tier) {
      let d = byTier.get(tier.name);
      if (!d) byTier.set(tier.name, (d = priceForTier(price, tier)));
      return d;
    },
  };
}

/** What quoting needs to know about wallets, answered from memory. */
export interface StakeView {
  /** Why `text` is not a wallet address, or null when it is one. */
  walletProblem(text: string): string | null;
  /** The wallet's tier (NO_TIER without stake), or null while stake data cannot be trusted. */
  tierOf(wallet: string): TierMatch | null;
}

/** The unpaid quote for a wallet hint: the hinted wallet's discount when stake data can be trusted, else the full price. */
export function quoteUnpaid(prices: RoutePrices, hint: string | undefined, stake: StakeView): UnpaidQuote {
  if (hint === undefined || hint === "") return { decision: prices.full, quote: { basis: "no_hint", wallet: null } };
  const problem = stake.walletProblem(hint);
  if (problem !== null) return { decision: prices.full, quote: { basis: "invalid_hint", wallet: null, note: `${WALLET_HINT_HEADER}: ${problem}` } };
  const tier = stake.tierOf(hint);
  if (tier === null) {
    return { decision: prices.full, quote: { basis: "stake_data_unavailable", wallet: hint, note: "stake data is being reloaded; full price until then" } };
  }
  return { decision: prices.forTier(tier), quote: { basis: "wallet_hint", wallet: hint } };
}
