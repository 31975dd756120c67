/** `emit!` payloads: the IDL event discriminator followed by the Borsh fields (IDL type layout). */
import BN from "bn.js";
import { PublicKey } from "@solana/web3.js";
import type { ProgramTier } from "../../src/solana/accounts.ts";
import { STAKING_IDL, stakingCoder } from "../../src/solana/program.ts";
import type { ModelContext } from "../types.ts";

const bn = (v: bigint): BN => new BN(v.toString());
const key = (v: string): PublicKey => new PublicKey(v);
const tier = (t: ProgramTier) => ({ [t]: {} });

function emitEvent(ctx: ModelContext, name: string, fields: Record<string, unknown>): void {
  const event = STAKING_IDL.events?.find((e) => e.name === name);
  if (!event) throw new Error(`IDL has no event ${name}`);
  ctx.emit(Buffer.concat([Buffer.from(event.discriminator), stakingCoder.types.encode(name, fields)]));
}

export function emitStake(
  ctx: ModelContext,
  e: { user: string; amount: bigint; totalStaked: bigint; tier: ProgramTier; oldTier: ProgramTier; timestamp: bigint },
): void {
  emitEvent(ctx, "StakeEvent", {
    user: key(e.user),
    amount: bn(e.amount),
    total_staked: bn(e.totalStaked),
    tier: tier(e.tier),
    old_tier: tier(e.oldTier),
    timestamp: bn(e.timestamp),
  });
}

export function emitUnstake(
  ctx: ModelContext,
  e: { user: string; amount: bigint; cooldownEnd: bigint; oldTier: ProgramTier; newTier: ProgramTier; timestamp: bigint },
): void {
  emitEvent(ctx, "UnstakeEvent", {
    user: key(e.user),
    amount: bn(e.amount),
    cooldown_end: bn(e.cooldownEnd),
    old_tier: tier(e.oldTier),
    new_tier: tier(e.newTier),
    timestamp: bn(e.timestamp),
  });
}

export function emitWithdraw(
  ctx: ModelContext,
  e: { user: string; amount: bigint; remainingStaked: bigint; fullyWithdrawn: boolean; timestamp: bigint },
): void {
  emitEvent(ctx, "WithdrawEvent", {
    user: key(e.user),
    amount: bn(e.amount),
    remaining_staked: bn(e.remainingStaked),
    fully_withdrawn: e.fullyWithdrawn,
    timestamp: bn(e.timestamp),
  });
}

export function emitClaimRewards(
  ctx: ModelContext,
  e: { user: string; amount: bigint; totalClaimed: bigint; timestamp: bigint },
): void {
  emitEvent(ctx, "ClaimRewardsEvent", {
    user: key(e.user),
    amount: bn(e.amount),
    total_claimed: bn(e.totalClaimed),
    timestamp: bn(e.timestamp),
  });
}

export function emitPoolUpdate(
  ctx: ModelContext,
  e: {
    admin: string;
    apyFree: number;
    apyPro: number;
    apyTeam: number;
    apyEnterprise: number;
    cooldownPeriod: bigint;
    minStakeAmount: bigint;
    isActive: boolean;
    timestamp: bigint;
  },
): void {
  emitEvent(ctx, "PoolUpdateEvent", {
    admin: key(e.admin),
    apy_free: e.apyFree,
    apy_pro: e.apyPro,
    apy_team: e.apyTeam,
    apy_enterprise: e.apyEnterprise,
    cooldown_period: bn(e.cooldownPeriod),
    min_stake_amount: bn(e.minStakeAmount),
    is_active: e.isActive,
    timestamp: bn(e.timestamp),
  });
}

export function emitFundPool(
  ctx: ModelContext,
  e: { admin: string; amount: bigint; rewardVaultBalance: bigint; timestamp: bigint },
): void {
  emitEvent(ctx, "FundPoolEvent", {
    admin: key(e.admin),
    amount: bn(e.amount),
    reward_vault_balance: bn(e.rewardVaultBalance),
    timestamp: bn(e.timestamp),
  });
}
