/**
 * The JSON body of a paid route's 402 answer (next to the standard PAYMENT-REQUIRED header): the price, the
 * discount applied for the hinted wallet, and the staking hint with the tier table. Money is exact: micro-USDC
 * integers and the same amounts as USDC decimals, both strings.
 */
import type { PaidRoute } from "../../src/config.ts";
import type { DiscountTier, Priority } from "../../src/domain/tiers.ts";
import { formatUnits, USDC_DECIMALS } from "../../src/domain/units.ts";
import { amountJson, type AmountJson } from "../stake-info.ts";
import { priceForTier, type PriceDecision, type Quote, type QuoteBasis } from "../../src/domain/quote.ts";

export interface UsdcJson {
  /** micro-USDC, integer. */
  amount: string;
  /** The same amount in USDC. */
  usdc: string;
}

export const usdcJson = (micro: bigint): UsdcJson => ({ amount: micro.toString(), usdc: formatUnits(micro, USDC_DECIMALS) });
/** Basis points as a percent string: 1000 -> "10", 1250 -> "12.5". */
export const percentOf = (bps: number): string => formatUnits(BigInt(bps), 2);

export interface DiscountJson {
  tier: string;
  discountBps: number;
  percent: string;
  originalPrice: UsdcJson;
  discountedPrice: UsdcJson;
  savings: UsdcJson;
}

export interface StakingHintJson {
  message: string;
  /** Discounts apply to payments signed by a staking wallet; a wallet hint only quotes. */
  appliesTo: string;
  tiers: Array<{ name: string; minStake: AmountJson; discountBps: number; percent: string; priority: Priority; price: UsdcJson }>;
  stakingUrl: string;
}

/**
 * What an x402 v1 client reads from a 402 body (v1 carried its requirements there): the version, an error
 * it can show, and an empty `accepts`, so it refuses clearly instead of failing on our other fields.
 */
export const V1_REFUSAL =
  "this API speaks x402 v2 only: read the PAYMENT-REQUIRED header and pay with PAYMENT-SIGNATURE (e.g. @x402/fetch 2.x); x402 v1 (X-PAYMENT) payments are not accepted";

export interface QuoteBody {
  x402Version: 2;
  error: string;
  accepts: [];
  paymentRequired: true;
  endpoint: string;
  method: string;
  description: string;
  price: UsdcJson;
  asset: { symbol: "USDC"; mint: string; decimals: number };
  network: string;
  payTo: string;
  quote: { basis: QuoteBasis; wallet: string | null; tier: string | null; note?: string };
  discount: DiscountJson | null;
  stakingHint: StakingHintJson;
}

export function discountJson(d: PriceDecision): DiscountJson | null {
  if (d.tier === null) return null;
  return {
    tier: d.tier,
    discountBps: d.discountBps,
    percent: percentOf(d.discountBps),
    originalPrice: usdcJson(d.original),
    discountedPrice: usdcJson(d.amount),
    savings: usdcJson(d.savings),
  };
}

/** The parts of the body that depend only on the route: built once per route. */
export function stakingHintJson(route: PaidRoute, tiers: readonly DiscountTier[], stakingUrl: string): StakingHintJson {
  return {
    message: "Stake KAMIYO to pay less for this API",
    appliesTo: "payments signed by the staking wallet itself; an x-wallet-address hint only changes the quote",
    tiers: tiers.map((t) => ({
      name: t.name,
      minStake: amountJson(t.minStake),
      discountBps: t.discountBps,
      percent: percentOf(t.discountBps),
      priority: t.priority,
      price: usdcJson(priceForTier(route.price, { name: t.name, discountBps: t.discountBps, priority: t.priority }).amount),
    })),
    stakingUrl,
  };
}

export interface QuoteContext {
  route: PaidRoute;
  usdcMint: string;
  network: string;
  payTo: string;
  /** The staking hint as of now: its tier table is the one in effect, which can change while running. */
  hint: () => StakingHintJson;
}

/**
 * Builds 402 bodies for one route. A route has a handful of possible prices (full, one per tier), so their
 * money fields are computed once per decision and shared between bodies (they are never mutated).
 */
export function createQuoteBodies(c: QuoteContext): (decision: PriceDecision, quote: Quote) => QuoteBody {
  // Keyed by the decision object: the paywall reuses one decision per route and tier.
  const money = new WeakMap<PriceDecision, { price: UsdcJson; discount: DiscountJson | null }>();
  const asset = { symbol: "USDC" as const, mint: c.usdcMint, decimals: USDC_DECIMALS };
  return (decision, quote) => {
    let m = money.get(decision);
    if (!m) {
      m = { price: usdcJson(decision.amount), discount: discountJson(decision) };
      money.set(decision, m);
    }
    return {
      x402Version: 2,
      error: V1_REFUSAL,
      accepts: [],
      paymentRequired: true,
      endpoint: c.route.path,
      method: c.route.method,
      description: c.route.description,
      price: m.price,
      asset,
      network: c.network,
      payTo: c.payTo,
      quote: { ...quote, tier: decision.tier },
      discount: m.discount,
      stakingHint: c.hint(),
    };
  };
}
