/**
 * The part of a UserStake the indexer stores, read at the offsets of docs/staking-program.md instead of through
 * Anchor's coder: the indexer decodes every account of a backfill (a million at a time), and Anchor's generic
 * decode (BN per integer, PublicKey and base58 per key) costs about ten times this. The pool is returned as
 * bytes, for the caller to compare with its own pool's without encoding it.
 *
 * Agreement with Anchor's coder (decodeUserStake in accounts.ts) is tested on random accounts, valid and not:
 * both accept the same bytes and read the same values.
 */
import type { ProgramTier } from "./accounts.ts";
import { encodeBase58 } from "./base58.ts";
import { USER_STAKE_DISCRIMINATOR } from "./program.ts";

export interface UserStakeHoldings {
  owner: string;
  /** The pool's 32 bytes (a view into the account data). */
  poolKey: Uint8Array;
  stakedAmount: bigint;
  tier: ProgramTier;
  cooldownEnd: bigint | null;
  cooldownAmount: bigint;
}

const TIERS: readonly ProgramTier[] = ["Free", "Pro", "Team", "Enterprise"];
const OWNER = 8;
const POOL = 40;
const STAKED_AMOUNT = 72;
const TIER = 112;
const COOLDOWN_END = 129;
/** Borsh's Option: one tag byte, then the value when Some. */
const NONE_TAIL = COOLDOWN_END + 1;
const SOME_TAIL = COOLDOWN_END + 1 + 8;
/** cooldown_amount (u64) and bump (u8) end the Borsh body. */
const TAIL = 8 + 1;

/** Why the bytes are not a UserStake, or null when they are one (the checks Anchor's decode makes). */
export function userStakeHoldingsError(data: Uint8Array): string | null {
  if (data.length < 8 || !USER_STAKE_DISCRIMINATOR.equals(data.subarray(0, 8))) return "not a UserStake account";
  if (data.length < NONE_TAIL) return "UserStake is truncated";
  if (data[TIER]! >= TIERS.length) return `unknown tier variant ${data[TIER]}`;
  const tag = data[COOLDOWN_END]!;
  if (tag > 1) return `invalid cooldown_end option tag ${tag}`;
  if (data.length < (tag === 1 ? SOME_TAIL : NONE_TAIL) + TAIL) return "UserStake is truncated";
  return null;
}

/** Decodes a UserStake's holdings; null when userStakeHoldingsError says why it is not one. */
export function readUserStakeHoldings(data: Uint8Array): UserStakeHoldings | null {
  if (userStakeHoldingsError(data) !== null) return null;
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const some = view[COOLDOWN_END] === 1;
  return {
    owner: encodeBase58(view.subarray(OWNER, OWNER + 32)),
    poolKey: view.subarray(POOL, POOL + 32),
    stakedAmount: view.readBigUInt64LE(STAKED_AMOUNT),
    tier: TIERS[view[TIER]!]!,
    cooldownEnd: some ? view.readBigInt64LE(COOLDOWN_END + 1) : null,
    cooldownAmount: view.readBigUInt64LE(some ? SOME_TAIL : NONE_TAIL),
  };
}
