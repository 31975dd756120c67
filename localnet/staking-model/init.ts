/**
 * Anchor's `init` / `init_if_needed` (constraints.rs `generate_constraint_init_group` and
 * `generate_create_account`), carried out with real System program and Token-2022 CPIs.
 */
import { PublicKey, SystemProgram } from "@solana/web3.js";
import type { Account as TokenAccount, Mint } from "@solana/spl-token";
import { langError } from "./anchor-errors.ts";
import type { ProgramAccountKind, ProgramAccountValue } from "./state.ts";
import { initializeAccount3Cpi, toModelInstruction, tokenAccountSpace, unpackTokenAccount } from "./token.ts";
import { loadProgramAccount, SYSTEM_PROGRAM, type Env, type Loaded } from "./validation.ts";

/**
 * Creates `account` (a PDA of this program, signing by its seeds) with `space` bytes owned by `owner`, the
 * payer funding rent exemption. An account that already holds lamports is topped up, allocated and assigned
 * instead, since CreateAccount refuses a funded address. (Anchor also refuses payer == account; the account
 * is a PDA that passed its seeds check and the payer a transaction signer, so they always differ.)
 */
export function createAccount(env: Env, payer: string, account: string, space: number, owner: string): void {
  const { ctx } = env;
  const rent = ctx.minimumBalanceForRentExemption(space);
  const current = ctx.getAccount(account)?.lamports ?? 0n;
  const from = new PublicKey(payer);
  const target = new PublicKey(account);
  const programId = new PublicKey(owner);
  if (current === 0n) {
    if (rent > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`rent ${rent} exceeds web3.js's number range`);
    const ix = SystemProgram.createAccount({
      fromPubkey: from,
      newAccountPubkey: target,
      lamports: Number(rent),
      space,
      programId,
    });
    ctx.invoke(toModelInstruction(ix), [account]);
    return;
  }
  const floor = rent > 1n ? rent : 1n;
  const required = floor > current ? floor - current : 0n;
  if (required > 0n) {
    ctx.invoke(toModelInstruction(SystemProgram.transfer({ fromPubkey: from, toPubkey: target, lamports: required })));
  }
  ctx.invoke(toModelInstruction(SystemProgram.allocate({ accountPubkey: target, space })), [account]);
  ctx.invoke(toModelInstruction(SystemProgram.assign({ accountPubkey: target, programId })), [account]);
}

export interface ProgramInit<K extends ProgramAccountKind> {
  field: string;
  kind: K;
  key: string;
  payer: string;
  space: number;
  ifNeeded: boolean;
}

/** `init` / `init_if_needed` of an `Account<T>` owned by this program (seeds already checked). */
export function initProgramAccount<K extends ProgramAccountKind>(env: Env, init: ProgramInit<K>): ProgramAccountValue<K> {
  const { ctx, programId } = env;
  const ownerBefore = ctx.getAccount(init.key)?.owner ?? SYSTEM_PROGRAM;
  let value: ProgramAccountValue<K>;
  if (!init.ifNeeded || ownerBefore === SYSTEM_PROGRAM) {
    createAccount(env, init.payer, init.key, init.space, programId);
    value = loadProgramAccount(env, init.key, init.kind, false);
  } else {
    value = loadProgramAccount(env, init.key, init.kind, true);
  }
  if (init.ifNeeded) {
    // The generated code reads the owner through the AccountInfo, which a creating CPI has updated.
    const after = ctx.getAccount(init.key);
    const length = after?.data.length ?? 0;
    const owner = after?.owner ?? SYSTEM_PROGRAM;
    if (init.space !== length) throw langError("ConstraintSpace").withAccount(init.field).withValues(init.space, length);
    if (owner !== programId) throw langError("ConstraintOwner").withAccount(init.field).withPubkeys(owner, programId);
    if ((after?.lamports ?? 0n) < ctx.minimumBalanceForRentExemption(init.space)) {
      throw langError("ConstraintRentExempt").withAccount(init.field);
    }
  }
  return value;
}

export interface TokenInit {
  key: string;
  payer: string;
  mint: Loaded<Mint>;
  authority: string;
  tokenProgram: string;
}

/** `init, token::mint, token::authority, token::token_program`: create, InitializeAccount3, then load. */
export function initTokenAccount(env: Env, init: TokenInit): TokenAccount {
  const space = tokenAccountSpace(init.mint.owner, init.mint.value);
  createAccount(env, init.payer, init.key, space, init.tokenProgram);
  initializeAccount3Cpi(env.ctx, init.tokenProgram, init.key, init.mint.key, init.authority);
  return unpackTokenAccount(init.key, env.ctx.getAccount(init.key));
}
