/**
 * The little-endian bincode reader the account parsers decode with. Short marks data that ends early or holds
 * an impossible value: the parser's caller then answers base64, as the validator does.
 */
import { encodeBase58 } from "../../src/solana/base58.ts";

export class Short extends Error {}

/** A little-endian bincode reader that throws Short past the end. */
export class Reader {
  private readonly dv: DataView;
  private readonly bytes: Uint8Array;
  offset: number;
  constructor(bytes: Uint8Array, offset = 0) {
    this.bytes = bytes;
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = offset;
  }
  private take(n: number): number {
    if (this.offset + n > this.bytes.length) throw new Short();
    const at = this.offset;
    this.offset += n;
    return at;
  }
  u8(): number {
    return this.bytes[this.take(1)]!;
  }
  bool(): boolean {
    const v = this.u8();
    if (v > 1) throw new Short();
    return v === 1;
  }
  u16(): number {
    return this.dv.getUint16(this.take(2), true);
  }
  i16(): number {
    return this.dv.getInt16(this.take(2), true);
  }
  u32(): number {
    return this.dv.getUint32(this.take(4), true);
  }
  u64(): bigint {
    return this.dv.getBigUint64(this.take(8), true);
  }
  i64(): bigint {
    return this.dv.getBigInt64(this.take(8), true);
  }
  f64(): number {
    return this.dv.getFloat64(this.take(8), true);
  }
  u128(): bigint {
    const lo = this.u64();
    return (this.u64() << 64n) | lo;
  }
  key(): string {
    const at = this.take(32);
    return encodeBase58(this.bytes.subarray(at, at + 32));
  }
  /** bincode Option<T>: a one-byte tag. */
  option<T>(read: () => T): T | null {
    return this.bool() ? read() : null;
  }
  /** bincode Vec<T>/VecDeque<T>: a u64 length. */
  vec<T>(read: () => T): T[] {
    const n = this.u64();
    if (n > BigInt(this.bytes.length)) throw new Short();
    return Array.from({ length: Number(n) }, read);
  }
  /** solana short_vec length (compact-u16). */
  shortVec<T>(read: () => T): T[] {
    let n = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = this.u8();
      n |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
    }
    return Array.from({ length: n }, read);
  }
  string(): string {
    const n = Number(this.u64());
    const at = this.take(n);
    return new TextDecoder("utf-8", { fatal: true }).decode(this.bytes.subarray(at, at + n));
  }
  rest(): Uint8Array {
    return this.bytes.subarray(this.offset);
  }
}

export const base64 = (bytes: Uint8Array): [string, string] => [Buffer.from(bytes).toString("base64"), "base64"];
