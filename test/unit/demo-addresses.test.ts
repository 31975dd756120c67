import { describe, expect, it } from "vitest";
import { DEMO_ADDRESSES } from "../../localnet/demo-addresses.ts";
import { demoKeypair } from "../../localnet/demo-keys.ts";
import { PUBLICLY_KNOWN_KEYS } from "../../src/config.ts";

describe("DEMO_ADDRESSES", () => {
  it.each(Object.entries(DEMO_ADDRESSES))("%s is demoKeypair(%s).publicKey", (name, address) => {
    expect(demoKeypair(name).publicKey.toBase58()).toBe(address);
  });

  it("are all different", () => {
    expect(new Set(Object.values(DEMO_ADDRESSES)).size).toBe(Object.keys(DEMO_ADDRESSES).length);
  });

  it("derive deterministically", () => {
    expect(demoKeypair("admin").secretKey).toEqual(demoKeypair("admin").secretKey);
  });
});

describe("PUBLICLY_KNOWN_KEYS (what config refuses outside localnet)", () => {
  it("is every demo wallet, and only wallets (mints are addresses, not keys anyone needs)", () => {
    const wallets = Object.entries(DEMO_ADDRESSES).filter(([name]) => !name.endsWith("Mint"));
    expect(new Map(wallets.map(([name, address]) => [address, name]))).toEqual(PUBLICLY_KNOWN_KEYS);
  });
});
