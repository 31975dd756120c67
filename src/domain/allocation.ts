/**
 * Revenue pipeline arithmetic. Pure: integers only (bigint amounts, basis points), rounding stated per
 * function and always towards the protocol (floor).
 */
import { BPS_DENOMINATOR, KAMIYO_DECIMALS } from "./units.ts";

const KAMIYO_UNIT = 10n ** BigInt(KAMIYO_DECIMALS);
/** The APY formula annualizes a trailing window of this many days. */
export const APY_WINDOW_DAYS = 30n;
export const DAYS_PER_YEAR = 365n;
export const SECONDS_PER_DAY = 86_400n;

function checkBps(bps: number): bigint {
  if (!Number.isInteger(bps) || bps < 0 || bps > 10_000) throw new RangeError("bps must be an integer in 0..10000");
  return BigInt(bps);
}

/** floor(revenue * bps / 10000), micro-USDC. */
export function allocationOf(revenueMicroUsdc: bigint, allocationBps: number): bigint {
  if (revenueMicroUsdc < 0n) throw new RangeError("revenue must not be negative");
  return (revenueMicroUsdc * checkBps(allocationBps)) / BPS_DENOMINATOR;
}

/** micro-USDC per whole KAMIYO paid in a buyback, floored. Null when nothing was bought. */
export function averagePriceMicroUsdc(usdcSpent: bigint, kamiyoBought: bigint): bigint | null {
  if (usdcSpent < 0n || kamiyoBought < 0n) throw new RangeError("amounts must not be negative");
  return kamiyoBought === 0n ? null : (usdcSpent * KAMIYO_UNIT) / kamiyoBought;
}

export interface ApyInputs {
  /** x402 revenue over the trailing APY_WINDOW_DAYS, micro-USDC. */
  windowRevenueMicroUsdc: bigint;
  allocationBps: number;
  /** The latest buyback's execution: USDC spent for KAMIYO bought (the price, kept as an exact ratio). */
  priceUsdcSpent: bigint;
  priceKamiyoBought: bigint;
  /** StakePool.total_staked, KAMIYO base units. */
  totalStaked: bigint;
}

export interface ApyFigures {
  /** KAMIYO base units the window's allocation buys at the price, floored. */
  windowRewardKamiyo: bigint;
  /** windowRewardKamiyo spread over the window's seconds, floored. */
  rewardRatePerSecond: bigint;
  /** Annualized reward / total staked in basis points, floored. Null when nothing is staked or no price is known. */
  apyBps: bigint | null;
}

/**
 * The seed's revenue-backed APY: the share of revenue allocated to stakers, converted to KAMIYO at the
 * latest buyback price, annualized (x 365 / 30) and divided by the total staked. Computed as one fraction
 * and floored once:
 *   apy_bps = floor(revenue * bps * kamiyoBought * 365 / (usdcSpent * 30 * totalStaked))
 */
export function impliedApy(i: ApyInputs): ApyFigures {
  const bps = checkBps(i.allocationBps);
  if (i.windowRevenueMicroUsdc < 0n || i.priceUsdcSpent < 0n || i.priceKamiyoBought < 0n || i.totalStaked < 0n) {
    throw new RangeError("amounts must not be negative");
  }
  if (i.priceUsdcSpent === 0n || i.priceKamiyoBought === 0n) {
    return { windowRewardKamiyo: 0n, rewardRatePerSecond: 0n, apyBps: null };
  }
  const rewardNumerator = i.windowRevenueMicroUsdc * bps * i.priceKamiyoBought;
  const rewardDenominator = BPS_DENOMINATOR * i.priceUsdcSpent;
  const windowRewardKamiyo = rewardNumerator / rewardDenominator;
  const rewardRatePerSecond = rewardNumerator / (rewardDenominator * APY_WINDOW_DAYS * SECONDS_PER_DAY);
  const apyBps =
    i.totalStaked === 0n
      ? null
      : (i.windowRevenueMicroUsdc * bps * i.priceKamiyoBought * DAYS_PER_YEAR) /
        (i.priceUsdcSpent * APY_WINDOW_DAYS * i.totalStaked);
  return { windowRewardKamiyo, rewardRatePerSecond, apyBps };
}

/**
 * Price impact as Jupiter reports it (`priceImpactPct`, a decimal string read as a fraction: "0.0125" is
 * 1.25 %) in basis points, rounded up so a bound is never passed by rounding. Parsed without floats.
 */
export function priceImpactBps(priceImpactPct: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(priceImpactPct.trim());
  if (!m) throw new RangeError(`price impact "${priceImpactPct}" is not a decimal number`);
  const fraction = m[3] ?? "";
  const scale = 10n ** BigInt(fraction.length);
  const magnitude = BigInt(m[2]!) * scale + BigInt(fraction || "0");
  // Impact is a loss; a negative figure (a better-than-mid fill) is no impact at all.
  if (m[1] === "-") return 0n;
  return (magnitude * BPS_DENOMINATOR + scale - 1n) / scale;
}

/** The least output a quote may promise for its slippage: floor(out * (10000 - slippageBps) / 10000). */
export function minimumOut(outAmount: bigint, slippageBps: number): bigint {
  return (outAmount * (BPS_DENOMINATOR - checkBps(slippageBps))) / BPS_DENOMINATOR;
}
