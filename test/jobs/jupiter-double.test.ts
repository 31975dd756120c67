/**
 * The Jupiter double, through the same `@jup-ag/api` client the pipeline uses: quotes at the configured
 * price, a real transfer pair partially signed by the liquidity wallet, and an injected slippage failure
 * that lands as a failed transaction (fee paid, tokens untouched).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Keypair } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJupiter } from "../../jobs/jupiter.ts";
import { RetryableStepError } from "../../jobs/errors.ts";
import { PRICE, startHarness, type Harness } from "./harness.ts";

describe("the Jupiter double", () => {
  let h: Harness;
  let admin: Keypair;
  beforeAll(async () => {
    h = await startHarness();
    admin = Keypair.fromSecretKey(Uint8Array.from(JSON.parse(await readFile(join(h.net.seed!.walletsDir, "admin.json"), "utf8")) as number[]));
  });
  afterAll(async () => {
    await h.close();
  });

  const bounds = () => ({ inputMint: h.net.seed!.usdcMint, outputMint: h.net.seed!.kamiyoMint, amount: 2_500_000n, slippageBps: 50, maxPriceImpactBps: 100 });

  it("wants the API key", async () => {
    const keyless = createJupiter({ apiUrl: h.net.jupiter!.url, apiKey: undefined });
    await expect(keyless.quote(bounds())).rejects.toThrow(RetryableStepError);
    await expect(keyless.quote(bounds())).rejects.toThrow(/HTTP 401/);
  });

  it("quotes at its price and swaps with a real transfer pair the user signs last", async () => {
    const jupiter = createJupiter({ apiUrl: h.net.jupiter!.url, apiKey: "test-jupiter-key" });
    const quote = await jupiter.quote(bounds());
    const out = (2_500_000n * 10n ** 9n) / PRICE;
    expect(quote).toMatchObject({ inAmount: 2_500_000n, outAmount: out, minOut: (out * 9950n) / 10_000n, impactBps: 0n });
    const { tx, lastValidBlockHeight } = await jupiter.swap(quote, admin.publicKey);
    expect(tx.message.staticAccountKeys[0]!.equals(admin.publicKey)).toBe(true);
    expect(tx.signatures[0]!.every((b) => b === 0)).toBe(true); // the user's slot is still empty
    expect(tx.signatures.slice(1).every((s) => s.some((b) => b !== 0))).toBe(true); // the liquidity wallet signed
    tx.sign([admin]);
    const usdcBefore = await h.tokenBalance(h.adminUsdc);
    const kamiyoBefore = await h.tokenBalance(h.adminKamiyo);
    const sig = await h.connection.sendRawTransaction(tx.serialize());
    expect((await h.connection.getSignatureStatuses([sig])).value[0]).toMatchObject({ err: null, confirmationStatus: "finalized" });
    expect(lastValidBlockHeight).toBeGreaterThan(BigInt(await h.connection.getBlockHeight()));
    expect(await h.tokenBalance(h.adminUsdc)).toBe(usdcBefore - 2_500_000n);
    expect(await h.tokenBalance(h.adminKamiyo)).toBe(kamiyoBefore + out);
  });

  it("lands an injected slippage failure as a failed transaction: fee paid, tokens untouched", async () => {
    const jupiter = createJupiter({ apiUrl: h.net.jupiter!.url, apiKey: "test-jupiter-key" });
    h.net.jupiter!.failNextSwaps(1);
    const { tx } = await jupiter.swap(await jupiter.quote(bounds()), admin.publicKey);
    tx.sign([admin]);
    const lamports = await h.connection.getBalance(admin.publicKey);
    const usdc = await h.tokenBalance(h.adminUsdc);
    const kamiyo = await h.tokenBalance(h.adminKamiyo);
    const sig = await h.connection.sendRawTransaction(tx.serialize(), { skipPreflight: true });
    const status = (await h.connection.getSignatureStatuses([sig], { searchTransactionHistory: true })).value[0];
    expect(status?.err).toEqual({ InstructionError: [3, { Custom: 6001 }] });
    const landed = await h.connection.getTransaction(sig, { maxSupportedTransactionVersion: 0 });
    expect(landed?.meta?.logMessages?.join("\n")).toMatch(/SlippageToleranceExceeded/);
    expect(await h.connection.getBalance(admin.publicKey)).toBe(lamports - landed!.meta!.fee);
    expect(await h.tokenBalance(h.adminUsdc)).toBe(usdc);
    expect(await h.tokenBalance(h.adminKamiyo)).toBe(kamiyo);
  });
});
