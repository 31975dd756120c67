/**
 * The facilitator: a hosted one by URL settles payments; one that cannot be reached gets the client a clear
 * 502 and no content (a hosted facilitator at a closed port, and the in-process facilitator whose Solana RPC
 * is cut off, which recovers when it is back).
 */
import net from "node:net";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listen, type ListeningServer } from "../../api/server.ts";
import { createInProcessFacilitator } from "../../api/paywall/index.ts";
import { readKeypairFile } from "../../src/solana/keypair-file.ts";
import type { Network } from "@x402/core/types";
import { PREMIUM_PRICE, startPaywallHarness, type PaywallHarness } from "./harness.ts";
import { startTcpProxy, type TcpProxy } from "../kit/tcp-proxy.ts";

const premium = (h: PaywallHarness) => `${h.url}/api/premium`;

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("a hosted facilitator by URL", () => {
  let h: PaywallHarness;
  let hosted: ListeningServer;
  const calls: string[] = [];
  beforeAll(async () => {
    h = await startPaywallHarness({
      waitForTiers: false,
      deps: async (d, chain) => {
        // A facilitator service over HTTP (the x402 facilitator API), backed by the in-process facilitator.
        const inner = createInProcessFacilitator({ secretKey: readKeypairFile(d.config.x402.facilitatorKeypairPath!), rpcUrl: chain.httpUrl, network: d.config.x402.network as Network });
        const app = express();
        app.use(express.json());
        app.get("/supported", async (_req, res) => {
          calls.push("supported");
          res.json(await inner.getSupported());
        });
        app.post("/verify", async (req, res) => {
          calls.push("verify");
          res.json(await inner.verify(req.body.paymentPayload, req.body.paymentRequirements));
        });
        app.post("/settle", async (req, res) => {
          calls.push("settle");
          res.json(await inner.settle(req.body.paymentPayload, req.body.paymentRequirements));
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
  });

  it("verifies and settles a staker's discounted payment", async () => {
    const gold = h.wallet("gold");
    const before = await h.usdcBalance(gold.address);
    const res = await (await h.payingFetch("gold"))(premium(h), { headers: { "x-wallet-address": gold.address } });
    expect(res.status).toBe(200);
    expect(before - (await h.usdcBalance(gold.address))).toBe(80_000n);
    expect(calls).toEqual(expect.arrayContaining(["supported", "verify", "settle"]));
    expect(h.plugin.status().facilitator).toBe(`hosted ${hosted.url}`);
  });
});

describe("a hosted facilitator that cannot be reached", () => {
  let h: PaywallHarness;
  beforeAll(async () => {
    h = await startPaywallHarness({ env: { X402_FACILITATOR_URL: `http://127.0.0.1:${await closedPort()}` }, waitForTiers: false });
    await h.plugin.tierCache.whenHealthy(10_000);
  });
  afterAll(async () => {
    await h?.close();
  });

  it("answers quotes and paid requests with 502 JSON naming the facilitator, and no content", async () => {
    const quote = await fetch(premium(h));
    expect(quote.status).toBe(502);
    const body = (await quote.json()) as { error: string };
    expect(body.error).toBe("payment facilitator unavailable (supported): not reachable");
    expect(body.error).not.toMatch(/127\.0\.0\.1|:\d{2,5}/);

    const payment = Buffer.from(
      JSON.stringify({
        x402Version: 2,
        accepted: { scheme: "exact", network: h.config.x402.network, asset: h.config.solana.usdcMint, amount: PREMIUM_PRICE.toString(), payTo: h.config.x402.payTo, maxTimeoutSeconds: 60, extra: {} },
        payload: { transaction: await h.signedTransfer("silver") },
      }),
    ).toString("base64");
    const before = await h.usdcBalance(h.wallet("silver").address);
    const paid = await fetch(premium(h), { headers: { "payment-signature": payment } });
    expect(paid.status).toBe(502);
    expect(await paid.text()).not.toContain("premium\":true");
    expect(await h.usdcBalance(h.wallet("silver").address)).toBe(before);
  });
});

describe("the in-process facilitator with its Solana RPC cut off", () => {
  let h: PaywallHarness;
  let rpcProxy: TcpProxy;
  beforeAll(async () => {
    h = await startPaywallHarness({
      deps: async (d, chain) => {
        rpcProxy = await startTcpProxy(chain.httpUrl);
        const facilitator = createInProcessFacilitator({
          secretKey: readKeypairFile(d.config.x402.facilitatorKeypairPath!),
          rpcUrl: rpcProxy.url,
          network: d.config.x402.network as Network,
        });
        return { ...d, facilitator };
      },
    });
  });
  afterAll(async () => {
    await h?.close();
    await rpcProxy?.close();
  });

  it("answers a paid request with 502 and no content, charges nothing, and recovers when the RPC is back", async () => {
    const gold = h.wallet("gold");
    const header = await h.signedPayment("gold", "/api/premium", { "x-wallet-address": gold.address });
    const before = await h.usdcBalance(gold.address);
    await rpcProxy.stop();
    const res = await fetch(premium(h), { headers: { "payment-signature": header } });
    expect(res.status).toBe(502);
    const body = (await res.json()) as { error: string };
    expect(body.error).toMatch(/^payment facilitator unavailable \(verify\): Solana RPC unreachable/);
    expect(await h.usdcBalance(gold.address)).toBe(before);
    expect(await h.usageRows()).toEqual([]);

    await rpcProxy.start();
    const again = await fetch(premium(h), { headers: { "payment-signature": header } });
    expect(again.status).toBe(200);
    expect(before - (await h.usdcBalance(gold.address))).toBe(80_000n);
    expect(await h.usageRows()).toHaveLength(1);
  });
});
