/**
 * What the ledger tests share: paying clients for the demo wallets, payTo's USDC balance, the chain's view of
 * payTo's history, a reconciler over the local chain, an API child process (fixtures/api-child.ts), and the
 * comparison the issue asks for: x402_usage against the chain, payment by payment.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { createKeyPairSignerFromBytes } from "@solana/kit";
import { wrapFetchWithPayment, x402Client } from "@x402/fetch";
import type { Network } from "@x402/core/types";
import { ExactSvmScheme } from "@x402/svm/exact/client";
import type { Kysely } from "kysely";
import type { Alerter } from "../../jobs/alerts.ts";
import { createChainHistory } from "../../jobs/ledger/chain-history.ts";
import { createLedgerReconciler, payToUsdcAccount, type LedgerReconciler } from "../../jobs/ledger/reconciler.ts";
import type { Config } from "../../src/config.ts";
import type { Database } from "../../src/db/schema.ts";
import { createLogger } from "../../src/log.ts";
import type { DemoSeed } from "../../localnet/seed-demo.ts";

export async function x402ClientFor(seed: DemoSeed, config: Config, rpcUrl: string, name: string): Promise<x402Client> {
  const w = seed.wallets.find((x) => x.name === name);
  if (!w) throw new Error(`no demo wallet ${name}`);
  const bytes = Uint8Array.from(JSON.parse(await readFile(w.keypairPath, "utf8")) as number[]);
  const client = new x402Client();
  client.register(config.x402.network as Network, new ExactSvmScheme(await createKeyPairSignerFromBytes(bytes), { rpcUrl }));
  client.setSpendControls({ allowedAssets: [{ network: config.x402.network as Network, asset: seed.usdcMint, maxAmountPerPayment: "1000000" }] });
  return client;
}

export async function payingFetch(seed: DemoSeed, config: Config, rpcUrl: string, name: string): Promise<typeof fetch> {
  return wrapFetchWithPayment(fetch, await x402ClientFor(seed, config, rpcUrl, name));
}

/** One JSON-RPC call to the chain at `rpcUrl`. */
export async function rpcCall<T>(rpcUrl: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(rpcUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
  const body = (await res.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

export async function payToBalance(rpcUrl: string, config: Config): Promise<bigint> {
  const account = payToUsdcAccount(config.x402.payTo, config.solana.usdcMint);
  const r = await rpcCall<{ value: { amount: string } }>(rpcUrl, "getTokenAccountBalance", [account, { commitment: "finalized" }]);
  return BigInt(r.value.amount);
}

export function testReconciler(db: Kysely<Database>, config: Config, rpcUrl: string, alerter?: Alerter): LedgerReconciler {
  return createLedgerReconciler({
    db,
    history: createChainHistory({ rpcUrl }),
    payTo: config.x402.payTo,
    usdcMint: config.solana.usdcMint,
    network: config.x402.network,
    routes: config.x402.routes,
    tiers: config.tiers,
    logger: createLogger({ level: "silent" }),
    alerter: alerter ?? null,
  });
}

/** Every transaction that increased payTo's USDC since `afterSlot`, with the increase (from the chain alone). */
export async function chainIncreases(rpcUrl: string, config: Config, afterSlot: bigint): Promise<Map<string, bigint>> {
  const account = payToUsdcAccount(config.x402.payTo, config.solana.usdcMint);
  const sigs = await rpcCall<Array<{ signature: string; slot: number; err: unknown }>>(rpcUrl, "getSignaturesForAddress", [account, { commitment: "finalized", limit: 1000 }]);
  const out = new Map<string, bigint>();
  for (const s of sigs) {
    if (BigInt(s.slot) <= afterSlot || s.err !== null) continue;
    const tx = await rpcCall<{
      transaction: { message: { accountKeys: string[] } };
      meta: { preTokenBalances: Array<{ accountIndex: number; uiTokenAmount: { amount: string } }>; postTokenBalances: Array<{ accountIndex: number; uiTokenAmount: { amount: string } }> };
    }>(rpcUrl, "getTransaction", [s.signature, { commitment: "finalized", encoding: "json", maxSupportedTransactionVersion: 0 }]);
    const index = tx.transaction.message.accountKeys.indexOf(account);
    const of = (list: typeof tx.meta.preTokenBalances) => BigInt(list.find((b) => b.accountIndex === index)?.uiTokenAmount.amount ?? "0");
    const delta = of(tx.meta.postTokenBalances) - of(tx.meta.preTokenBalances);
    if (delta > 0n) out.set(s.signature, delta);
  }
  return out;
}

export interface ApiChild {
  proc: ChildProcess;
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

const CHILD = fileURLToPath(new URL("./fixtures/api-child.ts", import.meta.url));

export function spawnApi(env: Record<string, string>): Promise<ApiChild> {
  const proc = spawn(process.execPath, [CHILD], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`api child did not start: ${out}`)), 60_000);
    proc.stdout!.on("data", () => {
      const m = /ready (\S+)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: m[1]!, exited, output: () => out });
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      if (!/ready /.test(out)) reject(new Error(`api child exited (${code ?? signal}) before it was ready: ${out}`));
    });
  });
}

export async function killApi(child: ApiChild): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill("SIGKILL");
  await child.exited;
}
