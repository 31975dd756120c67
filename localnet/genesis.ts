/**
 * What a validator has from genesis or keeps current per slot and LiteSVM does not: the native mints, the
 * SlotHashes sysvar (ancestors of the newest block, newest first, at most 512), SlotHistory, and the durable-nonce rules: a
 * transaction may carry a nonce account's stored value instead of a recent blockhash, and instructions run
 * under the bank's blockhash, not the transaction's.
 */
import { createHash } from "node:crypto";
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

/** The SlotHistory sysvar: a bit per slot over the last 1,048,576 slots, set for every block produced. */
export class SlotHistory {
  private readonly svm: Svm;
  private readonly history: ReturnType<Svm["native"]["getSlotHistory"]>;
  constructor(svm: Svm) {
    this.svm = svm;
    this.history = svm.native.getSlotHistory();
  }
  /** Block `slot` was produced (slots skipped since the last one are cleared). */
  add(slot: bigint): void {
    this.history.add(slot);
    this.svm.native.setSlotHistory(this.history);
  }
}

const DURABLE_NONCE_PREFIX = Buffer.from("DURABLE_NONCE");
const NONCE_LAMPORTS_PER_SIGNATURE = 5000n;

/** The durable nonce a nonce account stores when advanced under `blockhash` (sha256("DURABLE_NONCE" ‖ hash)). */
export function durableNonceOf(blockhash: string): string {
  return bs58.encode(createHash("sha256").update(DURABLE_NONCE_PREFIX).update(bs58.decode(blockhash)).digest());
}

/**
 * The nonce account a durable-nonce transaction uses, or null when it is not one the validator would accept:
 * its first instruction must be the System program's AdvanceNonceAccount on a writable, initialized nonce
 * account that stores exactly the transaction's blockhash, signed by the nonce authority, and the nonce must
 * be advanceable (its value differs from the one the current blockhash gives).
 */
export function durableNonceAccount(
  p: ParsedTransaction,
  getAccount: (k: string) => AccountState | null,
  currentBlockhash: string,
): string | null {
  const first = p.instructions[0];
  if (!first || p.keys[first.programIndex] !== SYSTEM_PROGRAM || first.data.length < 4) return null;
  const dv = new DataView(first.data.buffer, first.data.byteOffset, first.data.byteLength);
  if (dv.getUint32(0, true) !== ADVANCE_NONCE_ACCOUNT || first.accounts.length < 1) return null;
  const index = first.accounts[0]!;
  if (!p.writable[index]) return null;
  const address = p.keys[index]!;
  const nonce = getAccount(address);
  if (!nonce || nonce.owner !== SYSTEM_PROGRAM || nonce.data.length !== NONCE_ACCOUNT_SIZE) return null;
  const state = new DataView(nonce.data.buffer, nonce.data.byteOffset, nonce.data.byteLength).getUint32(4, true);
  if (state !== 1) return null;
  const stored = bs58.encode(nonce.data.subarray(40, 72));
  if (stored !== p.recentBlockhash || stored === durableNonceOf(currentBlockhash)) return null;
  const authority = bs58.encode(nonce.data.subarray(8, 40));
  const authorized = first.accounts.some((a) => p.signer[a] && p.keys[a] === authority);
  return authorized ? address : null;
}

/**
 * A nonce account advanced under `blockhash`, as the runtime leaves it when a durable-nonce transaction fails
 * (the fee is charged and the nonce still moves on, so the failed transaction cannot be replayed).
 */
export function advancedNonce(nonce: AccountState, blockhash: string): AccountState {
  const data = new Uint8Array(nonce.data);
  data.set(bs58.decode(durableNonceOf(blockhash)), 40);
  new DataView(data.buffer).setBigUint64(72, NONCE_LAMPORTS_PER_SIGNATURE, true);
  return { ...nonce, data };
}

/**
 * The wire transaction with its recent blockhash replaced. LiteSVM runs instructions under the transaction's own
 * blockhash; a validator runs them under the bank's, which is what a nonce stores when initialized or advanced.
 * Signatures are not rechecked by LiteSVM (the chain verified them on the original bytes).
 */
export function withBlockhash(raw: Uint8Array, blockhash: string): Uint8Array {
  const out = new Uint8Array(raw);
  let offset = 0;
  const shortVec = (): number => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = out[offset++]!;
      value |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value;
    }
  };
  const signatures = shortVec();
  offset += 64 * signatures;
  if ((out[offset]! & 0x80) !== 0) offset += 1; // versioned message prefix
  offset += 3; // header
  const keys = shortVec();
  offset += 32 * keys;
  out.set(bs58.decode(blockhash), offset);
  return out;
}
