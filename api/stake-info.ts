/**
 * A wallet's stake and discount as the `stakes` table has it. No chain read: the indexer keeps the table
 * equal to the chain. Tier, discount and priority come from the configured tier table applied to the
 * stored effective stake, so this answer always agrees with /x402/discount-tiers.
 */
import type { Kysely } from "kysely";
import { PRIORITY_BENEFITS, tierFor, type DiscountTier, type Priority } from "../src/domain/tiers.ts";
import { formatUnits, KAMIYO_DECIMALS } from "../src/domain/units.ts";
import { createStakesRepository } from "../src/db/repositories/stakes.ts";
import type { Database } from "../src/db/schema.ts";
import { highestAppliedSlot, readIndexerStatus } from "./indexer-status.ts";

/** An amount of KAMIYO: base units and the same amount in whole tokens, both decimal strings. */
export interface AmountJson {
  amount: string;
  ui: string;
}

export interface StakeInfoJson {
  wallet: string;
  pool: string;
  /** The UserStake account address, or null when the wallet has none. */
  stakeAccount: string | null;
  staked: AmountJson;
  /** What earns the discount: staked minus what is in cooldown; 0 for a closed account. */
  effectiveStake: AmountJson;
  cooldown: {
    amount: AmountJson;
    /** Unix seconds as a decimal string, and the same instant in ISO 8601; null when no cooldown runs. */
    endsAtUnix: string | null;
    endsAt: string | null;
  };
  tier: string;
  discountBps: number;
  priority: Priority;
  benefits: readonly string[];
  closed: boolean;
  /**
   * What the answer reflects: for a stored account, the slot at which the indexer read it and when it wrote
   * it; for a wallet without one, the highest slot the indexer has applied (null before any).
   */
  asOf: { slot: string | null; time: string | null; commitment: string | null };
}

export function amountJson(amount: bigint): AmountJson {
  return { amount: amount.toString(), ui: formatUnits(amount, KAMIYO_DECIMALS) };
}

/** Unix seconds -> ISO time, or null when out of the Date range. */
function isoFromUnix(seconds: bigint): string | null {
  const ms = seconds * 1000n;
  if (ms > 8_640_000_000_000_000n || ms < -8_640_000_000_000_000n) return null;
  return new Date(Number(ms)).toISOString();
}

export async function readStakeInfo(
  db: Kysely<Database>,
  wallet: string,
  pool: string,
  tiers: readonly DiscountTier[],
): Promise<StakeInfoJson> {
  const row = await createStakesRepository(db).findByOwner(wallet, pool);

  if (!row) {
    const status = await readIndexerStatus(db);
    const slot = status ? highestAppliedSlot(status.snapshot) : null;
    return build(wallet, pool, tiers, {
      stakeAccount: null,
      staked: 0n,
      effective: 0n,
      cooldownAmount: 0n,
      cooldownEnd: null,
      closed: false,
      asOf: { slot: slot?.toString() ?? null, time: status?.writtenAt.toISOString() ?? null, commitment: null },
    });
  }
  // The repository's row already holds nothing once the account is closed (heldStake).
  return build(wallet, pool, tiers, {
    stakeAccount: row.address,
    staked: row.stakedAmount,
    effective: row.effectiveStake,
    cooldownAmount: row.cooldownAmount,
    cooldownEnd: row.cooldownEnd,
    closed: row.closed,
    asOf: { slot: row.slot.toString(), time: row.updatedAt.toISOString(), commitment: row.commitment },
  });
}

interface StakeState {
  stakeAccount: string | null;
  staked: bigint;
  effective: bigint;
  cooldownAmount: bigint;
  cooldownEnd: bigint | null;
  closed: boolean;
  asOf: StakeInfoJson["asOf"];
}

function build(wallet: string, pool: string, tiers: readonly DiscountTier[], s: StakeState): StakeInfoJson {
  const tier = tierFor(s.effective, tiers);
  return {
    wallet,
    pool,
    stakeAccount: s.stakeAccount,
    staked: amountJson(s.staked),
    effectiveStake: amountJson(s.effective),
    cooldown: {
      amount: amountJson(s.cooldownEnd === null ? 0n : s.cooldownAmount),
      endsAtUnix: s.cooldownEnd?.toString() ?? null,
      endsAt: s.cooldownEnd === null ? null : isoFromUnix(s.cooldownEnd),
    },
    tier: tier.name,
    discountBps: tier.discountBps,
    priority: tier.priority,
    benefits: PRIORITY_BENEFITS[tier.priority],
    closed: s.closed,
    asOf: s.asOf,
  };
}

export interface TierJson {
  name: string;
  minStake: AmountJson;
  discountBps: number;
  priority: Priority;
  benefits: readonly string[];
}

/** The configured tier table, ascending, with each priority's benefits. */
export function discountTiersJson(tiers: readonly DiscountTier[]) {
  return {
    decimals: KAMIYO_DECIMALS,
    basis: "effective stake: staked minus the amount in cooldown",
    tiers: tiers.map(
      (t): TierJson => ({
        name: t.name,
        minStake: amountJson(t.minStake),
        discountBps: t.discountBps,
        priority: t.priority,
        benefits: PRIORITY_BENEFITS[t.priority],
      }),
    ),
    benefits: PRIORITY_BENEFITS,
  };
}
