/**
 * What a validator has from genesis or keeps current per slot and LiteSVM does not: the native mints, the
 * SlotHashes sysvar (ancestors of the newest block, newest first, at most 512), and the durable-nonce rule that
 * lets a transaction carry a nonce account's stored hash instead of a recent blockhash.
 */
import bs58 from "bs58";
import type { Svm } from "./svm.ts";
import type { ParsedTransaction } from "./tx-parse.ts";
import type { AccountState } from "./types.ts";

export const NATIVE_MINT = "So11111111111111111111111111111111111111112";
export const NATIVE_MINT_2022 = "9pan9bMn5HatX4EJdBwg9VgCa7Uz5HL8N1m5D3NdXejP";
const TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
const TOKEN_2022_PROGRAM = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb";
const SYSTEM_PROGRAM = "11111111111111111111111111111111";
const MAX_SLOT_HASHES = 512;
const ADVANCE_NONCE_ACCOUNT = 4;
const NONCE_ACCOUNT_SIZE = 80;

/** A mint without authorities, 9 decimals, initialized (the layout both token programs share). */
function nativeMintData(): Uint8Array {
  const data = new Uint8Array(82);
  data[44] = 9;
  data[45] = 1;
  return data;
}

/** Writes the wrapped-SOL mints of both token programs. */
export function writeNativeMints(svm: Svm): void {
  for (const [mint, owner] of [[NATIVE_MINT, TOKEN_PROGRAM], [NATIVE_MINT_2022, TOKEN_2022_PROGRAM]] as const) {
    const data = nativeMintData();
    svm.setAccount(mint, { lamports: svm.minimumBalanceForRentExemption(data.length), data, owner, executable: false, rentEpoch: 0n });
  }
}

/** The SlotHashes sysvar, kept by the chain as blocks are produced. */
export class SlotHashes {
  private entries: { slot: bigint; hash: string }[] = [];
  private readonly svm: Svm;
  constructor(svm: Svm) {
    this.svm = svm;
  }
  /** Block `slot` with `hash` became an ancestor of the newest block. */
  push(slot: bigint, hash: string): void {
    this.entries.unshift({ slot, hash });
    if (this.entries.length > MAX_SLOT_HASHES) this.entries.length = MAX_SLOT_HASHES;
    this.svm.native.setSlotHashes(this.entries);
  }
}

/**
 * The nonce value a durable-nonce transaction may use as its blockhash: its first instruction must be the
 * System program's AdvanceNonceAccount on an initialized nonce account that stores exactly that value.
 */
export function durableNonceMatches(p: ParsedTransaction, getAccount: (k: string) => AccountState | null): boolean {
  const first = p.instructions[0];
  if (!first || p.keys[first.programIndex] !== SYSTEM_PROGRAM || first.data.length < 4) return false;
  const dv = new DataView(first.data.buffer, first.data.byteOffset, first.data.byteLength);
  if (dv.getUint32(0, true) !== ADVANCE_NONCE_ACCOUNT || first.accounts.length < 1) return false;
  const nonce = getAccount(p.keys[first.accounts[0]!]!);
  if (!nonce || nonce.owner !== SYSTEM_PROGRAM || nonce.data.length !== NONCE_ACCOUNT_SIZE) return false;
  const state = new DataView(nonce.data.buffer, nonce.data.byteOffset, nonce.data.byteLength).getUint32(4, true);
  if (state !== 1) return false;
  return encodeKey(nonce.data.subarray(40, 72)) === p.recentBlockhash;
}

const encodeKey = (bytes: Uint8Array): string => bs58.encode(bytes);
