/**
 * The webhook inbox cannot be held by deliveries that claim slots the chain has not reached: each element is
 * judged by its own slot, one far beyond the chain's current slot is refused for that element alone, so a
 * legitimate delivery queued behind five such deliveries is applied within a couple of seconds and good
 * elements beside bad ones are applied. A 1,000-element delivery is processed in turns: an HTTP server in the
 * same process keeps answering meanwhile.
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import bs58 from "bs58";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enqueueWebhookDelivery, MAX_SLOTS_AHEAD } from "../../indexer/webhook-inbox.ts";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { waitFor } from "../kit/wait-for.ts";
import { startWsProxy, type WsProxy } from "../kit/ws-proxy.ts";
import { KAMIYO } from "../indexer/helpers/accounts.ts";
import { createStakers, getTransactionJson, sendTx, startTestChain, type Staker, type TestChain } from "../indexer/helpers/chain.ts";
import { testIndexer, type TestIndexer } from "../indexer/helpers/indexer.ts";

/** A legitimate delivery behind the far-future ones is applied within this (a couple of seconds, plus slack). */
const APPLIED_WITHIN_MS = 3_000;

let chain: TestChain;
let s: FreshSchema;
let t: TestIndexer;
let proxy: WsProxy;

beforeAll(async () => {
  chain = await startTestChain();
  s = await withFreshSchema();
  // Program notifications dropped: changes reach the table only through webhooks.
  proxy = await startWsProxy(chain.net.wsUrl);
  proxy.dropProgramNotifications = true;
  t = testIndexer(s, chain.config, { wsUrl: proxy.url, options: { webhookRetryBaseMs: 200 } });
  await t.indexer.start();
  await waitFor("first backfill", () => t.indexer.status().backfillCompletedAt !== null, { timeoutMs: 15_000 });
});
afterAll(async () => {
  await t?.indexer.stop();
  await proxy?.close();
  await s?.close();
  await chain?.close();
});

const stakeTx = async (staker: Staker, amount: bigint) => sendTx(chain, staker.keypair, [await chain.staking.stake(staker.wallet, staker.tokenAccount, amount)]);
const row = (address: string) => s.db.selectFrom("stakes").selectAll().where("address", "=", address).executeTakeFirst();
const delivery = (id: string) => s.db.selectFrom("webhook_deliveries").selectAll().where("id", "=", BigInt(id)).executeTakeFirstOrThrow();
/** `element` with another signature and `slot`: a transaction nobody sent, claiming that slot. */
const forged = (element: Record<string, unknown>, slot: number) => {
  const tx = element.transaction as { signatures: string[] };
  return { ...element, slot, transaction: { ...tx, signatures: [bs58.encode(randomBytes(64))] } };
};
const farFuture = () => Number(chain.net.chain.slot() + MAX_SLOTS_AHEAD + 1_000_000n);

describe("webhook elements claiming slots the chain has not reached", () => {
  it("applies a legitimate delivery queued behind five far-future ones within seconds", async () => {
    const [a, b] = createStakers(chain, 2, 1_000_000n * KAMIYO);
    const template = await getTransactionJson(chain, await stakeTx(b!, 10_000n * KAMIYO));
    const bad: string[] = [];
    for (let i = 0; i < 5; i++) bad.push((await enqueueWebhookDelivery(s.db, [forged(template, farFuture())])).id);

    const sig = await stakeTx(a!, 150_000n * KAMIYO);
    const address = chain.staking.userStake(a!.wallet).toBase58();
    const started = Date.now();
    await enqueueWebhookDelivery(s.db, [await getTransactionJson(chain, sig)]);
    await waitFor("the legitimate delivery's stake applied", async () => (await row(address))?.effective_stake === 150_000n * KAMIYO, {
      timeoutMs: 20_000,
      everyMs: 20,
    });
    const ms = Date.now() - started;
    console.log(`[resilience] legitimate webhook delivery behind five far-future ones applied in ${ms} ms`);
    expect(ms).toBeLessThan(APPLIED_WITHIN_MS);
    for (const id of bad) {
      const d = await delivery(id);
      expect(d.status).toBe("done");
      expect(d.outcome).toMatchObject({ counts: { invalid: 1, applied: 0 } });
      expect(d.last_error).toMatch(/slots beyond the chain's current slot/);
    }
  });

  it("applies the good elements of a delivery that also carries far-future ones, and flags only those", async () => {
    const [a, b] = createStakers(chain, 2, 1_000_000n * KAMIYO);
    const goodA = await getTransactionJson(chain, await stakeTx(a!, 120_000n * KAMIYO));
    const goodB = await getTransactionJson(chain, await stakeTx(b!, 60_000n * KAMIYO));
    const { id } = await enqueueWebhookDelivery(s.db, [forged(goodA, farFuture()), goodA, forged(goodB, farFuture()), goodB]);
    await waitFor("the delivery to settle", async () => (await delivery(id)).status === "done", { timeoutMs: 10_000, everyMs: 20 });
    const d = await delivery(id);
    expect(d.outcome).toMatchObject({ counts: { applied: 2, invalid: 2 } });
    expect((d.outcome as { invalid: Array<{ index: number }> }).invalid.map((i) => i.index)).toEqual([0, 2]);
    expect((await row(chain.staking.userStake(a!.wallet).toBase58()))?.effective_stake).toBe(120_000n * KAMIYO);
    expect((await row(chain.staking.userStake(b!.wallet).toBase58()))?.effective_stake).toBe(60_000n * KAMIYO);
  });

  it("keeps the event loop answering while a 1,000-element delivery is processed", async () => {
    const server = http.createServer((_req, res) => res.end("ok"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
    try {
      const [a] = createStakers(chain, 1, 1_000_000n * KAMIYO);
      const template = await getTransactionJson(chain, await stakeTx(a!, 70_000n * KAMIYO));
      const elements = Array.from({ length: 1_000 }, () => forged(template, template.slot as number));
      const answers: number[] = [];
      const { id } = await enqueueWebhookDelivery(s.db, elements);
      let done = false;
      while (!done) {
        const started = Date.now();
        expect((await fetch(url)).status).toBe(200);
        answers.push(Date.now() - started);
        done = (await delivery(id)).status !== "pending" && (await delivery(id)).status !== "processing";
      }
      const d = await delivery(id);
      expect(d.status).toBe("done");
      expect(d.outcome).toMatchObject({ counts: { applied: 1_000 } });
      const worst = Math.max(...answers);
      console.log(`[resilience] 1,000-element webhook delivery: ${answers.length} /health answers meanwhile, slowest ${worst} ms`);
      expect(worst).toBeLessThan(1_000);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
