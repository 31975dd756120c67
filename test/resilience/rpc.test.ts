/**
 * The Solana RPC black-holed (open and new connections carry nothing) under the paywall's in-process
 * facilitator: a paid request answers 502 within seconds (each RPC call has a deadline), serves no content,
 * charges nothing and names no internal host or port; the other routes keep answering; once the RPC answers
 * again the same payment goes through.
 */
import type { Network } from "@x402/core/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createInProcessFacilitator } from "../../api/paywall/index.ts";
import { readKeypairFile } from "../../src/solana/keypair-file.ts";
import { startTcpProxy, type TcpProxy } from "../kit/tcp-proxy.ts";
import { waitFor } from "../kit/wait-for.ts";
import { startPaywallHarness, type PaywallHarness } from "../paywall/harness.ts";

const RPC_TIMEOUT_MS = 2_000;
/** A verify makes one simulate call; allow a few deadlines plus slack for a loaded machine. */
const ANSWER_WITHIN_MS = 8_000;

describe("the Solana RPC black-holed under the paywall", () => {
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
          rpcTimeoutMs: RPC_TIMEOUT_MS,
        });
        return { ...d, facilitator };
      },
    });
  });
  afterAll(async () => {
    await h?.close();
    await rpcProxy?.close();
  });

  it("answers a paid request 502 within seconds with no content and no internal address, then recovers", async () => {
    const gold = h.wallet("gold");
    const header = await h.signedPayment("gold", "/api/premium", { "x-wallet-address": gold.address });
    const before = await h.usdcBalance(gold.address);
    rpcProxy.blackHole();
    const hidden = [new URL(rpcProxy.url).port, new URL(h.chain.httpUrl).port, "127.0.0.1", "localhost"];
    const routes = [
      { name: "paid request", path: "/api/premium", headers: { "payment-signature": header }, status: 502 },
      { name: "unpaid quote", path: "/api/premium", headers: {}, status: 402 },
      { name: "staking info", path: `/x402/staking/info/${gold.address}`, headers: {}, status: 200 },
      { name: "health", path: "/health", headers: {}, status: 200 },
    ];
    const times: string[] = [];
    await Promise.all(
      routes.map(async (r) => {
        const started = Date.now();
        const res = await fetch(`${h.url}${r.path}`, { headers: r.headers, signal: AbortSignal.timeout(60_000) });
        const text = await res.text();
        const ms = Date.now() - started;
        times.push(`${r.name} ${res.status} in ${ms} ms`);
        expect(res.status, `${r.name}: ${text} ${res.headers.get("payment-required") ? Buffer.from(res.headers.get("payment-required")!, "base64").toString() : ""}`).toBe(r.status);
        expect(ms, r.name).toBeLessThan(ANSWER_WITHIN_MS);
        for (const h of hidden) expect(text, r.name).not.toContain(h);
        if (r.name === "paid request") {
          expect(text).not.toContain('premium":true');
          expect(JSON.parse(text)).toMatchObject({ error: expect.stringMatching(/facilitator unavailable.*Solana RPC unreachable/) as unknown });
        }
      }),
    );
    console.log(`[resilience] RPC black-holed (deadline ${RPC_TIMEOUT_MS} ms): ${times.join(", ")}`);
    expect(await h.usageRows()).toEqual([]);

    rpcProxy.restore();
    expect(await h.usdcBalance(gold.address)).toBe(before);
    await waitFor(
      "the payment to go through once the RPC answers",
      async () => (await fetch(`${h.url}/api/premium`, { headers: { "payment-signature": header } })).status === 200,
      { timeoutMs: 20_000, everyMs: 250 },
    );
    expect((await h.usageRows()).length).toBe(1);
  });
});
