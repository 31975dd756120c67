/**
 * `kamiyo-stake ledger reconcile [--since YYYY-MM-DD]` through the CLI (runCli, the configuration from the
 * environment as an operator sets it), and the ledger's metric series read from a registry, both against the
 * paywall on the local chain: an orphaned reservation is made the way production makes one (the facilitator
 * settles, then its answer comes too late, so the reservation stays while the USDC reached payTo).
 */
import { join } from "node:path";
import { readFile } from "node:fs/promises";
import { createTransferCheckedInstruction, getAssociatedTokenAddressSync } from "@solana/spl-token";
import { Keypair, PublicKey, Transaction } from "@solana/web3.js";
import { FacilitatorTimeoutError } from "@x402/core/server";
import type { Network } from "@x402/core/types";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createInProcessFacilitator } from "../../api/paywall/facilitator.ts";
import { runCli } from "../../cli/run.ts";
import { createLedgerMetrics, ledgerReconcilerFromConfig } from "../../jobs/ledger/index.ts";
import { createLogger } from "../../src/log.ts";
import { readKeypairFile } from "../../src/solana/keypair-file.ts";
import { ADMIN_KEY, WEBHOOK_AUTH } from "../api/harness.ts";
import { startPaywallHarness, type PaywallHarness } from "../paywall/harness.ts";
import { rpcCall } from "./helpers.ts";

describe("ledger reconcile (CLI) and the ledger metrics", () => {
  let h: PaywallHarness;
  let answerLate = false;
  let env: Record<string, string>;

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
            async settle(p, r) {
              const result = await inner.settle(p, r);
              if (answerLate) throw new FacilitatorTimeoutError("settle", 30_000);
              return result;
            },
          },
        };
      },
    });
    const url = new URL(h.schema.url);
    url.searchParams.set("options", `-c search_path=${h.schema.schema}`);
    env = {
      KAMIYO_CLUSTER: "localnet",
      LOG_LEVEL: "silent",
      ADMIN_API_KEY: ADMIN_KEY,
      HELIUS_WEBHOOK_AUTH: WEBHOOK_AUTH,
      SOLANA_RPC_URL: h.chain.httpUrl,
      SOLANA_WS_URL: h.chain.wsUrl,
      X402_FACILITATOR_KEYPAIR: join(h.chain.seed!.walletsDir, "facilitator.json"),
      DATABASE_URL: url.href,
    };
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  /** A payment that reached payTo while its row stayed a bare reservation; returns its reservation's key. */
  async function orphan(wallet: string): Promise<string> {
    const before = new Set((await h.usageRows()).map((r) => r.payment_key as string));
    answerLate = true;
    try {
      const res = await fetch(`${h.url}/api/premium`, { headers: { "PAYMENT-SIGNATURE": await h.signedPayment(wallet) } });
      expect(res.status).not.toBe(200);
      await res.body?.cancel();
    } finally {
      answerLate = false;
    }
    const open = (await h.usageRows()).filter((r) => r.settlement_signature === null && !before.has(r.payment_key as string));
    expect(open).toHaveLength(1);
    return open[0]!.payment_key as string;
  }

  async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = "";
    let err = "";
    const code = await runCli(argv, { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) }, env });
    return { code, out, err };
  }

  it("prints what it repaired (a line per kind with counts) and exits 0; a bad --since exits 2 in one line; a second run repairs nothing", async () => {
    const key = await orphan("nonstaker");

    for (const since of ["2026-02-30", "yesterday", "2999-01-01"]) {
      const bad = await cli(["ledger", "reconcile", "--since", since]);
      expect(bad.code, since).toBe(2);
      expect(bad.out).toBe("");
      expect(bad.err.trimEnd().split("\n"), bad.err).toHaveLength(1);
      expect(bad.err).toMatch(/^kamiyo-stake: ledger: --since/);
    }
    // Nothing was repaired by the refused runs.
    expect((await h.usageRows()).find((r) => r.payment_key === key)!.settlement_signature).toBeNull();

    const today = new Date().toISOString().slice(0, 10);
    const first = await cli(["ledger", "reconcile", "--since", today]);
    expect({ code: first.code, err: first.err }).toEqual({ code: 0, err: "" });
    const row = (await h.usageRows()).find((r) => r.payment_key === key)!;
    expect(typeof row.settlement_signature).toBe("string");
    const kindLine = (label: string, n: number, amount: string) => new RegExp(`^${label}:\\s+${n}\\s+${amount.replace(".", "\\.")} USDC$`, "m");
    expect(first.out).toMatch(kindLine("completed reservations", 1, "0.1"));
    expect(first.out).toMatch(kindLine("inserted missing payments", 0, "0"));
    expect(first.out).toMatch(kindLine("released dead reservations", 0, "0"));
    expect(first.out).toMatch(kindLine("recorded non-x402 transfers", 0, "0"));
    expect(first.out).toMatch(/^late rows alerted:\s+0$/m);
    // The repair itself, under its kind: the transaction that paid and the reservation it completed.
    expect(first.out).toContain(`tx ${row.settlement_signature as string}  payment ${key.slice(0, 16)}`);
    expect(first.out).toMatch(/^reconciled \w+ through slot \d+ \(.+\): \d+ transaction\(s\) read in \d+ ms$/m);

    // Again, from where the last pass stopped: nothing left to repair.
    const second = await cli(["ledger", "reconcile"]);
    expect({ code: second.code, err: second.err }).toEqual({ code: 0, err: "" });
    for (const label of ["completed reservations", "inserted missing payments", "released dead reservations", "recorded non-x402 transfers"]) {
      expect(second.out).toMatch(kindLine(label, 0, "0"));
    }
    expect(second.out).not.toContain("tx ");
  }, 90_000);

  it("exposes rows repaired by kind, unexplained transfers and the last reconciled slot on its registry", async () => {
    const registry = new Registry();
    const reconciler = ledgerReconcilerFromConfig({ config: h.config, db: h.schema.db, logger: createLogger({ level: "silent" }), metrics: createLedgerMetrics(registry) });
    const value = async (name: string, labels: Record<string, string> = {}) => {
      const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
      const v = (m as { values: Array<{ value: number; labels: Record<string, string> }> } | undefined)?.values.find((x) => Object.entries(labels).every(([k, l]) => x.labels[k] === l));
      return v?.value;
    };
    // A pass with nothing to repair counts nothing.
    await reconciler.reconcile();
    expect(await value("kamiyo_ledger_rows_repaired_total", { kind: "completed" })).toBeUndefined();

    await orphan("gold");
    // A plain USDC transfer to payTo: not an x402 payment.
    const w = h.wallet("small");
    const owner = Keypair.fromSecretKey(Uint8Array.from(JSON.parse(await readFile(w.keypairPath, "utf8")) as number[]));
    const mint = new PublicKey(h.chain.seed!.usdcMint);
    const tx = new Transaction({ feePayer: owner.publicKey, recentBlockhash: (await rpcCall<{ value: { blockhash: string } }>(h.chain.httpUrl, "getLatestBlockhash", [])).value.blockhash });
    tx.add(createTransferCheckedInstruction(getAssociatedTokenAddressSync(mint, owner.publicKey), mint, getAssociatedTokenAddressSync(mint, new PublicKey(h.config.x402.payTo), true), owner.publicKey, 5_000n, 6));
    tx.sign(owner);
    await rpcCall<string>(h.chain.httpUrl, "sendTransaction", [tx.serialize().toString("base64"), { encoding: "base64" }]);

    const report = await reconciler.reconcile();
    expect({ completed: report.completed, unexplained: report.unexplained }).toEqual({ completed: 1, unexplained: 1 });
    expect(await value("kamiyo_ledger_rows_repaired_total", { kind: "completed" })).toBe(1);
    expect(await value("kamiyo_ledger_rows_repaired_total", { kind: "inserted" })).toBeUndefined();
    expect(await value("kamiyo_ledger_unexplained_transfers_total")).toBe(1);
    expect(report.throughSlot).toBeGreaterThan(0n);
    expect(await value("kamiyo_ledger_last_reconciled_slot")).toBe(Number(report.throughSlot));
    // The exposition format Prometheus scrapes carries the same series.
    const text = await registry.metrics();
    expect(text).toMatch(/^kamiyo_ledger_rows_repaired_total\{kind="completed"\} 1$/m);
    expect(text).toMatch(/^kamiyo_ledger_unexplained_transfers_total 1$/m);
    expect(text).toContain(`kamiyo_ledger_last_reconciled_slot ${report.throughSlot}`);
  }, 90_000);
});
