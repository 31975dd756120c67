/**
 * SPL Token and Token-2022 account layouts, read for jsonParsed encodings and getTokenAccountBalance.
 * Offsets are the programs' fixed Pack layouts; Token-2022 extensions follow as TLV entries.
 */
import type { AccountState, ChainApi } from "../types.ts";
import { encodeBase58 } from "../../src/solana/base58.ts";

// The jsonParsed rendering lives in token-json.ts; re-exported so existing imports keep this path.
export { parseTokenProgramAccount, uiExtensions } from "./token-json.ts";

export const TOKEN_PROGRAM_ID = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
export const TOKEN_2022_PROGRAM_ID = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb";

export const TOKEN_ACCOUNT_SIZE = 165;
export const MINT_SIZE = 82;
export const MULTISIG_SIZE = 355;
const ACCOUNT_TYPE_MINT = 1;
const ACCOUNT_TYPE_ACCOUNT = 2;

export function isTokenProgram(owner: string): boolean {
  return owner === TOKEN_PROGRAM_ID || owner === TOKEN_2022_PROGRAM_ID;
}

export interface UiTokenAmount {
  amount: string;
  decimals: number;
  uiAmount: number;
  uiAmountString: string;
}

/** The validator's UiTokenAmount: uiAmount as `amount as f64 / 10^decimals`, uiAmountString trimmed of zeros. */
export function uiTokenAmount(amount: bigint, decimals: number): UiTokenAmount {
  const digits = amount.toString();
  let uiAmountString = digits;
  if (decimals > 0) {
    const padded = digits.padStart(decimals + 1, "0");
    const whole = padded.slice(0, padded.length - decimals);
    const fraction = padded.slice(padded.length - decimals).replace(/0+$/, "");
    uiAmountString = fraction ? `${whole}.${fraction}` : whole;
  }
  return { amount: digits, decimals, uiAmount: Number(amount) / 10 ** decimals, uiAmountString };
}

export const key = (data: Uint8Array, offset: number) => encodeBase58(data.subarray(offset, offset + 32));
export const view = (data: Uint8Array) => new DataView(data.buffer, data.byteOffset, data.byteLength);

/** COption<Pubkey>: u32 tag then 32 bytes. */
function coptionKey(data: Uint8Array, offset: number): string | null {
  return view(data).getUint32(offset, true) === 1 ? key(data, offset + 4) : null;
}

/** OptionalNonZeroPubkey (Token-2022 extensions): all zero bytes mean none. */
export function nonZeroKey(data: Uint8Array, offset: number): string | null {
  const bytes = data.subarray(offset, offset + 32);
  return bytes.some((b) => b !== 0) ? encodeBase58(bytes) : null;
}

export interface TokenAccountInfo {
  mint: string;
  owner: string;
  amount: bigint;
  delegate: string | null;
  state: "uninitialized" | "initialized" | "frozen";
  isNative: bigint | null;
  delegatedAmount: bigint;
  closeAuthority: string | null;
  extensions: Uint8Array | null;
}

export interface MintInfo {
  mintAuthority: string | null;
  supply: bigint;
  decimals: number;
  isInitialized: boolean;
  freezeAuthority: string | null;
  extensions: Uint8Array | null;
}

export const STATES = ["uninitialized", "initialized", "frozen"] as const;

function tlvOf(data: Uint8Array, accountType: number): Uint8Array | null | undefined {
  if (data.length === TOKEN_ACCOUNT_SIZE || data.length === MINT_SIZE) return null;
  if (data.length <= TOKEN_ACCOUNT_SIZE) return undefined;
  return data[TOKEN_ACCOUNT_SIZE] === accountType ? data.subarray(TOKEN_ACCOUNT_SIZE + 1) : undefined;
}

/** The token account in `account`, or null when it is not one (wrong owner, size or state). */
export function readTokenAccount(account: AccountState): TokenAccountInfo | null {
  if (!isTokenProgram(account.owner)) return null;
  const data = account.data;
  if (data.length < TOKEN_ACCOUNT_SIZE) return null;
  let extensions: Uint8Array | null = null;
  if (data.length !== TOKEN_ACCOUNT_SIZE) {
    if (account.owner !== TOKEN_2022_PROGRAM_ID) return null;
    const tlv = tlvOf(data, ACCOUNT_TYPE_ACCOUNT);
    if (tlv === undefined) return null;
    extensions = tlv;
  }
  const dv = view(data);
  const state = STATES[data[108]!];
  if (state === undefined || state === "uninitialized") return null;
  return {
    mint: key(data, 0),
    owner: key(data, 32),
    amount: dv.getBigUint64(64, true),
    delegate: coptionKey(data, 72),
    state,
    isNative: dv.getUint32(109, true) === 1 ? dv.getBigUint64(113, true) : null,
    delegatedAmount: dv.getBigUint64(121, true),
    closeAuthority: coptionKey(data, 129),
    extensions,
  };
}

export function readMint(account: AccountState): MintInfo | null {
  if (!isTokenProgram(account.owner)) return null;
  const data = account.data;
  let extensions: Uint8Array | null = null;
  if (data.length !== MINT_SIZE) {
    if (account.owner !== TOKEN_2022_PROGRAM_ID || data.length <= TOKEN_ACCOUNT_SIZE) return null;
    const tlv = tlvOf(data, ACCOUNT_TYPE_MINT);
    if (!tlv) return null;
    extensions = tlv;
  }
  if (data[45] !== 1) return null;
  return {
    mintAuthority: coptionKey(data, 0),
    supply: view(data).getBigUint64(36, true),
    decimals: data[44]!,
    isInitialized: true,
    freezeAuthority: coptionKey(data, 46),
    extensions,
  };
}

/** Decimals of `mint` as the chain holds it now, or null. */
export function mintDecimals(chain: ChainApi, mint: string): number | null {
  const account = chain.getAccount(mint);
  return account ? (readMint(account)?.decimals ?? null) : null;
}
