/**
 * `npm run bench:ledger`: how long the ledger reconciler takes for N x402 payments (default 10,000).
 *
 * A local chain receives N real x402-shaped payments into payTo's USDC account (compute budget + one
 * TransferChecked signed by a demo payer, fee paid by the facilitator; amounts cycle through the demo route's
 * full and tier prices). The ledger is then shaped as after a bad day: a third of the payments are open
 * reservations (to complete), a third are settled rows (nothing to do), a third have no row (to insert).
 *
 * Printed: the reconciliation's wall time, and the comparison it is measured against: the raw RPC fetch of the
 * same history (getSignaturesForAddress pages + getTransaction batches, nothing decoded or written), with the
 * ratio reconcile / raw fetch. Usage: node bench/ledger.ts [payments]
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createTransferCheckedInstruction, getAssociatedTokenAddressSync, TOKEN_PROGRAM_ID } from "@solana/spl-token";
import { ComputeBudgetProgram, Keypair, PublicKey, TransactionMessage, VersionedTransaction } from "@solana/web3.js";
import { paymentKeyOf } from "../api/paywall/payment-header.ts";
import { createChainHistory } from "../jobs/ledger/chain-history.ts";
import { createLedgerReconciler, payToUsdcAccount } from "../jobs/ledger/reconciler.ts";
import { loadLocalnetConfig } from "../localnet/demo-env.ts";
import { createUsageRepository } from "../src/db/repositories/usage.ts";
import { priceForTier, fullPrice } from "../src/domain/quote.ts";
import { createLogger } from "../src/log.ts";
import { withFreshSchema } from "../test/kit/db.ts";
import { startTestLocalnet } from "../test/kit/localnet.ts";

const N = Number(process.argv[2] ?? "10000");
if (!Number.isInteger(N) || N < 3) {
  process.stderr.write("usage: node bench/ledger.ts [payments >= 3]\n");
  process.exit(2);
}

const logger = createLogger({ level: "silent" });
const chain = await startTestLocalnet({ slotMs: 50, logger });
const schema = await withFreshSchema();
try {
  const seed = chain.seed;
  const config = loadLocalnetConfig({ KAMIYO_CLUSTER: "localnet", SOLANA_RPC_URL: chain.httpUrl, ...chain.env });
  const mint = new PublicKey(seed.usdcMint);
  const payToAta = new PublicKey(payToUsdcAccount(config.x402.payTo, seed.usdcMint));
  const keypair = async (file: string) => Keypair.fromSecretKey(Uint8Array.from(JSON.parse(await readFile(file, "utf8")) as number[]));
  const feePayer = await keypair(join(seed.walletsDir, "facilitator.json"));
  const payers = await Promise.all(seed.wallets.slice(0, 4).map((w) => keypair(w.keypairPath)));
  for (const p of payers) chain.chain.setTokenAccount(p.publicKey.toBase58(), seed.usdcMint, { amount: 1_000_000n * 1_000_000n }, TOKEN_PROGRAM_ID.toBase58());
  const route = config.x402.routes[0]!;
  const amounts = [fullPrice(route.price), ...config.tiers.map((t) => priceForTier(route.price, { name: t.name, discountBps: t.discountBps, priority: t.priority }))].map((d) => d.amount);

  // N payments, sent in JSON-RPC batches.
  process.stdout.write(`sending ${N} x402 payments to the local chain...\n`);
  const made: Array<{ key: string; blockhash: string; payer: string; amount: bigint }> = [];
  const sendStarted = performance.now();
  for (let i = 0; i < N; i += 250) {
    const { blockhash } = chain.chain.latestBlockhash("processed");
    const batch: string[] = [];
    for (let j = i; j < Math.min(N, i + 250); j++) {
      const payer = payers[j % payers.length]!;
      const amount = amounts[j % amounts.length]!;
      const message = new TransactionMessage({
        payerKey: feePayer.publicKey,
        recentBlockhash: blockhash,
        instructions: [
          ComputeBudgetProgram.setComputeUnitLimit({ units: 20_000 }),
          ComputeBudgetProgram.setComputeUnitPrice({ microLamports: j + 1 }),
          createTransferCheckedInstruction(getAssociatedTokenAddressSync(mint, payer.publicKey), mint, payToAta, payer.publicKey, amount, 6),
        ],
      }).compileToV0Message();
      const tx = new VersionedTransaction(message);
      tx.sign([feePayer, payer]);
      made.push({ key: paymentKeyOf(message.serialize()), blockhash, payer: payer.publicKey.toBase58(), amount });
      batch.push(Buffer.from(tx.serialize()).toString("base64"));
    }
    const res = await fetch(chain.httpUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(batch.map((t, id) => ({ jsonrpc: "2.0", id, method: "sendTransaction", params: [t, { encoding: "base64", skipPreflight: true }] }))),
    });
    const replies = (await res.json()) as Array<{ error?: { message: string } }>;
    const failed = replies.find((r) => r.error);
    if (failed) throw new Error(`sendTransaction: ${failed.error!.message}`);
  }
  chain.chain.advanceSlots(2);
  process.stdout.write(`sent in ${((performance.now() - sendStarted) / 1000).toFixed(1)} s; shaping the ledger...\n`);

  // A third open reservations, a third settled rows, a third missing.
  const usage = createUsageRepository(schema.db);
  const base = { endpoint: route.path, method: route.method, statusCode: 200, network: config.x402.network, asset: seed.usdcMint, payTo: config.x402.payTo };
  const history = createChainHistory({ rpcUrl: chain.httpUrl });
  const sigs: string[] = [];
  for (let before: string | undefined; ; ) {
    const page = await history.signatures(payToAta.toBase58(), { ...(before ? { before } : {}), limit: 1000 });
    sigs.push(...page.map((s) => s.signature));
    if (page.length < 1000) break;
    before = page[page.length - 1]!.signature;
  }
  const sigByKey = new Map<string, string>();
  for (const tx of await history.transactions(sigs)) {
    if (!tx) continue;
    const { getTransactionDecoder } = await import("@solana/kit");
    sigByKey.set(paymentKeyOf(Uint8Array.from(getTransactionDecoder().decode(tx.raw).messageBytes)), tx.signature);
  }
  for (let i = 0; i < made.length; i++) {
    const m = made[i]!;
    const record = { ...base, paymentKey: m.key, payer: m.payer, amountCharged: m.amount, originalAmount: route.price, discountTier: null, discountBps: 0, savings: route.price - m.amount, recentBlockhash: m.blockhash };
    if (i % 3 === 0) await usage.reserve(record);
    else if (i % 3 === 1) await usage.complete({ ...record, settlementSignature: sigByKey.get(m.key)!, responseTimeMs: 1, settledAt: new Date() });
  }

  // The comparison: the raw RPC fetch of the same history.
  const raw = createChainHistory({ rpcUrl: chain.httpUrl });
  let t0 = performance.now();
  const all: string[] = [];
  for (let before: string | undefined; ; ) {
    const page = await raw.signatures(payToAta.toBase58(), { ...(before ? { before } : {}), limit: 1000 });
    all.push(...page.filter((s) => !s.failed).map((s) => s.signature));
    if (page.length < 1000) break;
    before = page[page.length - 1]!.signature;
  }
  for (let i = 0; i < all.length; i += 500) await raw.transactions(all.slice(i, i + 500));
  const rawMs = performance.now() - t0;

  const reconciler = createLedgerReconciler({
    db: schema.db,
    history: createChainHistory({ rpcUrl: chain.httpUrl }),
    payTo: config.x402.payTo,
    usdcMint: seed.usdcMint,
    network: config.x402.network,
    routes: config.x402.routes,
    tiers: config.tiers,
    logger,
  });
  t0 = performance.now();
  const report = await reconciler.reconcile();
  const reconcileMs = performance.now() - t0;
  t0 = performance.now();
  const second = await reconciler.reconcile();
  const incrementalMs = performance.now() - t0;

  const expected = { completed: Math.ceil(N / 3), inserted: Math.floor(N / 3) };
  const ok = report.completed === expected.completed && report.inserted === expected.inserted && report.released === 0;
  console.log(`payments on chain             ${N} (transactions read ${report.transactionsRead})`);
  console.log(`repaired                      completed ${report.completed}, inserted ${report.inserted}, released ${report.released}, non-x402 ${report.unexplained}${ok ? "" : `  (EXPECTED completed ${expected.completed}, inserted ${expected.inserted})`}`);
  console.log(`reconcile (full history)      ${(reconcileMs / 1000).toFixed(2)} s  (${Math.round((N / reconcileMs) * 1000)} payments/s)`);
  console.log(`raw RPC fetch (comparison)    ${(rawMs / 1000).toFixed(2)} s  getSignaturesForAddress pages + getTransaction batches, nothing decoded or written`);
  console.log(`ratio reconcile / raw fetch   ${(reconcileMs / rawMs).toFixed(2)}x`);
  console.log(`next pass (nothing new)       ${incrementalMs.toFixed(0)} ms (read ${second.transactionsRead})`);
  if (!ok) process.exitCode = 1;
} finally {
  await schema.close();
  await chain.close();
}
