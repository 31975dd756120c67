/** A little-endian reader for instruction data; ParseFailure makes the caller show the instruction partially decoded. */
import { encodeBase58 } from "../../src/solana/base58.ts";

export class ParseFailure extends Error {}

export class Cursor {
  readonly dv: DataView;
  readonly bytes: Uint8Array;
  offset = 0;
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number): void {
    if (this.offset + n > this.bytes.length) throw new ParseFailure("short data");
  }
  u8(): number {
    this.need(1);
    return this.bytes[this.offset++]!;
  }
  u32(): number {
    this.need(4);
    const v = this.dv.getUint32(this.offset, true);
    this.offset += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.dv.getBigUint64(this.offset, true);
    this.offset += 8;
    return v;
  }
  i64(): bigint {
    this.need(8);
    const v = this.dv.getBigInt64(this.offset, true);
    this.offset += 8;
    return v;
  }
  key(): string {
    this.need(32);
    const v = encodeBase58(this.bytes.subarray(this.offset, this.offset + 32));
    this.offset += 32;
    return v;
  }
  /** Rust String / Vec<u8> as bincode writes it: u64 length then bytes. */
  bincodeString(): string {
    const n = Number(this.u64());
    this.need(n);
    const v = new TextDecoder("utf-8", { fatal: true }).decode(this.bytes.subarray(this.offset, this.offset + n));
    this.offset += n;
    return v;
  }
  /** COption<Pubkey> as spl-token instruction data writes it: u8 tag then 32 bytes when 1. */
  optionKey(): string | null {
    return this.u8() === 1 ? this.key() : null;
  }
}

export function accountAt(accounts: string[], i: number): string {
  const a = accounts[i];
  if (a === undefined) throw new ParseFailure("missing account");
  return a;
}
