/**
 * The program's arithmetic (state.rs `calculate_tier`, `calculate_rewards`, checked u64/i64 ops), in bigint.
 * Pure: no chain, no Anchor.
 */
import type { ProgramTier, StakePoolAccount } from "../../src/solana/accounts.ts";

export const U64_MAX = (1n << 64n) - 1n;
export const U128_MAX = (1n << 128n) - 1n;
export const I64_MIN = -(1n << 63n);
export const I64_MAX = (1n << 63n) - 1n;

const KAMIYO = 1_000_000_000n;
const SECONDS_PER_YEAR = 31_536_000n;
const REWARD_DENOMINATOR = 10_000n * SECONDS_PER_YEAR;

/** `calculate_tier`: thresholds in base units (9 decimals), inclusive. */
export function tierOf(stakedAmount: bigint): ProgramTier {
  if (stakedAmount >= 100_000n * KAMIYO) return "Enterprise";
  if (stakedAmount >= 10_000n * KAMIYO) return "Team";
  if (stakedAmount >= 1_000n * KAMIYO) return "Pro";
  return "Free";
}

/**
 * `calculate_rewards`: floor(amount * bps * secs / (10_000 * 31_536_000)) in u128, then `as u64`.
 * A u128 overflow of the product yields 0 (the program's `unwrap_or(0)`); `as u64` keeps the low 64 bits.
 */
export function calculateRewards(stakedAmount: bigint, apyBps: number, elapsedSeconds: bigint): bigint {
  if (stakedAmount === 0n || apyBps === 0 || elapsedSeconds <= 0n) return 0n;
  const numerator = stakedAmount * BigInt(apyBps) * elapsedSeconds;
  if (numerator > U128_MAX) return 0n;
  return (numerator / REWARD_DENOMINATOR) & U64_MAX;
}

/** `StakePool::get_apy_for_tier`. */
export function apyFor(pool: StakePoolAccount, tier: ProgramTier): number {
  switch (tier) {
    case "Free":
      return pool.apyFree;
    case "Pro":
      return pool.apyPro;
    case "Team":
      return pool.apyTeam;
    case "Enterprise":
      return pool.apyEnterprise;
  }
}

/** u64 `checked_add`: null on overflow. */
export function checkedAddU64(a: bigint, b: bigint): bigint | null {
  const sum = a + b;
  return sum > U64_MAX ? null : sum;
}

/** u64 `checked_sub`: null on underflow. */
export function checkedSubU64(a: bigint, b: bigint): bigint | null {
  return a < b ? null : a - b;
}

/** i64 `checked_add` / `checked_sub` results: null outside the i64 range. */
export function inI64(value: bigint): bigint | null {
  return value < I64_MIN || value > I64_MAX ? null : value;
}
