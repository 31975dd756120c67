/**
 * Dead and stalled sockets: the indexer must notice them itself (no slot progress within the bound),
 * reconnect with backoff, count the reconnect, and heal the gap with a resync.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { poolTarget } from "../../indexer/stake-accounts.ts";
import { createStakers, sendTx, startTestChain, type TestChain } from "./helpers/chain.ts";
import { waitFor } from "../kit/wait-for.ts";
import { testIndexer, type TestIndexer } from "./helpers/indexer.ts";
import { startSilentWsServer, startWsProxy, type WsProxy } from "../kit/ws-proxy.ts";
import { KAMIYO } from "./helpers/accounts.ts";

let chain: TestChain;
let s: FreshSchema;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  chain = await startTestChain();
  s = await withFreshSchema();
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

afterAll(async () => {
  await s?.close();
  await chain?.close();
});

function start(extra: Parameters<typeof testIndexer>[2]): TestIndexer {
  const t = testIndexer(s, chain.config, extra);
  cleanups.push(() => t.indexer.stop());
  void t.indexer.start();
  return t;
}

async function proxied(): Promise<WsProxy> {
  const proxy = await startWsProxy(chain.net.wsUrl);
  cleanups.push(() => proxy.close());
  return proxy;
}

const counter = async (t: TestIndexer, name: string) =>
  (await t.registry.getSingleMetric(name)!.get()).values.reduce((sum, v) => sum + v.value, 0);

describe("live feed liveness", () => {
  it("gives up on a websocket that accepts but never sends, and keeps trying with backoff", async () => {
    const silent = await startSilentWsServer();
    cleanups.push(() => silent.close());
    const t = start({ wsUrl: silent.url, options: { stallTimeoutMs: 300 } });
    await waitFor("three connection attempts", () => silent.connections() >= 3, { timeoutMs: 10_000 });
    expect(t.indexer.status().reconnects).toBeGreaterThanOrEqual(2);
    expect(await counter(t, "kamiyo_indexer_ws_reconnects_total")).toBeGreaterThanOrEqual(2);
    // never subscribed, so never backfilled: the feed must come first
    expect(t.indexer.status().backfillCompletedAt).toBeNull();
    expect(t.indexer.activity().subscribed).toBe(false);
  });

  it("notices an established socket that stopped delivering, reconnects, and resyncs what it missed", async () => {
    const proxy = await proxied();
    const t = start({ wsUrl: proxy.url, options: { stallTimeoutMs: 400 } });
    await waitFor("first backfill", () => t.indexer.status().backfillCompletedAt !== null, { timeoutMs: 10_000 });
    expect(await counter(t, "kamiyo_indexer_resyncs_total")).toBe(1);

    proxy.stalled = true;
    const [a] = createStakers(chain, 1, 1_000_000n * KAMIYO);
    await sendTx(chain, a!.keypair, [await chain.staking.stake(a!.wallet, a!.tokenAccount, 250_000n * KAMIYO)]);
    const address = chain.staking.userStake(a!.wallet).toBase58();
    const opened = proxy.connections;
    await waitFor("the stall to be noticed", () => t.indexer.status().reconnects >= 1, { timeoutMs: 5_000 });
    proxy.stalled = false;
    await waitFor("a new subscription", () => proxy.connections > opened && t.indexer.activity().subscribed, { timeoutMs: 5_000 });
    await waitFor("the resync", async () => (await counter(t, "kamiyo_indexer_resyncs_total")) >= 2, { timeoutMs: 10_000 });
    // The resync's write reaches the table through the write queue: wait for the row, not only the counter.
    const row = await waitFor("the missed stake in the table", () => s.db.selectFrom("stakes").selectAll().where("address", "=", address).executeTakeFirst(), {
      timeoutMs: 10_000,
    });
    expect(row.effective_stake).toBe(250_000n * KAMIYO);
    const ev = await s.db.selectFrom("stake_events").select("source").where("address", "=", address).execute();
    // Healed by the incremental resync (getProgramAccountsV2 changedSinceSlot), not a full backfill.
    expect(ev.map((e) => e.source)).toEqual(["resync"]);
  });

  it("reconciles on its own schedule once backfilled, closing a row whose account vanished", async () => {
    const t = start({ options: { reconcileIntervalMs: 300 } });
    // This indexer's own backfill: the status it adopted from the previous test's indexer says "backfilled"
    // already, and a stake sent before this backfill ran would reach the table through it, not the feed.
    await waitFor("first backfill", async () => (await counter(t, "kamiyo_indexer_resyncs_total")) >= 1, { timeoutMs: 10_000 });
    const [a] = createStakers(chain, 1, 1_000_000n * KAMIYO);
    await sendTx(chain, a!.keypair, [await chain.staking.stake(a!.wallet, a!.tokenAccount, 120_000n * KAMIYO)]);
    const address = chain.staking.userStake(a!.wallet).toBase58();
    await waitFor("the stake", async () => (await s.db.selectFrom("stakes").select("address").where("address", "=", address).executeTakeFirst()) !== undefined, { timeoutMs: 5_000 });
    await chain.rpc("surfnet_setAccount", [address, { lamports: 0 }]);
    await waitFor(
      "a scheduled reconciliation to close the row",
      async () => (await s.db.selectFrom("stakes").select("closed").where("address", "=", address).executeTakeFirst())?.closed === true,
      { timeoutMs: 5_000 },
    );
    const ev = await s.db.selectFrom("stake_events").select(["source", "closed"]).where("address", "=", address).orderBy("id").execute();
    expect(ev).toEqual([{ source: "ws", closed: false }, { source: "reconcile", closed: true }]);
    await waitFor("the run to be counted", async () => (await counter(t, "kamiyo_indexer_reconciliations_total")) >= 1, { timeoutMs: 2_000 });
  });

  it("reconnects after the server cuts the socket and backfills the gap", async () => {
    const proxy = await proxied();
    const t = start({ wsUrl: proxy.url, options: { reconnectBaseMs: 200, reconnectMaxMs: 200 } });
    await waitFor("subscription", () => t.indexer.activity().subscribed && !t.indexer.activity().resyncRunning, { timeoutMs: 10_000 });
    const before = await counter(t, "kamiyo_indexer_resyncs_total");
    expect(proxy.cutAll()).toBe(1);
    // changed while no socket is open (the reconnect waits 200 ms)
    const [a] = createStakers(chain, 1, 1_000_000n * KAMIYO);
    await sendTx(chain, a!.keypair, [await chain.staking.stake(a!.wallet, a!.tokenAccount, 520_000n * KAMIYO)]);
    await waitFor("the resync", async () => (await counter(t, "kamiyo_indexer_resyncs_total")) > before, { timeoutMs: 10_000 });
    expect(t.indexer.status().reconnects).toBe(1);
    const row = await waitFor(
      "the gap's stake in the table",
      () => s.db.selectFrom("stakes").selectAll().where("address", "=", chain.staking.userStake(a!.wallet).toBase58()).executeTakeFirst(),
      { timeoutMs: 10_000 },
    );
    expect(row).toMatchObject({ discount_tier: "gold", pool: poolTarget(chain.config).pool });
  });
});
