/**
 * The facilitator in production (issue 14):
 *  - the in-process facilitator's fee caps: a client that sets a huge priority fee (or compute-unit limit) is
 *    refused at verification, before anything is settled or paid;
 *  - a hosted facilitator shaped like the reference server (x402Facilitator + ExactSvmScheme behind
 *    /supported, /verify, /settle) that requires an API key header, rotates its fee payer (quotes follow
 *    without a restart), and loses its own chain access (502, not "invalid payment", naming no host or port).
 */
import { createKeyPairSignerFromBytes } from "@solana/kit";
import { Keypair, VersionedTransaction } from "@solana/web3.js";
import { decodePaymentRequiredHeader, decodePaymentSignatureHeader, encodePaymentSignatureHeader } from "@x402/core/http";
import { x402Facilitator } from "@x402/core/facilitator";
import type { Network } from "@x402/core/types";
import { toFacilitatorSvmSigner } from "@x402/svm";
import { ExactSvmScheme } from "@x402/svm/exact/facilitator";
import express from "express";
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listen, type ListeningServer } from "../../api/server.ts";
import { readKeypairFile } from "../../src/solana/keypair-file.ts";
import { startTcpProxy, type TcpProxy } from "../kit/tcp-proxy.ts";
import { waitFor } from "../kit/wait-for.ts";
import { startPaywallHarness, type PaywallHarness } from "./harness.ts";

const COMPUTE_BUDGET = "ComputeBudget111111111111111111111111111111";

/** The payment header with its compute-budget instruction `tag` (2 limit, 3 price) set to `value`, re-signed by the payer. */
async function withComputeBudget(h: PaywallHarness, header: string, wallet: string, tag: 2 | 3, value: bigint): Promise<string> {
  const payload = decodePaymentSignatureHeader(header);
  const tx = VersionedTransaction.deserialize(Buffer.from((payload.payload as { transaction: string }).transaction, "base64"));
  const keys = tx.message.staticAccountKeys;
  const ix = tx.message.compiledInstructions.find((i) => keys[i.programIdIndex]?.toBase58() === COMPUTE_BUDGET && i.data[0] === tag)!;
  const data = Buffer.from(ix.data);
  if (tag === 3) data.writeBigUInt64LE(value, 1);
  else data.writeUInt32LE(Number(value), 1);
  ix.data = data;
  const payer = Keypair.fromSecretKey(Uint8Array.from(JSON.parse(await readFile(h.wallet(wallet).keypairPath, "utf8")) as number[]));
  tx.sign([payer]);
  return encodePaymentSignatureHeader({ ...payload, payload: { transaction: Buffer.from(tx.serialize()).toString("base64") } });
}

describe("the in-process facilitator's fee caps", () => {
  let h: PaywallHarness;
  beforeAll(async () => {
    h = await startPaywallHarness({});
  });
  afterAll(async () => {
    await h?.close();
  });

  it.each([
    ["a priority fee of 5,000,000 µlamports per compute unit", 3, 5_000_000n, /compute_price_instruction_too_high/],
    ["a compute-unit limit of 1,400,000", 2, 1_400_000n, /compute_limit_instruction_too_high/],
  ] as const)("refuses %s before settlement and charges nothing", async (_what, tag, value, reason) => {
    const gold = h.wallet("gold");
    const header = await withComputeBudget(h, await h.signedPayment("gold", "/api/premium", { "x-wallet-address": gold.address }), "gold", tag, value);
    const before = await h.usdcBalance(gold.address);
    const res = await fetch(`${h.url}/api/premium`, { headers: { "payment-signature": header } });
    expect(res.status).toBe(402);
    const required = decodePaymentRequiredHeader(res.headers.get("payment-required")!);
    expect(required.error).toMatch(reason);
    expect(await h.usdcBalance(gold.address)).toBe(before);
    expect((await h.usageRows()).filter((r) => r.settlement_signature !== null)).toEqual([]);
  });

  it("settles the stock client's own payment (20,000 units at 1 µlamport) under the same caps", async () => {
    const gold = h.wallet("gold");
    const res = await fetch(`${h.url}/api/premium`, { headers: { "payment-signature": await h.signedPayment("gold", "/api/premium", { "x-wallet-address": gold.address }) } });
    expect(res.status).toBe(200);
  });
});

describe("a hosted facilitator", () => {
  let h: PaywallHarness;
  let hosted: ListeningServer;
  let rpc: TcpProxy;
  const seen: { path: string; apiKey: string | undefined }[] = [];
  const second = Keypair.generate();
  let active: x402Facilitator;
  let keys: { first: x402Facilitator; second: x402Facilitator };

  beforeAll(async () => {
    h = await startPaywallHarness({
      waitForTiers: false,
      env: { X402_FACILITATOR_HEADERS: JSON.stringify({ "x-api-key": "hosted-facilitator-key" }) },
      deps: async (d, chain) => {
        rpc = await startTcpProxy(chain.httpUrl);
        chain.chain.requestAirdrop(second.publicKey.toBase58(), 10n * 1_000_000_000n);
        const network = d.config.x402.network as Network;
        const reference = async (secret: Uint8Array) =>
          new x402Facilitator().register(network, new ExactSvmScheme(toFacilitatorSvmSigner(await createKeyPairSignerFromBytes(secret), { defaultRpcUrl: rpc.url })));
        keys = { first: await reference(readKeypairFile(d.config.x402.facilitatorKeypairPath!)), second: await reference(second.secretKey) };
        active = keys.first;
        // The reference server's shape: the facilitator's own answers as JSON, an API key in front.
        const app = express();
        app.use(express.json());
        app.use((req, res, next) => {
          seen.push({ path: req.path, apiKey: req.get("x-api-key") });
          if (req.get("x-api-key") !== "hosted-facilitator-key") res.status(401).json({ error: "api key required" });
          else next();
        });
        app.get("/supported", (_req, res) => {
          res.json(active.getSupported());
        });
        app.post("/verify", async (req, res) => {
          res.json(await active.verify(req.body.paymentPayload, req.body.paymentRequirements));
        });
        app.post("/settle", async (req, res) => {
          res.json(await active.settle(req.body.paymentPayload, req.body.paymentRequirements));
        });
        hosted = await listen(app, { port: 0 });
        const config = { ...d.config, x402: { ...d.config.x402, facilitatorUrl: hosted.url } };
        return { ...d, config };
      },
    });
    await h.plugin.ready(10_000);
  });
  afterAll(async () => {
    await h?.close();
    await hosted?.close();
    await rpc?.close();
  });

  const quoteFeePayer = async (): Promise<string> => {
    const quote = await fetch(`${h.url}/api/premium`);
    return String(decodePaymentRequiredHeader(quote.headers.get("payment-required")!).accepts[0]!.extra.feePayer);
  };

  it("sends its API key with every request and settles", async () => {
    const gold = h.wallet("gold");
    const res = await (await h.payingFetch("gold"))(`${h.url}/api/premium`, { headers: { "x-wallet-address": gold.address } });
    expect(res.status).toBe(200);
    expect(new Set(seen.map((s) => s.path))).toEqual(new Set(["/supported", "/verify", "/settle"]));
    expect(seen.every((s) => s.apiKey === "hosted-facilitator-key")).toBe(true);
    expect(h.plugin.status().facilitator).toBe(`hosted ${hosted.url}`);
  });

  it("follows a rotated fee payer without a restart: the stale payment is refused, the next quote names the new key and settles", async () => {
    const oldPayer = await quoteFeePayer();
    const stale = await h.signedPayment("silver");
    active = keys.second;
    const refused = await fetch(`${h.url}/api/premium`, { headers: { "payment-signature": stale } });
    expect(refused.status).toBe(402);
    await waitFor("quotes to carry the new fee payer", async () => (await quoteFeePayer()) === second.publicKey.toBase58(), { timeoutMs: 10_000, everyMs: 50 });
    expect(oldPayer).not.toBe(second.publicKey.toBase58());
    const silver = h.wallet("silver");
    const before = await h.usdcBalance(silver.address);
    const res = await fetch(`${h.url}/api/premium`, { headers: { "payment-signature": await h.signedPayment("silver") } });
    expect(res.status).toBe(200);
    expect(before - (await h.usdcBalance(silver.address))).toBe(100_000n);
  });

  it("answers 502 when the facilitator's own chain access fails, naming no host or port, and charges nothing", async () => {
    const header = await h.signedPayment("platinum");
    const before = await h.usdcBalance(h.wallet("platinum").address);
    await rpc.stop();
    try {
      const res = await fetch(`${h.url}/api/premium`, { headers: { "payment-signature": header } });
      expect(res.status).toBe(502);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({ error: "payment facilitator unavailable (verify): its Solana RPC is unreachable" });
      expect(text).not.toMatch(/127\.0\.0\.1|localhost|:\d{2,5}/);
    } finally {
      await rpc.start();
    }
    expect(await h.usdcBalance(h.wallet("platinum").address)).toBe(before);
  });
});
