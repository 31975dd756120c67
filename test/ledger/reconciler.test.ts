/**
 * The ledger reconciler against the paywall on the local chain: a settle whose answer times out after the
 * money moved keeps its reservation (the payment cannot settle again) and is completed from the chain; an
 * incoming USDC transfer that is not an x402 payment is recorded apart and never counted as revenue; a row that
 * settles for a day already allocated is recorded in ledger_late_rows and alerted once.
 */
import { join } from "node:path";
import { createTransferCheckedInstruction, getAssociatedTokenAddressSync } from "@solana/spl-token";
import { Keypair, PublicKey, Transaction } from "@solana/web3.js";
import { readFile } from "node:fs/promises";
import { FacilitatorTimeoutError } from "@x402/core/server";
import type { Network } from "@x402/core/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createInProcessFacilitator } from "../../api/paywall/facilitator.ts";
import { createRunStore } from "../../jobs/runs.ts";
import { createUsageRepository } from "../../src/db/repositories/usage.ts";
import { utcDayOf, utcDayWindow } from "../../src/domain/utc-day.ts";
import { readKeypairFile } from "../../src/solana/keypair-file.ts";
import { PREMIUM_PRICE, startPaywallHarness, type PaywallHarness } from "../paywall/harness.ts";
import { chainIncreases, payToBalance, rpcCall, testReconciler } from "./helpers.ts";

describe("the ledger reconciler", () => {
  let h: PaywallHarness;
  let answerLate = false;

  beforeAll(async () => {
    h = await startPaywallHarness({
      deps: (d, chain) => {
        const inner = createInProcessFacilitator({
          secretKey: readKeypairFile(join(chain.seed!.walletsDir, "facilitator.json"), "facilitator keypair"),
          rpcUrl: chain.httpUrl,
          network: d.config.x402.network as Network,
        });
        return {
          ...d,
          facilitator: {
            verify: (p, r) => inner.verify(p, r),
            getSupported: () => inner.getSupported(),
            // A hosted facilitator that settles but answers after the paywall stopped waiting.
            async settle(p, r) {
              const result = await inner.settle(p, r);
              if (answerLate) throw new FacilitatorTimeoutError("settle", 30_000);
              return result;
            },
          },
        };
      },
    });
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  it("keeps the reservation of a settle whose answer timed out, refuses to settle it again, and completes it from the chain", async () => {
    const startSlot = BigInt(await rpcCall<number>(h.chain.httpUrl, "getSlot", [{ commitment: "finalized" }]));
    const before = await payToBalance(h.chain.httpUrl, h.config);
    const pay = await h.payingFetch("nonstaker");
    const first = await pay(`${h.url}/api/premium`);
    expect(first.status, `${first.headers.get("payment-required") ? Buffer.from(first.headers.get("payment-required")!, "base64").toString() : ""} ${await first.clone().text()}`).toBe(200);

    answerLate = true;
    const header = await h.signedPayment("silver");
    const late = await fetch(`${h.url}/api/premium`, { headers: { "PAYMENT-SIGNATURE": header } });
    expect(late.status).not.toBe(200);
    expect(await late.text()).not.toContain("premium\":true");
    answerLate = false;
    const open = (await h.usageRows()).filter((r) => r.settlement_signature === null);
    expect(open).toHaveLength(1);

    const again = await fetch(`${h.url}/api/premium`, { headers: { "PAYMENT-SIGNATURE": header } });
    expect(again.status).toBe(402);
    await again.body?.cancel();

    const report = await testReconciler(h.schema.db, h.config, h.chain.httpUrl).reconcile();
    expect(report.completed).toBe(1);
    const rows = await h.usageRows();
    expect(rows.every((r) => typeof r.settlement_signature === "string")).toBe(true);
    const onChain = await chainIncreases(h.chain.httpUrl, h.config, startSlot);
    const increase = (await payToBalance(h.chain.httpUrl, h.config)) - before;
    expect(increase).toBe(2n * PREMIUM_PRICE);
    expect(rows.reduce((s, r) => s + (r.amount_charged as bigint), 0n)).toBe(increase);
    expect(rows.map((r) => r.settlement_signature).sort()).toEqual([...onChain.keys()].sort());
  }, 60_000);

  it("records a plain USDC transfer to payTo apart, never as revenue", async () => {
    const w = h.wallet("gold");
    const owner = Keypair.fromSecretKey(Uint8Array.from(JSON.parse(await readFile(w.keypairPath, "utf8")) as number[]));
    const mint = new PublicKey(h.chain.seed!.usdcMint);
    const tx = new Transaction({ feePayer: owner.publicKey, recentBlockhash: (await rpcCall<{ value: { blockhash: string } }>(h.chain.httpUrl, "getLatestBlockhash", [])).value.blockhash });
    tx.add(createTransferCheckedInstruction(getAssociatedTokenAddressSync(mint, owner.publicKey), mint, getAssociatedTokenAddressSync(mint, new PublicKey(h.config.x402.payTo), true), owner.publicKey, 12_345n, 6));
    tx.sign(owner);
    const signature = await rpcCall<string>(h.chain.httpUrl, "sendTransaction", [tx.serialize().toString("base64"), { encoding: "base64" }]);
    const rowsBefore = (await h.usageRows()).length;

    const report = await testReconciler(h.schema.db, h.config, h.chain.httpUrl).reconcile();
    expect(report.unexplained).toBe(1);
    expect(report.inserted).toBe(0);
    expect((await h.usageRows()).length).toBe(rowsBefore);
    const recorded = await h.schema.db.selectFrom("ledger_incoming_transfers").selectAll().where("signature", "=", signature).executeTakeFirstOrThrow();
    expect(BigInt(recorded.amount)).toBe(12_345n);
    expect(recorded.reason).toBe("no_separate_fee_payer");
  }, 60_000);

  it("records and alerts a row that settles for a day already allocated", async () => {
    const day = utcDayOf(new Date());
    const store = createRunStore(h.schema.db);
    await store.ensureRuns([{ day, ...utcDayWindow(day) }]);
    const run = (await store.getRunByDate(day))!;
    expect(await store.allocate(run, { revenue: 1n, requestCount: 1n, allocationBps: 3000, allocation: 0n })).toBe(true);

    const usage = createUsageRepository(h.schema.db);
    const record = {
      paymentKey: "late-payment-key",
      payer: h.wallet("small").address,
      endpoint: "/api/premium",
      method: "GET",
      statusCode: 200,
      amountCharged: 777n,
      originalAmount: 777n,
      discountTier: null,
      discountBps: 0,
      savings: 0n,
      network: h.config.x402.network,
      asset: h.config.solana.usdcMint,
      payTo: h.config.x402.payTo,
    };
    expect(await usage.reserve(record)).toBe(true);
    await usage.complete({ ...record, settlementSignature: "late-signature", responseTimeMs: 1, settledAt: new Date() });

    const alerts: string[] = [];
    const report = await testReconciler(h.schema.db, h.config, h.chain.httpUrl, { alert: async (text) => void alerts.push(text) }).reconcile();
    expect(report.lateRows).toBe(1);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toContain(day);
    const late = await h.schema.db.selectFrom("ledger_late_rows").selectAll().execute();
    expect(late.map((r) => [r.signature, BigInt(r.amount), r.alerted_at !== null])).toEqual([["late-signature", 777n, true]]);
    // Alerted once.
    expect((await testReconciler(h.schema.db, h.config, h.chain.httpUrl, { alert: async (text) => void alerts.push(text) }).reconcile()).lateRows).toBe(0);
  }, 60_000);
});
