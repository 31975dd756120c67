/** Typed views of the staking program's accounts, decoded by Anchor's coder. All amounts are bigint. */
import BN from "bn.js";
import { PublicKey } from "@solana/web3.js";
import {
  accountsCoder,
  stakingCoder,
  STAKE_POOL_DISCRIMINATOR,
  STAKE_POOL_SIZE,
  USER_STAKE_DISCRIMINATOR,
  USER_STAKE_SIZE,
} from "./program.ts";

export type ProgramTier = "Free" | "Pro" | "Team" | "Enterprise";
const TIERS: readonly ProgramTier[] = ["Free", "Pro", "Team", "Enterprise"];

export interface UserStakeAccount {
  owner: string;
  pool: string;
  stakedAmount: bigint;
  totalRewardsEarned: bigint;
  rewardsClaimed: bigint;
  stakeTimestamp: bigint;
  lastClaimTimestamp: bigint;
  tier: ProgramTier;
  rewardDebt: bigint;
  cooldownEnd: bigint | null;
  cooldownAmount: bigint;
  bump: number;
}

export interface StakePoolAccount {
  admin: string;
  mint: string;
  stakeVault: string;
  rewardVault: string;
  totalStaked: bigint;
  totalStakers: bigint;
  apyFree: number;
  apyPro: number;
  apyTeam: number;
  apyEnterprise: number;
  cooldownPeriod: bigint;
  minStakeAmount: bigint;
  createdAt: bigint;
  lastUpdateTimestamp: bigint;
  rewardPerTokenStored: bigint;
  isActive: boolean;
  bump: number;
  stakeVaultBump: number;
  rewardVaultBump: number;
}

/** The bytes are not an account of the expected type. Retrying does not help. */
export class AccountDecodeError extends Error {
  override name = "AccountDecodeError";
}

const big = (v: unknown): bigint => BigInt((v as BN).toString());
const bn = (v: bigint): BN => new BN(v.toString());
const key = (v: unknown): string => (v as PublicKey).toBase58();

function tierOf(v: unknown): ProgramTier {
  const name = Object.keys(v as object)[0] ?? "";
  const t = TIERS.find((x) => x.toLowerCase() === name.toLowerCase());
  if (!t) throw new AccountDecodeError(`unknown tier variant ${name}`);
  return t;
}

function hasDiscriminator(data: Uint8Array, disc: Buffer): boolean {
  return data.length >= 8 && disc.equals(Buffer.from(data.buffer, data.byteOffset, 8));
}

export function isUserStakeData(data: Uint8Array): boolean {
  return data.length === USER_STAKE_SIZE && hasDiscriminator(data, USER_STAKE_DISCRIMINATOR);
}

export function decodeUserStake(data: Uint8Array): UserStakeAccount {
  if (!hasDiscriminator(data, USER_STAKE_DISCRIMINATOR)) throw new AccountDecodeError("not a UserStake account");
  let raw: Record<string, unknown>;
  try {
    raw = accountsCoder.decode("UserStake", Buffer.from(data));
  } catch (err) {
    throw new AccountDecodeError(`UserStake does not decode: ${(err as Error).message}`);
  }
  return {
    owner: key(raw.owner),
    pool: key(raw.pool),
    stakedAmount: big(raw.staked_amount),
    totalRewardsEarned: big(raw.total_rewards_earned),
    rewardsClaimed: big(raw.rewards_claimed),
    stakeTimestamp: big(raw.stake_timestamp),
    lastClaimTimestamp: big(raw.last_claim_timestamp),
    tier: tierOf(raw.tier),
    rewardDebt: big(raw.reward_debt),
    cooldownEnd: raw.cooldown_end === null || raw.cooldown_end === undefined ? null : big(raw.cooldown_end),
    cooldownAmount: big(raw.cooldown_amount),
    bump: raw.bump as number,
  };
}

export function decodeStakePool(data: Uint8Array): StakePoolAccount {
  if (!hasDiscriminator(data, STAKE_POOL_DISCRIMINATOR)) throw new AccountDecodeError("not a StakePool account");
  let raw: Record<string, unknown>;
  try {
    raw = accountsCoder.decode("StakePool", Buffer.from(data));
  } catch (err) {
    throw new AccountDecodeError(`StakePool does not decode: ${(err as Error).message}`);
  }
  return {
    admin: key(raw.admin),
    mint: key(raw.mint),
    stakeVault: key(raw.stake_vault),
    rewardVault: key(raw.reward_vault),
    totalStaked: big(raw.total_staked),
    totalStakers: big(raw.total_stakers),
    apyFree: raw.apy_free as number,
    apyPro: raw.apy_pro as number,
    apyTeam: raw.apy_team as number,
    apyEnterprise: raw.apy_enterprise as number,
    cooldownPeriod: big(raw.cooldown_period),
    minStakeAmount: big(raw.min_stake_amount),
    createdAt: big(raw.created_at),
    lastUpdateTimestamp: big(raw.last_update_timestamp),
    rewardPerTokenStored: big(raw.reward_per_token_stored),
    isActive: raw.is_active as boolean,
    bump: raw.bump as number,
    stakeVaultBump: raw.stake_vault_bump as number,
    rewardVaultBump: raw.reward_vault_bump as number,
  };
}

/** Discriminator + Borsh, unpadded: what Anchor's `try_serialize` writes from offset 0. */
export function serializeUserStake(a: UserStakeAccount): Buffer {
  const body = stakingCoder.types.encode("UserStake", {
    owner: new PublicKey(a.owner),
    pool: new PublicKey(a.pool),
    staked_amount: bn(a.stakedAmount),
    total_rewards_earned: bn(a.totalRewardsEarned),
    rewards_claimed: bn(a.rewardsClaimed),
    stake_timestamp: bn(a.stakeTimestamp),
    last_claim_timestamp: bn(a.lastClaimTimestamp),
    tier: { [a.tier]: {} },
    reward_debt: bn(a.rewardDebt),
    cooldown_end: a.cooldownEnd === null ? null : bn(a.cooldownEnd),
    cooldown_amount: bn(a.cooldownAmount),
    bump: a.bump,
  });
  return Buffer.concat([USER_STAKE_DISCRIMINATOR, body]);
}

export function serializeStakePool(p: StakePoolAccount): Buffer {
  const body = stakingCoder.types.encode("StakePool", {
    admin: new PublicKey(p.admin),
    mint: new PublicKey(p.mint),
    stake_vault: new PublicKey(p.stakeVault),
    reward_vault: new PublicKey(p.rewardVault),
    total_staked: bn(p.totalStaked),
    total_stakers: bn(p.totalStakers),
    apy_free: p.apyFree,
    apy_pro: p.apyPro,
    apy_team: p.apyTeam,
    apy_enterprise: p.apyEnterprise,
    cooldown_period: bn(p.cooldownPeriod),
    min_stake_amount: bn(p.minStakeAmount),
    created_at: bn(p.createdAt),
    last_update_timestamp: bn(p.lastUpdateTimestamp),
    reward_per_token_stored: bn(p.rewardPerTokenStored),
    is_active: p.isActive,
    bump: p.bump,
    stake_vault_bump: p.stakeVaultBump,
    reward_vault_bump: p.rewardVaultBump,
  });
  return Buffer.concat([STAKE_POOL_DISCRIMINATOR, body]);
}

function padded(bytes: Buffer, size: number): Buffer {
  if (bytes.length > size) throw new RangeError(`account encodes to ${bytes.length} bytes, above ${size}`);
  const out = Buffer.alloc(size);
  bytes.copy(out);
  return out;
}

/** A freshly allocated UserStake as the program writes it: Borsh, then zeros up to 147 bytes. */
export function encodeUserStake(a: UserStakeAccount): Buffer {
  return padded(serializeUserStake(a), USER_STAKE_SIZE);
}

/** A freshly allocated StakePool: Borsh, then zeros up to 212 bytes. */
export function encodeStakePool(p: StakePoolAccount): Buffer {
  return padded(serializeStakePool(p), STAKE_POOL_SIZE);
}
