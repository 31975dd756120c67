/**
 * The staking program through Anchor: the shipped IDL, its coder, PDAs and instruction builders.
 * Accounts are decoded by Anchor's coder from the IDL, never by hand-written offsets
 * (Option<i64> shifts the tail of UserStake).
 */
import { BorshAccountsCoder, BorshCoder, BorshEventCoder, type Idl } from "@coral-xyz/anchor";
import { PublicKey } from "@solana/web3.js";
import idlJson from "./idl/kamiyo_staking.json" with { type: "json" };

export const STAKING_IDL = idlJson as Idl;
export const USER_STAKE_SIZE = 147;
export const STAKE_POOL_SIZE = 212;
export const TOKEN_2022_PROGRAM_ID = new PublicKey("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb");

/** The IDL with its `address` replaced by the configured program id. */
export function stakingIdl(programId: PublicKey | string): Idl {
  return { ...STAKING_IDL, address: new PublicKey(programId).toBase58() };
}

export const stakingCoder = new BorshCoder(STAKING_IDL);
export const accountsCoder = new BorshAccountsCoder(STAKING_IDL);
export const eventCoder = new BorshEventCoder(STAKING_IDL);

function discriminatorOf(name: string): Buffer {
  const acc = STAKING_IDL.accounts?.find((a) => a.name === name);
  if (!acc) throw new Error(`IDL has no account ${name}`);
  return Buffer.from(acc.discriminator);
}
export const USER_STAKE_DISCRIMINATOR = discriminatorOf("UserStake");
export const STAKE_POOL_DISCRIMINATOR = discriminatorOf("StakePool");

// ---- PDAs (seeds as the program declares them; the seed's user-stake order is wrong) ----

const seed = (s: string) => Buffer.from(s, "utf8");
const pk = (v: PublicKey | string) => (typeof v === "string" ? new PublicKey(v) : v);

export function stakePoolPda(programId: PublicKey | string, mint: PublicKey | string): [PublicKey, number] {
  return PublicKey.findProgramAddressSync([seed("stake_pool"), pk(mint).toBuffer()], pk(programId));
}
export function userStakePda(
  programId: PublicKey | string,
  pool: PublicKey | string,
  user: PublicKey | string,
): [PublicKey, number] {
  return PublicKey.findProgramAddressSync([seed("user_stake"), pk(pool).toBuffer(), pk(user).toBuffer()], pk(programId));
}
export function stakeVaultPda(programId: PublicKey | string, pool: PublicKey | string): [PublicKey, number] {
  return PublicKey.findProgramAddressSync([seed("stake_vault"), pk(pool).toBuffer()], pk(programId));
}
export function rewardVaultPda(programId: PublicKey | string, pool: PublicKey | string): [PublicKey, number] {
  return PublicKey.findProgramAddressSync([seed("reward_vault"), pk(pool).toBuffer()], pk(programId));
}
