/** Parses wire transactions (legacy and v0) into what the chain core needs: keys, flags, fee, signers. */
import { createPublicKey, verify } from "node:crypto";
import { AddressLookupTableAccount, PublicKey, VersionedTransaction } from "@solana/web3.js";
import bs58 from "bs58";
import { RpcError, type AccountState } from "./types.ts";

export const COMPUTE_BUDGET_PROGRAM = "ComputeBudget111111111111111111111111111111";
export const LAMPORTS_PER_SIGNATURE = 5000n;
const DEFAULT_UNITS_PER_INSTRUCTION = 200_000;
const MAX_COMPUTE_UNITS = 1_400_000;
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

export interface ParsedInstruction {
  programIndex: number;
  accounts: number[];
  data: Uint8Array;
}

export interface ParsedTransaction {
  raw: Uint8Array;
  tx: VersionedTransaction;
  legacy: boolean;
  signature: string;
  signatures: string[];
  recentBlockhash: string;
  /** Static keys, then loaded writable, then loaded readonly. */
  keys: string[];
  loaded: { writable: string[]; readonly: string[] };
  signer: boolean[];
  writable: boolean[];
  instructions: ParsedInstruction[];
  fee: bigint;
  computeUnitLimit: number;
}

export function parseTransaction(
  raw: Uint8Array,
  getAccount: (pubkey: string) => AccountState | null,
): ParsedTransaction {
  let tx: VersionedTransaction;
  try {
    tx = VersionedTransaction.deserialize(raw);
  } catch (err) {
    throw new RpcError(-32602, `invalid transaction: failed to deserialize VersionedTransaction: ${(err as Error).message}`);
  }
  const message = tx.message;
  const legacy = message.version === "legacy";
  const header = message.header;
  const staticKeys = message.staticAccountKeys.map((k) => k.toBase58());
  if (tx.signatures.length !== header.numRequiredSignatures || staticKeys.length < header.numRequiredSignatures) {
    throw new RpcError(-32602, "invalid transaction: signature count does not match the message header");
  }
  const loaded = { writable: [] as string[], readonly: [] as string[] };
  for (const lookup of message.addressTableLookups) {
    const table = getAccount(lookup.accountKey.toBase58());
    if (!table) throw new RpcError(-32602, `invalid transaction: address lookup table ${lookup.accountKey.toBase58()} not found`);
    const state = AddressLookupTableAccount.deserialize(table.data);
    const pick = (i: number) => {
      const key = state.addresses[i];
      if (!key) throw new RpcError(-32602, "invalid transaction: address lookup table index out of range");
      return key.toBase58();
    };
    loaded.writable.push(...lookup.writableIndexes.map(pick));
    loaded.readonly.push(...lookup.readonlyIndexes.map(pick));
  }
  const keys = [...staticKeys, ...loaded.writable, ...loaded.readonly];
  const signer: boolean[] = [];
  const writable: boolean[] = [];
  const n = staticKeys.length;
  for (let i = 0; i < keys.length; i++) {
    signer.push(i < header.numRequiredSignatures);
    if (i < header.numRequiredSignatures) writable.push(i < header.numRequiredSignatures - header.numReadonlySignedAccounts);
    else if (i < n) writable.push(i < n - header.numReadonlyUnsignedAccounts);
    else writable.push(i < n + loaded.writable.length);
  }
  const instructions = message.compiledInstructions.map((ix) => ({
    programIndex: ix.programIdIndex,
    accounts: [...ix.accountKeyIndexes],
    data: ix.data,
  }));
  for (const ix of instructions) {
    if (ix.programIndex >= keys.length || ix.accounts.some((a) => a >= keys.length)) {
      throw new RpcError(-32602, "invalid transaction: instruction account index out of range");
    }
  }
  let unitPrice = 0n;
  let unitLimit: number | null = null;
  let nonBudget = 0;
  for (const ix of instructions) {
    if (keys[ix.programIndex] !== COMPUTE_BUDGET_PROGRAM) {
      nonBudget++;
      continue;
    }
    const d = Buffer.from(ix.data);
    if (d[0] === 2 && d.length >= 5) unitLimit = d.readUInt32LE(1);
    if (d[0] === 3 && d.length >= 9) unitPrice = d.readBigUInt64LE(1);
  }
  const computeUnitLimit = Math.min(unitLimit ?? DEFAULT_UNITS_PER_INSTRUCTION * nonBudget, MAX_COMPUTE_UNITS);
  const priority = (unitPrice * BigInt(computeUnitLimit) + 999_999n) / 1_000_000n;
  const signatures = tx.signatures.map((s) => bs58.encode(s));
  return {
    raw,
    tx,
    legacy,
    signature: signatures[0] ?? "",
    signatures,
    recentBlockhash: message.recentBlockhash,
    keys,
    loaded,
    signer,
    writable,
    instructions,
    fee: LAMPORTS_PER_SIGNATURE * BigInt(header.numRequiredSignatures) + priority,
    computeUnitLimit,
  };
}

/** True when every required signature verifies against the message bytes. */
export function signaturesVerify(p: ParsedTransaction): boolean {
  const message = p.tx.message.serialize();
  return p.tx.signatures.every((sig, i) => {
    const key = p.keys[i];
    if (!key) return false;
    const spki = Buffer.concat([ED25519_SPKI_PREFIX, new PublicKey(key).toBuffer()]);
    try {
      return verify(null, message, createPublicKey({ key: spki, format: "der", type: "spki" }), sig);
    } catch {
      return false;
    }
  });
}
