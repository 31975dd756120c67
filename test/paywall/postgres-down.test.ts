/**
 * Never fail open when stake data cannot be read: with the paywall's database unreachable (a closed port),
 * or cut off mid-run (a proxy that stops), every price is the full price, paid content is still served only
 * after payment, and the settled payment reaches the ledger once the database is back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase, type DatabaseHandle } from "../../src/db/database.ts";
import { PREMIUM_PRICE, signDiscounted, startPaywallHarness, type PaywallHarness } from "./harness.ts";
import { startTcpProxy, type TcpProxy } from "../kit/tcp-proxy.ts";

const premium = (h: PaywallHarness) => `${h.url}/api/premium`;

describe("the paywall's database is a closed port", () => {
  let h: PaywallHarness;
  let dead: DatabaseHandle;

  beforeAll(async () => {
    const url = "postgres://postgres@127.0.0.1:1/kamiyo_stake";
    dead = createDatabase({ url, max: 2 });
    h = await startPaywallHarness({ waitForTiers: false, deps: (d) => ({ ...d, db: dead.db, database: { url } }) });
  });
  afterAll(async () => {
    await h?.close();
    await dead?.close();
  });

  it("quotes a staker the full price and says why", async () => {
    const platinum = h.wallet("platinum");
    const res = await fetch(premium(h), { headers: { "x-wallet-address": platinum.address } });
    expect(res.status).toBe(402);
    const body = (await res.json()) as any;
    expect(body.price.amount).toBe(PREMIUM_PRICE.toString());
    expect(body.discount).toBeNull();
    expect(body.quote.basis).toBe("stake_data_unavailable");
    expect(h.plugin.status().tierCache.healthy).toBe(false);
  });

  it("serves nothing without payment", async () => {
    const res = await fetch(premium(h));
    expect(res.status).toBe(402);
    expect(await res.text()).not.toContain("premium\":true");
  });

  it("charges a staker the full price and serves it; the ledger row waits for the database", async () => {
    const platinum = h.wallet("platinum");
    const before = await h.usdcBalance(platinum.address);
    const res = await (await h.payingFetch("platinum"))(premium(h), { headers: { "x-wallet-address": platinum.address } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).charged.amount).toBe(PREMIUM_PRICE.toString());
    expect(before - (await h.usdcBalance(platinum.address))).toBe(PREMIUM_PRICE);
    expect(h.plugin.status().pendingLedgerWrites).toBe(1);
  });

  it("refuses a staker's discounted signature while stake data is unreadable", async () => {
    const platinum = h.wallet("platinum");
    const before = await h.usdcBalance(platinum.address);
    const res = await (await h.payingFetch("platinum", { policy: signDiscounted(3000) }))(premium(h));
    expect(res.status).toBe(402);
    expect(await h.usdcBalance(platinum.address)).toBe(before);
  });
});

describe("the paywall's database goes away mid-run and comes back", () => {
  let h: PaywallHarness;
  let proxy: TcpProxy;
  let viaProxy: DatabaseHandle;

  beforeAll(async () => {
    h = await startPaywallHarness({
      deps: async (d) => {
        proxy = await startTcpProxy(d.database.url);
        viaProxy = createDatabase({ url: proxy.url, schema: d.database.schema!, max: 2 });
        return { ...d, db: viaProxy.db, database: { url: proxy.url, schema: d.database.schema! } };
      },
    });
  });
  afterAll(async () => {
    await h?.close();
    await viaProxy?.close();
    await proxy?.close();
  });

  it("discounts while the database is up, charges full price while it is down, and records both payments", async () => {
    const gold = h.wallet("gold");
    const pay = await h.payingFetch("gold");
    const hint = { headers: { "x-wallet-address": gold.address } };

    const up = await pay(premium(h), hint);
    expect(up.status).toBe(200);
    expect(((await up.json()) as any).charged.amount).toBe("80000");

    await proxy.stop();
    await expect.poll(() => h.plugin.tierCache.healthy, { timeout: 5_000 }).toBe(false);
    const before = await h.usdcBalance(gold.address);
    const down = await pay(premium(h), hint);
    expect(down.status).toBe(200);
    expect(((await down.json()) as any).charged.amount).toBe(PREMIUM_PRICE.toString());
    expect(before - (await h.usdcBalance(gold.address))).toBe(PREMIUM_PRICE);
    expect(h.plugin.status().pendingLedgerWrites).toBe(1);

    await proxy.start();
    await h.plugin.tierCache.whenHealthy(10_000);
    await h.plugin.ledger.flush();
    expect(h.plugin.status().pendingLedgerWrites).toBe(0);
    const rows = (await h.usageRows()).filter((r) => r.payer === gold.address);
    expect(rows.map((r) => r.amount_charged)).toEqual([80_000n, PREMIUM_PRICE]);
    expect(rows.every((r) => typeof r.settlement_signature === "string")).toBe(true);

    const again = await pay(premium(h), hint);
    expect(((await again.json()) as any).charged.amount).toBe("80000");
  });
});
