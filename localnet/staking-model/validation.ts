/**
 * Anchor 0.30.1 account validation, in its order: `try_accounts` deserializes the fields in declaration
 * order (init fields are only taken off the list), then the init fields' constraints run, then every other
 * field's constraints in declaration order, each as Init, Seeds, Mut, Signer, Raw, RentExempt.
 * A deserialization error is renamed to the field (`.map_err(|e| e.with_account_name(name))`).
 */
import type { Account as TokenAccount, Mint } from "@solana/spl-token";
import { PublicKey, SystemProgram } from "@solana/web3.js";
import type { UserStakeAccount } from "../../src/solana/accounts.ts";
import type { AccountState, ModelAccountMeta, ModelContext } from "../types.ts";
import {
  AnchorFailure,
  langError,
  ProgramFailure,
  stakingError,
  type StakingErrorName,
} from "./anchor-errors.ts";
import { decodeUnchecked, discriminatorOf, type ProgramAccountKind, type ProgramAccountValue } from "./state.ts";
import { TOKEN_2022, unpackMintAccount, unpackTokenAccount } from "./token.ts";

export const SYSTEM_PROGRAM = SystemProgram.programId.toBase58();

export interface Loaded<T> {
  meta: ModelAccountMeta;
  key: string;
  /** The program owning the account (the token program, for token accounts and mints). */
  owner: string;
  value: T;
}

export interface Env {
  ctx: ModelContext;
  programId: string;
  accounts: readonly ModelAccountMeta[];
}

function renamed(err: unknown, field: string): unknown {
  return err instanceof AnchorFailure || err instanceof ProgramFailure ? err.withAccount(field) : err;
}

/** `Account::try_from` (checked) or `try_from_unchecked`: existence, owner, discriminator, Borsh. */
export function loadProgramAccount<K extends ProgramAccountKind>(
  env: Env,
  pubkey: string,
  kind: K,
  checked: boolean,
): ProgramAccountValue<K> {
  const account = env.ctx.getAccount(pubkey);
  if (account === null) throw langError("AccountNotInitialized");
  if (account.owner !== env.programId) {
    throw langError("AccountOwnedByWrongProgram").withPubkeys(account.owner, env.programId);
  }
  if (checked) {
    if (account.data.length < 8) throw langError("AccountDiscriminatorNotFound");
    if (!discriminatorOf(kind).equals(Buffer.from(account.data.subarray(0, 8)))) {
      throw langError("AccountDiscriminatorMismatch").withAccount(kind);
    }
  }
  try {
    return decodeUnchecked(kind, account.data);
  } catch {
    throw langError("AccountDidNotDeserialize");
  }
}

/** Walks the instruction's accounts as `try_accounts` does. */
export class AccountCursor {
  private readonly env: Env;
  private next = 0;

  constructor(env: Env) {
    this.env = env;
  }

  /** Takes the next account; `field` is null for init fields (their AccountNotEnoughKeys names no account). */
  take(field: string | null): ModelAccountMeta {
    const meta = this.env.accounts[this.next];
    if (meta === undefined) {
      const failure = langError("AccountNotEnoughKeys");
      throw field === null ? failure : failure.withAccount(field);
    }
    this.next += 1;
    return meta;
  }

  signer(field: string): ModelAccountMeta {
    const meta = this.take(field);
    if (!meta.isSigner) throw langError("AccountNotSigner").withAccount(field);
    return meta;
  }

  program(field: string, expected: string): ModelAccountMeta {
    const meta = this.take(field);
    if (meta.pubkey !== expected) {
      throw langError("InvalidProgramId").withPubkeys(meta.pubkey, expected).withAccount(field);
    }
    if (!this.env.ctx.getAccount(meta.pubkey)?.executable) throw langError("InvalidProgramExecutable").withAccount(field);
    return meta;
  }

  tokenProgram(field: string): ModelAccountMeta {
    return this.program(field, TOKEN_2022);
  }

  systemProgram(field: string): ModelAccountMeta {
    return this.program(field, SYSTEM_PROGRAM);
  }

  programAccount<K extends ProgramAccountKind>(field: string, kind: K): Loaded<ProgramAccountValue<K>> {
    const meta = this.take(field);
    return this.guard(field, meta, () => loadProgramAccount(this.env, meta.pubkey, kind, true));
  }

  tokenAccount(field: string): Loaded<TokenAccount> {
    const meta = this.take(field);
    return this.guard(field, meta, () => unpackTokenAccount(meta.pubkey, this.env.ctx.getAccount(meta.pubkey)));
  }

  mint(field: string): Loaded<Mint> {
    const meta = this.take(field);
    return this.guard(field, meta, () => unpackMintAccount(meta.pubkey, this.env.ctx.getAccount(meta.pubkey)));
  }

  private guard<T>(field: string, meta: ModelAccountMeta, load: () => T): Loaded<T> {
    try {
      const value = load();
      // load() succeeded, so the account exists.
      const owner = this.env.ctx.getAccount(meta.pubkey)?.owner ?? SYSTEM_PROGRAM;
      return { meta, key: meta.pubkey, owner, value };
    } catch (err) {
      throw renamed(err, field);
    }
  }
}

/** The program's seeds: a UTF-8 literal, then public keys (base58). */
export function pdaSeeds(literal: string, ...keys: string[]): Buffer[] {
  return [Buffer.from(literal, "utf8"), ...keys.map((k) => new PublicKey(k).toBuffer())];
}

/**
 * The address `invoke_signed` signs for with the vault-authority seeds "stake_pool", stored mint, stored bump
 * (the stake_pool account itself, whose seeds were checked against the mint account).
 */
export function stakePoolSigner(env: Env, mint: string, bump: number): string {
  const seeds = [...pdaSeeds("stake_pool", mint), Buffer.from([bump])];
  return PublicKey.createProgramAddressSync(seeds, new PublicKey(env.programId)).toBase58();
}

/** `seeds = [...], bump = stored`: `create_program_address`, then compare. */
export function checkSeeds(env: Env, field: string, key: string, seeds: Buffer[], bump: number): void {
  let expected: PublicKey;
  try {
    expected = PublicKey.createProgramAddressSync([...seeds, Buffer.from([bump])], new PublicKey(env.programId));
  } catch {
    throw langError("ConstraintSeeds").withAccount(field);
  }
  if (expected.toBase58() !== key) throw langError("ConstraintSeeds").withAccount(field).withPubkeys(key, expected);
}

/** `init` seeds: `find_program_address`, compare, and return the canonical bump. */
export function checkInitSeeds(env: Env, field: string, key: string, seeds: Buffer[]): number {
  const [expected, bump] = PublicKey.findProgramAddressSync(seeds, new PublicKey(env.programId));
  if (expected.toBase58() !== key) throw langError("ConstraintSeeds").withAccount(field).withPubkeys(key, expected);
  return bump;
}

export function checkMut(field: string, meta: ModelAccountMeta): void {
  if (!meta.isWritable) throw langError("ConstraintMut").withAccount(field);
}

/** `constraint = <condition> @ StakingError::name`. */
export function checkConstraint(condition: boolean, field: string, name: StakingErrorName): void {
  if (!condition) throw stakingError(name).withAccount(field);
}

/** The implicit `rent_exempt = enforce` of `init`: lamports >= the rent-exempt minimum for the data length. */
export function checkRentExempt(env: Env, field: string, key: string): void {
  const account: AccountState | null = env.ctx.getAccount(key);
  const lamports = account?.lamports ?? 0n;
  const length = account?.data.length ?? 0;
  if (lamports < env.ctx.minimumBalanceForRentExemption(length)) {
    throw langError("ConstraintRentExempt").withAccount(field);
  }
}

// ---- constraint groups that several instructions declare identically (checked in declaration order) ----

/** `user_stake`: seeds ("user_stake", stake_pool, user) with the stored bump, `mut`, `owner == user` (Unauthorized). */
export function checkUserStake(
  env: Env,
  userStake: Loaded<UserStakeAccount>,
  stakePoolKey: string,
  user: string,
): void {
  checkSeeds(env, "user_stake", userStake.key, pdaSeeds("user_stake", stakePoolKey, user), userStake.value.bump);
  checkMut("user_stake", userStake.meta);
  checkConstraint(userStake.value.owner === user, "user_stake", "Unauthorized");
}

/** A holder's token account: `mut`, `.mint == mint` (MintMismatch), `.owner == holder` (InvalidTokenAccountOwner). */
export function checkHolderTokenAccount(field: string, account: Loaded<TokenAccount>, mint: string, holder: string): void {
  checkMut(field, account.meta);
  checkConstraint(account.value.mint.toBase58() === mint, field, "MintMismatch");
  checkConstraint(account.value.owner.toBase58() === holder, field, "InvalidTokenAccountOwner");
}

/** A pool vault: seeds (seed, stake_pool) with the stored bump, `mut`, key == the pool's stored vault (InvalidPDA). */
export function checkVault(
  env: Env,
  field: "stake_vault" | "reward_vault",
  vault: Loaded<TokenAccount>,
  stakePoolKey: string,
  bump: number,
  stored: string,
): void {
  checkSeeds(env, field, vault.key, pdaSeeds(field, stakePoolKey), bump);
  checkMut(field, vault.meta);
  checkConstraint(vault.key === stored, field, "InvalidPDA");
}
