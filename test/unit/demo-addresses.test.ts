import { describe, expect, it } from "vitest";
import { DEMO_ADDRESSES } from "../../localnet/demo-addresses.ts";
import { demoKeypair } from "../../localnet/demo-keys.ts";

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
