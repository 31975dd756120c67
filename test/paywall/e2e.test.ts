/**
 * The paywall end to end: the real @x402/fetch client pays on the local chain through the in-process
 * facilitator, and the payer's USDC, the payTo's USDC and the x402_usage ledger show what was charged.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodePaymentRequiredHeader, decodePaymentResponseHeader } from "@x402/core/http";
import { createPaywallPlugin } from "../../api/paywall/index.ts";
import { createLogger } from "../../src/log.ts";
import { startTestApi, type TestApi } from "../api/harness.ts";
import { PREMIUM_PRICE, signDiscounted, startPaywallHarness, type PaywallHarness } from "./harness.ts";

let h: PaywallHarness;

beforeAll(async () => {
  h = await startPaywallHarness();
});
afterAll(async () => {
  await h?.close();
});

const premium = () => `${h.url}/api/premium`;

async function quote(hint?: string) {
  const res = await fetch(premium(), hint === undefined ? {} : { headers: { "x-wallet-address": hint } });
  const required = decodePaymentRequiredHeader(res.headers.get("payment-required") ?? "");
  return { status: res.status, body: (await res.json()) as any, required };
}

async function rowsFor(payer: string) {
  return (await h.usageRows()).filter((r) => r.payer === payer);
}

describe("each tier pays its own discounted price", () => {
  const cases = [
    { name: "silver", price: 90_000n, tier: "silver", bps: 1000 },
    { name: "gold", price: 80_000n, tier: "gold", bps: 2000 },
    { name: "platinum", price: 70_000n, tier: "platinum", bps: 3000 },
    // 1,000 KAMIYO: below the first tier.
    { name: "small", price: PREMIUM_PRICE, tier: null, bps: 0 },
    // 600k staked, 550k in cooldown: 50k effective, below the first tier.
    { name: "cooldown", price: PREMIUM_PRICE, tier: null, bps: 0 },
    { name: "nonstaker", price: PREMIUM_PRICE, tier: null, bps: 0 },
  ];
  for (const c of cases) {
    it(`${c.name} (hinting its own wallet) is charged ${c.price} micro-USDC`, async () => {
      const w = h.wallet(c.name);
      const q = await quote(w.address);
      expect(q.status).toBe(402);
      expect(q.required.accepts).toHaveLength(1);
      expect(q.required.accepts[0]!.amount).toBe(c.price.toString());
      expect(q.body.price.amount).toBe(c.price.toString());
      expect(q.body.discount?.tier ?? null).toBe(c.tier);

      const payToBefore = await h.usdcBalance(h.config.x402.payTo);
      const before = await h.usdcBalance(w.address);
      const pay = await h.payingFetch(c.name);
      const res = await pay(premium(), { headers: { "x-wallet-address": w.address } });
      expect(res.status).toBe(200);
      const body = (await res.json()) as any;
      expect(body.premium).toBe(true);
      expect(body.payer).toBe(w.address);
      expect(body.charged.amount).toBe(c.price.toString());
      const settlement = decodePaymentResponseHeader(res.headers.get("payment-response") ?? "");
      expect(settlement.success).toBe(true);
      expect(settlement.payer).toBe(w.address);

      expect(before - (await h.usdcBalance(w.address))).toBe(c.price);
      expect((await h.usdcBalance(h.config.x402.payTo)) - payToBefore).toBe(c.price);
      const rows = await rowsFor(w.address);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        payer: w.address,
        endpoint: "/api/premium",
        method: "GET",
        status_code: 200,
        settlement_signature: settlement.transaction,
        amount_charged: c.price,
        original_amount: PREMIUM_PRICE,
        discount_tier: c.tier,
        discount_bps: c.bps,
        savings: PREMIUM_PRICE - c.price,
        network: h.config.x402.network,
        asset: h.config.solana.usdcMint,
        pay_to: h.config.x402.payTo,
      });
      expect(rows[0]!.response_time_ms).toEqual(expect.any(Number));
    });
  }
});

describe("the discount belongs to the payer", () => {
  it("a wallet that hints a staker's address but pays from its own is refused the discount and not charged", async () => {
    const platinum = h.wallet("platinum");
    const payer = h.wallet("nonstaker");
    const q = await quote(platinum.address);
    expect(q.body.price.amount).toBe("70000");
    const before = await h.usdcBalance(payer.address);
    const rowsBefore = (await h.usageRows()).length;

    const pay = await h.payingFetch("nonstaker");
    const res = await pay(premium(), { headers: { "x-wallet-address": platinum.address } });
    expect(res.status).toBe(402);
    const text = await res.text();
    expect(text).not.toContain("premium");
    const required = decodePaymentRequiredHeader(res.headers.get("payment-required") ?? "");
    expect(required.error).toBe("No matching payment requirements");
    // What it may pay is its own price: the full one.
    expect(required.accepts[0]!.amount).toBe(PREMIUM_PRICE.toString());
    expect(await h.usdcBalance(payer.address)).toBe(before);
    expect((await h.usageRows()).length).toBe(rowsBefore);
  });

  it("a non-staker who signs a discounted amount without any hint is refused", async () => {
    const payer = h.wallet("nonstaker");
    const before = await h.usdcBalance(payer.address);
    const pay = await h.payingFetch("nonstaker", { policy: signDiscounted(1000) });
    const res = await pay(premium());
    expect(res.status).toBe(402);
    expect(await h.usdcBalance(payer.address)).toBe(before);
  });

  it("a staker who signs another tier's price is refused (only its own discount or the full price)", async () => {
    const silver = h.wallet("silver");
    const before = await h.usdcBalance(silver.address);
    const pay = await h.payingFetch("silver", { policy: signDiscounted(3000) });
    const res = await pay(premium());
    expect(res.status).toBe(402);
    expect(await h.usdcBalance(silver.address)).toBe(before);
  });

  it("a staker who sends no hint is quoted and charged the full price, and served", async () => {
    const gold = h.wallet("gold");
    const q = await quote();
    expect(q.body.quote.basis).toBe("no_hint");
    expect(q.body.price.amount).toBe(PREMIUM_PRICE.toString());
    const before = await h.usdcBalance(gold.address);
    const res = await (await h.payingFetch("gold"))(premium());
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).charged.amount).toBe(PREMIUM_PRICE.toString());
    expect(before - (await h.usdcBalance(gold.address))).toBe(PREMIUM_PRICE);
    const last = (await rowsFor(gold.address)).at(-1)!;
    expect(last).toMatchObject({ amount_charged: PREMIUM_PRICE, discount_tier: null, discount_bps: 0, savings: 0n });
  });

  it("a staker who sends no hint but signs its own discounted price from the tier table is charged that price", async () => {
    const platinum = h.wallet("platinum");
    const q = await quote();
    const ownTier = q.body.stakingHint.tiers.find((t: any) => t.name === "platinum");
    expect(ownTier.price.amount).toBe("70000");
    const before = await h.usdcBalance(platinum.address);
    const res = await (await h.payingFetch("platinum", { policy: signDiscounted(ownTier.discountBps) }))(premium());
    expect(res.status).toBe(200);
    expect(before - (await h.usdcBalance(platinum.address))).toBe(70_000n);
    expect((await rowsFor(platinum.address)).at(-1)).toMatchObject({ amount_charged: 70_000n, discount_tier: "platinum" });
  });
});

describe("one payment settles once", () => {
  it("the same PAYMENT-SIGNATURE sent again is refused and not charged twice", async () => {
    const silver = h.wallet("silver");
    let header: string | null = null;
    const pay = await h.payingFetch("silver", { onRequest: (req) => (header = req.headers.get("payment-signature") ?? header) });
    const before = await h.usdcBalance(silver.address);
    const first = await pay(premium(), { headers: { "x-wallet-address": silver.address } });
    expect(first.status).toBe(200);
    expect(header).not.toBeNull();
    const rowsAfterFirst = (await h.usageRows()).length;

    const replay = await fetch(premium(), { headers: { "payment-signature": header! } });
    expect(replay.status).toBe(402);
    expect(await replay.text()).not.toContain("premium");
    expect(before - (await h.usdcBalance(silver.address))).toBe(90_000n);
    expect((await h.usageRows()).length).toBe(rowsAfterFirst);
  });

  it("one payment sent concurrently to two API instances on the same database settles once", async () => {
    const gold = h.wallet("gold");
    const second = createPaywallPlugin({
      config: h.config,
      db: h.schema.db,
      database: { url: h.schema.url, schema: h.schema.schema },
      logger: createLogger({ level: "silent" }),
    });
    let other: TestApi | undefined;
    try {
      await second.ready(15_000);
      other = await startTestApi({ schema: h.schema, env: { SOLANA_RPC_URL: h.chain.httpUrl, X402_FACILITATOR_KEYPAIR: h.config.x402.facilitatorKeypairPath! }, plugins: [second] });
      const header = await h.signedPayment("gold", "/api/premium", { "x-wallet-address": gold.address });
      const before = await h.usdcBalance(gold.address);
      const rowsBefore = (await h.usageRows()).length;
      const [a, b] = await Promise.all(
        [h.url, other.url].map((base) => fetch(`${base}/api/premium`, { headers: { "payment-signature": header } })),
      );
      const statuses = [a!.status, b!.status].sort();
      expect(statuses).toEqual([200, 402]);
      const bodies = [await a!.text(), await b!.text()];
      expect(bodies.filter((t) => t.includes('"premium":true'))).toHaveLength(1);
      expect(before - (await h.usdcBalance(gold.address))).toBe(80_000n);
      expect((await h.usageRows()).length).toBe(rowsBefore + 1);
    } finally {
      await other?.close();
      await second.close();
    }
  });
});

describe("stake changes", () => {
  it("a stake change changes the next quote without a restart, and a stale notice does not undo it", async () => {
    const w = h.wallet("small");
    expect((await quote(w.address)).body.price.amount).toBe(PREMIUM_PRICE.toString());
    await h.setStake(w.address, 1_200_000n * 10n ** 9n, 1_000n);
    await expect.poll(async () => (await quote(w.address)).body.price.amount, { timeout: 5_000 }).toBe("70000");
    // An out-of-order read for an older slot changes nothing: the write path refuses it, so neither the row nor
    // a notice changes (the tier cache's own guard against a late notice is in tier-cache.test.ts). That
    // nothing arrives can only be seen after a bounded wait.
    await h.setStake(w.address, 0n, 999n);
    await new Promise((r) => setTimeout(r, 300));
    expect((await quote(w.address)).body.price.amount).toBe("70000");
    await h.setStake(w.address, 200_000n * 10n ** 9n, 1_001n);
    await expect.poll(async () => (await quote(w.address)).body.discount?.tier, { timeout: 5_000 }).toBe("silver");
  });
});

describe("requests the paywall refuses", () => {
  it("a PAYMENT-SIGNATURE that is not base64 JSON is a 400 with the reason", async () => {
    const res = await fetch(premium(), { headers: { "payment-signature": "not a payment!" } });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_payment_signature", message: "PAYMENT-SIGNATURE is not base64-encoded JSON" });
  });

  it("a v2 payload without a decodable transaction is a 400", async () => {
    const header = Buffer.from(
      JSON.stringify({ x402Version: 2, accepted: { scheme: "exact", network: h.config.x402.network, asset: "x", payTo: "y", amount: "100000" }, payload: { transaction: "AAAA" } }),
    ).toString("base64");
    const res = await fetch(premium(), { headers: { "payment-signature": header } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).message).toBe("payload.transaction is not a decodable Solana transaction");
  });

  it("an x402 v1 payload is a 400 naming the version", async () => {
    const header = Buffer.from(JSON.stringify({ x402Version: 1, scheme: "exact", network: "solana", payload: {} })).toString("base64");
    const res = await fetch(premium(), { headers: { "payment-signature": header } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).message).toContain("x402 version 2");
    // X-PAYMENT is how a v1 client pays: it gets a 402 in v1's shape with nothing to pay, and the reason.
    const v1 = await fetch(premium(), { headers: { "x-payment": header } });
    expect(v1.status).toBe(402);
    expect(await v1.json()).toMatchObject({ x402Version: 1, accepts: [], error: expect.stringContaining("x402 v2 only") });
  });

  it("an invalid wallet hint is quoted at the full price and says why", async () => {
    const q = await quote("not-a-wallet");
    expect(q.status).toBe(402);
    expect(q.body.price.amount).toBe(PREMIUM_PRICE.toString());
    expect(q.body.quote.basis).toBe("invalid_hint");
    expect(q.body.quote.note).toContain("x-wallet-address");
  });
});

describe("browsers", () => {
  it("may send PAYMENT-SIGNATURE and read PAYMENT-REQUIRED and PAYMENT-RESPONSE", async () => {
    const pre = await fetch(premium(), {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "GET", "access-control-request-headers": "payment-signature,x-wallet-address" },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("*");
    const allowed = (pre.headers.get("access-control-allow-headers") ?? "").toLowerCase();
    expect(allowed).toContain("payment-signature");
    expect(allowed).toContain("x-wallet-address");
    const res = await fetch(premium(), { headers: { origin: "https://app.example" } });
    expect(res.status).toBe(402);
    const exposed = res.headers.get("access-control-expose-headers") ?? "";
    expect(exposed).toContain("PAYMENT-REQUIRED");
    expect(exposed).toContain("PAYMENT-RESPONSE");
  });
});
