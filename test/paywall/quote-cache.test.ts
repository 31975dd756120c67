/**
 * The quote cache: an unpaid quote replayed from the cache is byte for byte what @x402/express answered for
 * the same price decision, and a stake change selects the other answer on the very next request.
 */
import http from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { decodePaymentRequiredHeader } from "@x402/core/http";
import { x402HTTPResourceServer } from "@x402/express";
import { tierFor } from "../../src/domain/tiers.ts";
import { PREMIUM_PRICE, startPaywallHarness, type PaywallHarness } from "./harness.ts";

let h: PaywallHarness;

beforeAll(async () => {
  h = await startPaywallHarness();
});
afterAll(async () => {
  await h?.close();
});
afterEach(() => {
  vi.restoreAllMocks();
});

interface Raw {
  status: number;
  /** Every response header in wire order, except Date (the clock). */
  headers: string[];
  body: Buffer;
}

/** One GET of the premium route, as bytes: status, raw headers in order, raw body. */
function raw(headers: Record<string, string> = {}): Promise<Raw> {
  const url = new URL(`${h.url}/api/premium`);
  return new Promise((resolve, reject) => {
    const req = http.get({ host: url.hostname, port: url.port, path: url.pathname, headers: { "x-request-id": "quote-cache-test", ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const pairs: string[] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          if (res.rawHeaders[i]!.toLowerCase() !== "date") pairs.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
        }
        resolve({ status: res.statusCode ?? 0, headers: pairs, body: Buffer.concat(chunks) });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

const amounts = (r: Raw) => {
  const header = r.headers.find((l) => l.toLowerCase().startsWith("payment-required: "))!;
  const required = decodePaymentRequiredHeader(header.slice("payment-required: ".length));
  const body = JSON.parse(r.body.toString("utf8")) as { price: { amount: string }; quote: { basis: string; wallet: string | null; tier: string | null } };
  return { required: required.accepts[0]!.amount, body: body.price.amount, quote: body.quote };
};

describe("the quote cache", () => {
  it("replays x402's unpaid answer byte for byte for the same decision, without running x402 again", async () => {
    const gold = h.wallet("gold");
    const x402 = vi.spyOn(x402HTTPResourceServer.prototype, "processHTTPRequest");
    const before = h.plugin.quoteCache.size;

    const first = await raw({ "x-wallet-address": gold.address });
    expect(x402).toHaveBeenCalledTimes(1); // not cached yet: x402 answered (and was recorded)
    expect(h.plugin.quoteCache.size).toBe(before + 1);
    const second = await raw({ "x-wallet-address": gold.address });
    expect(x402).toHaveBeenCalledTimes(1); // replayed from the cache
    expect(second.status).toBe(402);
    expect(second.headers).toEqual(first.headers);
    expect(second.body.equals(first.body)).toBe(true);
    expect(amounts(second)).toMatchObject({ required: "80000", body: "80000", quote: { basis: "wallet_hint", wallet: gold.address, tier: "gold" } });

    // Without a hint: the full-price answer, also recorded once and replayed identically.
    const plainFirst = await raw();
    const plainSecond = await raw();
    expect(x402).toHaveBeenCalledTimes(2);
    expect(plainSecond.headers).toEqual(plainFirst.headers);
    expect(plainSecond.body.equals(plainFirst.body)).toBe(true);
    expect(amounts(plainSecond)).toMatchObject({ required: PREMIUM_PRICE.toString(), body: PREMIUM_PRICE.toString(), quote: { basis: "no_hint" } });

    // Another wallet in the same tier: the recorded answer, with its own wallet in the body.
    const other = await raw({ "x-wallet-address": h.wallet("silver").address });
    expect(amounts(other).quote.wallet).toBe(h.wallet("silver").address);
  });

  it("serves the new price on the first request after a stake change, and the recorded one again after it is undone", async () => {
    const gold = h.wallet("gold");
    const goldStake = 600_000n * 10n ** 9n;
    expect(tierFor(goldStake, h.config.tiers).name).toBe("gold");
    const cached = await raw({ "x-wallet-address": gold.address });
    expect(amounts(cached).required).toBe("80000");

    await h.setStake(gold.address, 0n, 10_000_000n);
    await expect.poll(() => h.plugin.tierCache.lookup(gold.address)?.discountBps, { timeout: 5_000 }).toBe(0);
    const unstaked = await raw({ "x-wallet-address": gold.address });
    expect(amounts(unstaked)).toMatchObject({ required: PREMIUM_PRICE.toString(), body: PREMIUM_PRICE.toString(), quote: { tier: null } });

    const x402 = vi.spyOn(x402HTTPResourceServer.prototype, "processHTTPRequest");
    await h.setStake(gold.address, goldStake, 10_000_001n);
    await expect.poll(() => h.plugin.tierCache.lookup(gold.address)?.name, { timeout: 5_000 }).toBe("gold");
    const restaked = await raw({ "x-wallet-address": gold.address });
    expect(x402).not.toHaveBeenCalled();
    expect(restaked.headers).toEqual(cached.headers);
    expect(restaked.body.equals(cached.body)).toBe(true);
  });

  it("never serves a browser the cached JSON answer", async () => {
    await raw(); // recorded
    const res = await raw({ accept: "text/html,application/xhtml+xml", "user-agent": "Mozilla/5.0" });
    expect(res.status).toBe(402);
    expect(res.headers.find((l) => l.toLowerCase().startsWith("content-type: "))).toContain("text/html");
  });
});
