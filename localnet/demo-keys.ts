/**
 * Deterministic keypairs for the local demo chain only. Derived from public seeds, so they guard nothing:
 * never use them outside the local chain.
 */
import { createHash } from "node:crypto";
import { Keypair } from "@solana/web3.js";

export type DemoKeyName = "admin" | "kamiyoMint" | "usdcMint" | "payTo" | "facilitator" | "jupiterLiquidity";

export function demoKeypair(name: DemoKeyName | string): Keypair {
  const seed = createHash("sha256").update(`kamiyo-stake/localnet-demo/${name}`).digest();
  return Keypair.fromSeed(seed);
}
