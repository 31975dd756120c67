/** Decodes the wire format of legacy and v0 transactions and messages (what getTransaction shows). */
import { encodeBase58 } from "../../src/solana/base58.ts";

export interface WireInstruction {
  programIdIndex: number;
  accounts: number[];
  data: Uint8Array;
}

export interface WireLookup {
  accountKey: string;
  writableIndexes: number[];
  readonlyIndexes: number[];
}

export interface WireMessage {
  version: "legacy" | number;
  header: { numRequiredSignatures: number; numReadonlySignedAccounts: number; numReadonlyUnsignedAccounts: number };
  staticKeys: string[];
  recentBlockhash: string;
  instructions: WireInstruction[];
  addressTableLookups: WireLookup[];
}

export interface WireTransaction {
  signatures: string[];
  message: WireMessage;
  /** The message bytes (what the signatures sign). */
  messageBytes: Uint8Array;
}

export class WireFormatError extends Error {
  override name = "WireFormatError";
}

class Reader {
  readonly bytes: Uint8Array;
  offset: number;
  constructor(bytes: Uint8Array, offset = 0) {
    this.bytes = bytes;
    this.offset = offset;
  }
  u8(): number {
    const v = this.bytes[this.offset];
    if (v === undefined) throw new WireFormatError("unexpected end of data");
    this.offset++;
    return v;
  }
  /** compact-u16 ("shortvec") length. */
  shortVec(): number {
    let value = 0;
    for (let shift = 0; shift < 21; shift += 7) {
      const b = this.u8();
      value |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return value;
    }
    throw new WireFormatError("invalid compact-u16");
  }
  take(n: number): Uint8Array {
    if (this.offset + n > this.bytes.length) throw new WireFormatError("unexpected end of data");
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
  indexes(): number[] {
    const n = this.shortVec();
    return Array.from(this.take(n));
  }
}

function readMessage(r: Reader): WireMessage {
  const first = r.bytes[r.offset];
  let version: "legacy" | number = "legacy";
  if (first !== undefined && (first & 0x80) !== 0) {
    version = first & 0x7f;
    r.offset++;
    if (version !== 0) throw new WireFormatError(`unsupported message version ${version}`);
  }
  const header = { numRequiredSignatures: r.u8(), numReadonlySignedAccounts: r.u8(), numReadonlyUnsignedAccounts: r.u8() };
  const keyCount = r.shortVec();
  const staticKeys: string[] = [];
  for (let i = 0; i < keyCount; i++) staticKeys.push(encodeBase58(r.take(32)));
  const recentBlockhash = encodeBase58(r.take(32));
  const instructionCount = r.shortVec();
  const instructions: WireInstruction[] = [];
  for (let i = 0; i < instructionCount; i++) {
    const programIdIndex = r.u8();
    const accounts = r.indexes();
    const data = r.take(r.shortVec());
    instructions.push({ programIdIndex, accounts, data });
  }
  const addressTableLookups: WireLookup[] = [];
  if (version !== "legacy") {
    const lookupCount = r.shortVec();
    for (let i = 0; i < lookupCount; i++) {
      const accountKey = encodeBase58(r.take(32));
      addressTableLookups.push({ accountKey, writableIndexes: r.indexes(), readonlyIndexes: r.indexes() });
    }
  }
  return { version, header, staticKeys, recentBlockhash, instructions, addressTableLookups };
}

export function decodeMessage(bytes: Uint8Array): WireMessage {
  const r = new Reader(bytes);
  const message = readMessage(r);
  if (r.offset !== bytes.length) throw new WireFormatError("trailing bytes after message");
  return message;
}

export function decodeTransaction(bytes: Uint8Array): WireTransaction {
  const r = new Reader(bytes);
  const count = r.shortVec();
  const signatures: string[] = [];
  for (let i = 0; i < count; i++) signatures.push(encodeBase58(r.take(64)));
  const start = r.offset;
  const message = readMessage(r);
  if (r.offset !== bytes.length) throw new WireFormatError("trailing bytes after transaction");
  return { signatures, message, messageBytes: bytes.subarray(start) };
}

