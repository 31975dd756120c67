/**
 * UserStake / StakePool bytes as Anchor's `Account<T>` reads and writes them.
 * Reads go through the project's decoders (src/solana/accounts.ts). Writes follow `exit()`: Borsh into the
 * existing buffer from offset 0 (BpfWriter), leaving every byte past the encoding as it was — so when
 * `cooldown_end` goes from Some to None the last 8 bytes of a UserStake keep their old contents.
 */
import {
  decodeStakePool,
  decodeUserStake,
  type StakePoolAccount,
  type UserStakeAccount,
} from "../../src/solana/accounts.ts";
import { STAKE_POOL_DISCRIMINATOR, USER_STAKE_DISCRIMINATOR } from "../../src/solana/program.ts";

export { serializeStakePool, serializeUserStake } from "../../src/solana/accounts.ts";
import type { ModelContext } from "../types.ts";
import { langError } from "./anchor-errors.ts";

export type ProgramAccountKind = "StakePool" | "UserStake";
export type ProgramAccountValue<K extends ProgramAccountKind> = K extends "StakePool" ? StakePoolAccount : UserStakeAccount;

const DISCRIMINATORS: Record<ProgramAccountKind, Buffer> = {
  StakePool: STAKE_POOL_DISCRIMINATOR,
  UserStake: USER_STAKE_DISCRIMINATOR,
};

export function discriminatorOf(kind: ProgramAccountKind): Buffer {
  return DISCRIMINATORS[kind];
}

/**
 * `try_deserialize_unchecked`: Borsh after the first 8 bytes, whatever they hold. Throws (any error) when the
 * bytes do not decode; callers map that to AccountDidNotDeserialize.
 */
export function decodeUnchecked<K extends ProgramAccountKind>(kind: K, data: Uint8Array): ProgramAccountValue<K> {
  const withDiscriminator = Buffer.from(data);
  DISCRIMINATORS[kind].copy(withDiscriminator, 0);
  const value = kind === "StakePool" ? decodeStakePool(withDiscriminator) : decodeUserStake(withDiscriminator);
  return value as ProgramAccountValue<K>;
}

/** The account's data after `exit()` writes `serialized` over it. */
export function overlay(current: Uint8Array, serialized: Uint8Array): Uint8Array | null {
  if (serialized.length > current.length) return null;
  const next = Uint8Array.from(current);
  next.set(serialized, 0);
  return next;
}

/**
 * `Account<T>::exit`: persists the in-memory value into the account (owned by the program, not closed).
 * Unchanged bytes are not written, so read-only accounts the handler did not modify pass the runtime's check.
 */
export function persist(ctx: ModelContext, pubkey: string, serialized: Uint8Array): void {
  const current = ctx.getAccount(pubkey);
  if (!current) return;
  const next = overlay(current.data, serialized);
  if (next === null) throw langError("AccountDidNotSerialize");
  if (Buffer.from(next).equals(Buffer.from(current.data))) return;
  ctx.setAccount(pubkey, { ...current, data: next });
}
