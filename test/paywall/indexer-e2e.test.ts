/**
 * A stake change on the chain changes the next quote without a restart: the real indexer follows the local
 * chain into `stakes` and NOTIFYs, and the paywall's tier cache picks the change up.
 */
import { readFile } from "node:fs/promises";
import { Keypair, Transaction } from "@solana/web3.js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createStakingInstructions } from "../../src/solana/instructions.ts";
import { PREMIUM_PRICE, startPaywallHarness, type PaywallHarness } from "./harness.ts";

const KAMIYO = 10n ** 9n;
let h: PaywallHarness;

beforeAll(async () => {
  h = await startPaywallHarness({ indexer: true });
});
afterAll(async () => {
  await h?.close();
});

async function quotedPrice(wallet: string): Promise<string> {
  const res = await fetch(`${h.url}/api/premium`, { headers: { "x-wallet-address": wallet } });
  return ((await res.json()) as { price: { amount: string } }).price.amount;
}

it("an unstake on the chain moves the staker out of its tier at the next quote, and it pays the full price", async () => {
  const silver = h.wallet("silver");
  expect(await quotedPrice(silver.address)).toBe("90000");

  const user = Keypair.fromSecretKey(Uint8Array.from(JSON.parse(await readFile(silver.keypairPath, "utf8")) as number[]));
  const staking = createStakingInstructions(h.config.solana.programId, h.config.solana.kamiyoMint);
  const tx = new Transaction({ feePayer: user.publicKey, recentBlockhash: h.chain.chain.latestBlockhash().blockhash });
  tx.add(await staking.unstake(user.publicKey, 60_000n * KAMIYO)).sign(user);
  h.chain.chain.sendTransaction(tx.serialize(), { skipPreflight: false });

  // 150k staked, 60k in cooldown: 90k effective, below the first tier.
  await expect.poll(() => quotedPrice(silver.address), { timeout: 10_000, interval: 100 }).toBe(PREMIUM_PRICE.toString());
  const before = await h.usdcBalance(silver.address);
  const res = await (await h.payingFetch("silver"))(`${h.url}/api/premium`, { headers: { "x-wallet-address": silver.address } });
  expect(res.status).toBe(200);
  expect(before - (await h.usdcBalance(silver.address))).toBe(PREMIUM_PRICE);
});
