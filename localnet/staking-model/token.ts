/**
 * The token side: `InterfaceAccount<TokenAccount>` / `InterfaceAccount<Mint>` loading as anchor-spl 0.30.1
 * does it (owner must be SPL Token or Token-2022, then Token-2022's `StateWithExtensions::unpack`), and the
 * Token-2022 CPIs the program makes (unchecked `Transfer`, `InitializeAccount3`).
 */
import {
  ACCOUNT_SIZE,
  AccountLayout,
  AccountState as TokenState,
  createInitializeAccount3Instruction,
  createTransferInstruction,
  getAccountLenForMint,
  MINT_SIZE,
  MintLayout,
  MULTISIG_SIZE,
  TOKEN_2022_PROGRAM_ID,
  TOKEN_PROGRAM_ID,
  unpackAccount,
  unpackMint,
  type Account as TokenAccount,
  type Mint,
} from "@solana/spl-token";
import { PublicKey, type AccountInfo, type TransactionInstruction } from "@solana/web3.js";
import type { AccountState, ModelContext, ModelInstruction } from "../types.ts";
import { langError, ProgramFailure } from "./anchor-errors.ts";

export const TOKEN_2022 = TOKEN_2022_PROGRAM_ID.toBase58();
const TOKEN_INTERFACE_OWNERS = new Set([TOKEN_PROGRAM_ID.toBase58(), TOKEN_2022]);

export function toModelInstruction(ix: TransactionInstruction): ModelInstruction {
  return {
    programId: ix.programId.toBase58(),
    accounts: ix.keys.map((k) => ({ pubkey: k.pubkey.toBase58(), isSigner: k.isSigner, isWritable: k.isWritable })),
    data: Uint8Array.from(ix.data),
  };
}

function accountInfo(account: AccountState): AccountInfo<Buffer> {
  return {
    data: Buffer.from(account.data),
    owner: new PublicKey(account.owner),
    lamports: Number(account.lamports),
    executable: account.executable,
  };
}

/** `InterfaceAccount::try_from` up to the deserialize step: existence and owner. */
function checkInterfaceOwner(account: AccountState | null): AccountState {
  if (account === null) throw langError("AccountNotInitialized");
  // CheckOwner names the offending owner as the "account"; the Accounts derive then renames it to the field.
  if (!TOKEN_INTERFACE_OWNERS.has(account.owner)) throw langError("AccountOwnedByWrongProgram").withAccount(account.owner);
  return account;
}

const isOptionTag = (tag: number): boolean => tag === 0 || tag === 1;

const MINT_INITIALIZED_OFFSET = ((): number => {
  const offset = MintLayout.offsetOf("isInitialized");
  if (offset === undefined) throw new Error("MintLayout has no isInitialized field");
  return offset;
})();

/**
 * `StateWithExtensions::<Account>::unpack`: a too-short or multisig-sized buffer, a malformed base state
 * (COption tag or state byte) or a foreign account type is InvalidAccountData; an uninitialized base state
 * is UninitializedAccount. The base is checked before the extension part, as the Rust does.
 */
export function unpackTokenAccount(pubkey: string, account: AccountState | null): TokenAccount {
  const checked = checkInterfaceOwner(account);
  const { data } = checked;
  if (data.length < ACCOUNT_SIZE || data.length === MULTISIG_SIZE) throw new ProgramFailure("InvalidAccountData");
  const base = AccountLayout.decode(data.subarray(0, ACCOUNT_SIZE));
  if (
    !isOptionTag(base.delegateOption) ||
    !isOptionTag(base.isNativeOption) ||
    !isOptionTag(base.closeAuthorityOption) ||
    base.state > TokenState.Frozen
  ) {
    throw new ProgramFailure("InvalidAccountData");
  }
  if (base.state === TokenState.Uninitialized) throw new ProgramFailure("UninitializedAccount");
  try {
    return unpackAccount(new PublicKey(pubkey), accountInfo(checked), new PublicKey(checked.owner));
  } catch {
    throw new ProgramFailure("InvalidAccountData");
  }
}

/** `StateWithExtensions::<Mint>::unpack`, with the same error mapping; a mint's padding up to 165 must be zero. */
export function unpackMintAccount(pubkey: string, account: AccountState | null): Mint {
  const checked = checkInterfaceOwner(account);
  const { data } = checked;
  if (data.length < MINT_SIZE || data.length === MULTISIG_SIZE) throw new ProgramFailure("InvalidAccountData");
  const base = MintLayout.decode(data.subarray(0, MINT_SIZE));
  // The layout decodes the flag as a JS boolean; the Rust unpack accepts only the bytes 0 and 1.
  const initialized = data[MINT_INITIALIZED_OFFSET];
  if (
    !isOptionTag(base.mintAuthorityOption) ||
    !isOptionTag(base.freezeAuthorityOption) ||
    (initialized !== 0 && initialized !== 1)
  ) {
    throw new ProgramFailure("InvalidAccountData");
  }
  if (initialized === 0) throw new ProgramFailure("UninitializedAccount");
  if (data.length > MINT_SIZE && data.subarray(MINT_SIZE, Math.min(ACCOUNT_SIZE, data.length)).some((b) => b !== 0)) {
    throw new ProgramFailure("InvalidAccountData");
  }
  try {
    return unpackMint(new PublicKey(pubkey), accountInfo(checked), new PublicKey(checked.owner));
  } catch {
    throw new ProgramFailure("InvalidAccountData");
  }
}

/**
 * Space of a token account created by `init` with `token::mint` (Anchor's generated
 * `get_token_account_space`): room for the account extensions a Token-2022 mint requires, else 165.
 */
export function tokenAccountSpace(mintOwner: string, mint: Mint): number {
  return mintOwner === TOKEN_2022 ? getAccountLenForMint(mint) : ACCOUNT_SIZE;
}

/** `token_2022::transfer`: the unchecked Transfer (tag 3), authority signing directly or by PDA seeds. */
export function transferCpi(
  ctx: ModelContext,
  tokenProgram: string,
  from: string,
  to: string,
  authority: string,
  amount: bigint,
  pdaSigners: string[] = [],
): void {
  const ix = createTransferInstruction(
    new PublicKey(from),
    new PublicKey(to),
    new PublicKey(authority),
    amount,
    [],
    new PublicKey(tokenProgram),
  );
  ctx.invoke(toModelInstruction(ix), pdaSigners);
}

/** `token_interface::initialize_account3` (tag 18): no signer needed. */
export function initializeAccount3Cpi(
  ctx: ModelContext,
  tokenProgram: string,
  account: string,
  mint: string,
  owner: string,
): void {
  const ix = createInitializeAccount3Instruction(
    new PublicKey(account),
    new PublicKey(mint),
    new PublicKey(owner),
    new PublicKey(tokenProgram),
  );
  ctx.invoke(toModelInstruction(ix));
}
