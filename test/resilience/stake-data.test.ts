/**
 * Bounded staleness of discounts. The tier cache trusts its table only while the indexer proves itself alive
 * (its heartbeat, sent behind its writes) within STAKE_DATA_MAX_AGE_MS. A frozen LISTEN connection (the cache
 * hears nothing) and a frozen indexer database connection (the indexer writes nothing) both end in the full
 * price within that bound: a wallet's discounted payment, signed with the real x402 client, is refused, and
 * nothing is charged. Once the path answers again the cache reloads and trusts again by itself.
 */
import { readFile } from "node:fs/promises";
import { Keypair } from "@solana/web3.js";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIndexer, type Indexer } from "../../indexer/index.ts";
import { createDatabase, type DatabaseHandle } from "../../src/db/database.ts";
import { createLogger } from "../../src/log.ts";
import { createStakeClient } from "../api/stake-client.ts";
import { FAST } from "../indexer/helpers/indexer.ts";
import { startTcpProxy, type TcpProxy } from "../kit/tcp-proxy.ts";
import { waitFor } from "../kit/wait-for.ts";
import { PREMIUM_PRICE, signDiscounted, startPaywallHarness, type PaywallHarness } from "../paywall/harness.ts";

const MAX_AGE_MS = 2_000;
/** The bound plus the cache's check interval (a fifth of the bound) and scheduling slack. */
const UNTRUSTED_WITHIN_MS = MAX_AGE_MS + MAX_AGE_MS / 5 + 500;
const env = { STAKE_DATA_MAX_AGE_MS: String(MAX_AGE_MS) };
const premium = (h: PaywallHarness) => `${h.url}/api/premium`;
const charged = async (res: Response) => ((await res.json()) as { charged: { amount: string } }).charged.amount;

/** Pays gold's discounted price (20 % off) with the real x402 client; returns the status and what left the wallet. */
async function payDiscounted(h: PaywallHarness): Promise<{ status: number; spent: bigint }> {
  const gold = h.wallet("gold");
  const before = await h.usdcBalance(gold.address);
  const res = await (await h.payingFetch("gold", { policy: signDiscounted(2000) }))(premium(h));
  await res.arrayBuffer();
  return { status: res.status, spent: before - (await h.usdcBalance(gold.address)) };
}

async function untrustedAfter(h: PaywallHarness, since: number): Promise<number> {
  await waitFor("the tier cache to stop trusting its table", () => !h.plugin.tierCache.healthy, { timeoutMs: 10_000, everyMs: 10 });
  return Date.now() - since;
}

describe("the tier cache's LISTEN connection freezes", () => {
  let h: PaywallHarness;
  let proxy: TcpProxy;

  beforeAll(async () => {
    h = await startPaywallHarness({
      env,
      indexer: true,
      deps: async (d) => {
        proxy = await startTcpProxy(d.database.url);
        return { ...d, database: { ...d.database, url: proxy.url } };
      },
    });
  });
  afterAll(async () => {
    await h?.close();
    await proxy?.close();
  });

  it("refuses a wallet's discount within the bound after it unstaked unseen, then trusts again on a fresh connection", async () => {
    expect((await payDiscounted(h)).status).toBe(200);
    expect(h.plugin.status().tierCache.proofOfLifeAgeMs).toBeLessThan(MAX_AGE_MS);

    const frozenAt = Date.now();
    expect(proxy.freeze()).toBeGreaterThan(0);
    // The wallet unstakes everything; the indexer writes it, and its notice is lost on the frozen connection.
    const gold = h.wallet("gold");
    const keypair = Keypair.fromSecretKey(Uint8Array.from(JSON.parse(await readFile(gold.keypairPath, "utf8")) as number[]));
    const seed = h.chain.seed!;
    const client = createStakeClient({ rpcUrl: h.chain.httpUrl, programId: seed.programId, kamiyoMint: seed.kamiyoMint });
    await client.unstake(keypair, gold.staked - gold.cooldown);

    const untrustedMs = await untrustedAfter(h, frozenAt);
    console.log(`[resilience] frozen LISTEN connection: untrusted after ${untrustedMs} ms (bound ${MAX_AGE_MS} ms)`);
    expect(untrustedMs).toBeLessThan(UNTRUSTED_WITHIN_MS);

    const refused = await payDiscounted(h);
    expect(refused).toEqual({ status: 402, spent: 0n });

    // New connections get through: the cache reloads on one and trusts again once the indexer's heartbeat arrives.
    await waitFor("the tier cache to trust again", () => h.plugin.tierCache.healthy, { timeoutMs: 15_000, everyMs: 20 });
    expect(h.plugin.tierCache.lookup(gold.address)?.discountBps ?? 0).toBe(0);
    expect(await payDiscounted(h)).toEqual({ status: 402, spent: 0n });
    const full = await (await h.payingFetch("gold"))(premium(h));
    expect(full.status).toBe(200);
    expect(await charged(full)).toBe(PREMIUM_PRICE.toString());
  });
});

describe("the indexer's database connections freeze", () => {
  let h: PaywallHarness;
  let proxy: TcpProxy;
  let viaProxy: DatabaseHandle;
  let indexer: Indexer;

  beforeAll(async () => {
    h = await startPaywallHarness({ env, heartbeat: false, waitForTiers: false });
    proxy = await startTcpProxy(h.schema.url);
    viaProxy = createDatabase({ url: proxy.url, schema: h.schema.schema, max: 4 });
    indexer = createIndexer({
      config: h.config,
      db: viaProxy.db,
      pool: viaProxy.pool,
      logger: createLogger({ level: "silent" }),
      registry: new Registry(),
      options: FAST,
    });
    await indexer.start();
    await h.plugin.ready(15_000);
  });
  afterAll(async () => {
    await indexer?.stop();
    await viaProxy?.close();
    await h?.close();
    await proxy?.close();
  });

  it("charges the full price within the bound while the indexer cannot write, and discounts again once it can", async () => {
    expect((await payDiscounted(h)).status).toBe(200);

    const frozenAt = Date.now();
    // Existing and new connections go silent: with only the open ones frozen, the pool may open a fresh one
    // and the indexer really can write again, which is no longer this case.
    proxy.blackHole();
    const untrustedMs = await untrustedAfter(h, frozenAt);
    console.log(`[resilience] frozen indexer connections: untrusted after ${untrustedMs} ms (bound ${MAX_AGE_MS} ms)`);
    expect(untrustedMs).toBeLessThan(UNTRUSTED_WITHIN_MS);

    expect(await payDiscounted(h)).toEqual({ status: 402, spent: 0n });
    const full = await (await h.payingFetch("gold"))(premium(h));
    expect(full.status).toBe(200);
    expect(await charged(full)).toBe(PREMIUM_PRICE.toString());

    // The path answers again: frozen clients pass their query deadline and are destroyed, the lock session ends,
    // and the indexer leads again on fresh connections: its heartbeat returns and so does the discount.
    proxy.restore();
    const recovered = await waitFor("the indexer's heartbeat to return", () => h.plugin.tierCache.healthy, { timeoutMs: 30_000, everyMs: 50 });
    expect(recovered).toBe(true);
    console.log(`[resilience] frozen indexer connections: trusted again ${Date.now() - frozenAt} ms after the freeze`);
    expect(await payDiscounted(h)).toEqual({ status: 200, spent: 80_000n });
  });
});
