/** The project's base58 against bs58 (the reference): same text for every input, and decoding inverts it. */
import { randomBytes } from "node:crypto";
import bs58 from "bs58";
import { describe, expect, it } from "vitest";
import { decodeBase58, encodeBase58 } from "../../src/solana/base58.ts";

/** Random bytes, with leading zeros or all-0xff now and then (the encodings' edge cases). */
function sample(length: number, i: number): Uint8Array {
  const bytes = randomBytes(length);
  if (i % 5 === 1) bytes.fill(0, 0, Math.min(length, 1 + (i % 7)));
  if (i % 11 === 2) bytes.fill(0xff);
  if (i % 13 === 3) bytes.fill(0);
  return bytes;
}

describe("base58", () => {
  it("encodes as bs58 does and decodes back, for every length up to 200 and for 32- and 64-byte keys", () => {
    const lengths = [...Array.from({ length: 201 }, (_, n) => n), ...Array<number>(2_000).fill(32), ...Array<number>(500).fill(64)];
    lengths.forEach((length, i) => {
      const bytes = sample(length, i);
      const text = encodeBase58(bytes);
      expect(text, `length ${length}`).toBe(bs58.encode(bytes));
      expect(Buffer.from(decodeBase58(text)!).equals(Buffer.from(bytes)), `length ${length}`).toBe(true);
    });
  });

  it("refuses text outside the alphabet", () => {
    for (const bad of ["0", "O", "I", "l", "abc+", "é"]) expect(decodeBase58(bad)).toBeNull();
  });
});
