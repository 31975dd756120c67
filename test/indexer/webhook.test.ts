/**
 * The webhook inbox end to end: deliveries stored with enqueueWebhookDelivery, processed by the leading
 * indexer, accounts re-read from the local chain. The live feed's program notifications are dropped by a
 * proxy, so every change after the backfill reaches the table only through webhooks.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { tierFor } from "../../src/domain/tiers.ts";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { enqueueWebhookDelivery } from "../../indexer/webhook-inbox.ts";
import { poolTarget } from "../../indexer/stake-accounts.ts";
import {
  chainStakes,
  createStakers,
  diffTableAgainstChain,
  getTransactionJson,
  sendTx,
  startTestChain,
  type Staker,
  type TestChain,
} from "./helpers/chain.ts";
import { waitFor } from "../kit/wait-for.ts";
import { testIndexer, type TestIndexer } from "./helpers/indexer.ts";
import { startWsProxy, type WsProxy } from "../kit/ws-proxy.ts";
import { faultyFetch, type FaultyFetch } from "./helpers/faulty-fetch.ts";
import { KAMIYO } from "./helpers/accounts.ts";

let chain: TestChain;
let s: FreshSchema;
let t: TestIndexer;
let proxy: WsProxy;
let faults: FaultyFetch;

beforeAll(async () => {
  chain = await startTestChain();
  s = await withFreshSchema();
  proxy = await startWsProxy(chain.net.wsUrl);
  proxy.dropProgramNotifications = true;
  faults = faultyFetch();
  t = testIndexer(s, chain.config, {
    wsUrl: proxy.url,
    fetch: faults.fetch,
    options: { webhookMaxAttempts: 3, webhookRetryBaseMs: 50, webhookReadAttempts: 2 },
  });
  await t.indexer.start();
  await waitFor("first backfill", () => t.indexer.status().backfillCompletedAt !== null, { timeoutMs: 15_000 });
});

afterAll(async () => {
  await t?.indexer.stop();
  await proxy?.close();
  await s?.close();
  await chain?.close();
});

beforeEach(() => {
  faults.plan = () => null;
});

const pool = () => poolTarget(chain.config).pool;
const tierName = (effective: bigint) => tierFor(effective, chain.config.tiers).name;
const rows = () =>
  s.db
    .selectFrom("stakes")
    .select(["address", "owner", "staked_amount", "cooldown_amount", "cooldown_end", "effective_stake", "discount_tier", "closed", "slot"])
    .execute();
const drift = async () => diffTableAgainstChain(await rows(), chainStakes(chain, pool()), tierName);
const row = (address: string) => s.db.selectFrom("stakes").selectAll().where("address", "=", address).executeTakeFirst();
const events = (address: string) =>
  s.db.selectFrom("stake_events").selectAll().where("address", "=", address).orderBy("id").execute();

async function settled(id: string) {
  await waitFor(`delivery ${id} to settle`, async () => {
    const d = await s.db.selectFrom("webhook_deliveries").select("status").where("id", "=", BigInt(id)).executeTakeFirst();
    return d?.status === "done" || d?.status === "failed";
  }, { timeoutMs: 10_000 });
  return s.db.selectFrom("webhook_deliveries").selectAll().where("id", "=", BigInt(id)).executeTakeFirstOrThrow();
}

async function stakeTx(staker: Staker, amount: bigint): Promise<string> {
  return sendTx(chain, staker.keypair, [await chain.staking.stake(staker.wallet, staker.tokenAccount, amount)]);
}

describe("webhook inbox", () => {
  it("applies the accounts a delivered transaction wrote, with the signature, and only through the webhook", async () => {
    const [a] = createStakers(chain, 1, 1_000_000n * KAMIYO);
    const sig = await stakeTx(a!, 150_000n * KAMIYO);
    const address = chain.staking.userStake(a!.wallet).toBase58();
    // A negative: a bounded wait gives a notification that should not come the time to arrive.
    await new Promise((r) => setTimeout(r, 300));
    expect(await row(address)).toBeUndefined(); // no program notification reached the indexer

    const { id, elements } = await enqueueWebhookDelivery(s.db, [await getTransactionJson(chain, sig)]);
    expect(elements).toBe(1);
    const d = await settled(id);
    expect(d.outcome).toMatchObject({ counts: { applied: 1, duplicate: 0, failed_tx: 0, no_transaction: 0, invalid: 0 } });
    expect(await row(address)).toMatchObject({ effective_stake: 150_000n * KAMIYO, discount_tier: "silver" });
    expect((await events(address)).map((e) => [e.source, e.signature])).toEqual([["webhook", sig]]);
    const remembered = await s.db.selectFrom("webhook_signatures").selectAll().where("signature", "=", sig).executeTakeFirstOrThrow();
    expect(remembered).toMatchObject({ outcome: "applied", delivery_id: BigInt(id) });
  });

  it("applies a duplicated transaction once, within a delivery and across deliveries", async () => {
    const [a] = createStakers(chain, 1, 1_000_000n * KAMIYO);
    const sig = await stakeTx(a!, 200_000n * KAMIYO);
    const element = await getTransactionJson(chain, sig);
    const first = await settled((await enqueueWebhookDelivery(s.db, [element, element])).id);
    const second = await settled((await enqueueWebhookDelivery(s.db, [element])).id);
    expect(first.outcome).toMatchObject({ counts: { applied: 1, duplicate: 1 } });
    expect(second.outcome).toMatchObject({ counts: { applied: 0, duplicate: 1 }, accountsRead: 0 });
    expect(await events(chain.staking.userStake(a!.wallet).toBase58())).toHaveLength(1);
    const metrics = await t.registry.getSingleMetricAsString("kamiyo_indexer_webhook_elements_total");
    expect(metrics).toMatch(/outcome="duplicate"\} [2-9]/);
  });

  it("converges whatever order deliveries arrive in, never moving a row back", async () => {
    const [a] = createStakers(chain, 1, 1_000_000n * KAMIYO);
    const address = chain.staking.userStake(a!.wallet).toBase58();
    const s1 = await stakeTx(a!, 300_000n * KAMIYO);
    await waitFor("next slot", () => chain.net.chain.slot() > (chain.net.chain.getSignatureStatus(s1)?.slot ?? 0n), { timeoutMs: 2_000 });
    const s2 = await sendTx(chain, a!.keypair, [await chain.staking.unstake(a!.wallet, 250_000n * KAMIYO)]);
    const [e1, e2] = [await getTransactionJson(chain, s1), await getTransactionJson(chain, s2)];
    // newest first, then the older one on its own
    await settled((await enqueueWebhookDelivery(s.db, [e2])).id);
    await settled((await enqueueWebhookDelivery(s.db, [e1])).id);
    expect(await row(address)).toMatchObject({ effective_stake: 50_000n * KAMIYO, cooldown_amount: 250_000n * KAMIYO });
    const slots = (await events(address)).map((e) => e.slot);
    expect([...slots].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))).toEqual(slots);
    expect(await drift()).toEqual([]);
  });

  it("records a failed transaction (meta.err) as processed without re-reading anything", async () => {
    const [a] = createStakers(chain, 1, 1_000_000n * KAMIYO);
    // below the pool's 100 KAMIYO minimum: lands (no preflight) and fails with BelowMinimumStake
    const sig = await sendTx(chain, a!.keypair, [await chain.staking.stake(a!.wallet, a!.tokenAccount, 1n)], { skipPreflight: true });
    const element = await getTransactionJson(chain, sig);
    expect((element.meta as { err: unknown }).err).not.toBeNull();
    const d = await settled((await enqueueWebhookDelivery(s.db, [element])).id);
    expect(d.outcome).toMatchObject({ counts: { failed_tx: 1, applied: 0 }, accountsRead: 0 });
    const remembered = await s.db.selectFrom("webhook_signatures").selectAll().where("signature", "=", sig).executeTakeFirstOrThrow();
    expect(remembered.outcome).toBe("failed");
    expect(await row(chain.staking.userStake(a!.wallet).toBase58())).toBeUndefined();
  });

  it("skips elements without a transaction and rejects malformed ones without losing the good ones", async () => {
    const [a, b] = createStakers(chain, 2, 1_000_000n * KAMIYO);
    const good1 = await getTransactionJson(chain, await stakeTx(a!, 120_000n * KAMIYO));
    const good2 = await getTransactionJson(chain, await stakeTx(b!, 700_000n * KAMIYO));
    const body = [
      { slot: 5, meta: { err: null } }, // no transaction
      good1,
      42,
      { slot: 7, transaction: { signatures: ["not a signature"], message: { accountKeys: [] } } },
      { slot: 8, transaction: { signatures: [(good2.transaction as { signatures: string[] }).signatures[0]], message: { accountKeys: ["x"], header: {} } } },
      good2,
    ];
    const d = await settled((await enqueueWebhookDelivery(s.db, body)).id);
    expect(d.status).toBe("done");
    expect(d.outcome).toMatchObject({ counts: { applied: 2, no_transaction: 1, invalid: 3 } });
    expect(d.last_error).toMatch(/3 element\(s\) rejected/);
    expect(await row(chain.staking.userStake(a!.wallet).toBase58())).toMatchObject({ discount_tier: "silver" });
    expect(await row(chain.staking.userStake(b!.wallet).toBase58())).toMatchObject({ discount_tier: "gold" });
  });

  it("re-reads accounts named only in meta.loadedAddresses.writable (address lookup tables)", async () => {
    const [a] = createStakers(chain, 1, 1_000_000n * KAMIYO);
    const sig = await stakeTx(a!, 110_000n * KAMIYO);
    const address = chain.staking.userStake(a!.wallet).toBase58();
    const element = await getTransactionJson(chain, sig);
    const message = (element.transaction as { message: { accountKeys: string[]; header: Record<string, number> } }).message;
    // Move the user stake account out of the static keys, as if a lookup table supplied it. It is a writable
    // non-signer, so dropping it leaves the header's readonly counts valid.
    const index = message.accountKeys.indexOf(address);
    expect(index).toBeGreaterThanOrEqual(message.header.numRequiredSignatures!);
    message.accountKeys.splice(index, 1);
    (element.meta as { loadedAddresses: { writable: string[]; readonly: string[] } }).loadedAddresses = { writable: [address], readonly: [] };
    await settled((await enqueueWebhookDelivery(s.db, [element])).id);
    expect(await row(address)).toMatchObject({ effective_stake: 110_000n * KAMIYO });
  });

  it("retries a delivery whose processing failed, storing the error, and gives up after the attempt limit", async () => {
    const [a, b] = createStakers(chain, 2, 1_000_000n * KAMIYO);
    const elementA = await getTransactionJson(chain, await stakeTx(a!, 130_000n * KAMIYO));
    // two tries per attempt: the first attempt fails, the second succeeds
    let failures = 2;
    faults.plan = (method) => (method === "getMultipleAccounts" && failures-- > 0 ? "http503" : null);
    const retried = await settled((await enqueueWebhookDelivery(s.db, [elementA])).id);
    expect(retried).toMatchObject({ status: "done", attempts: 2, last_error: null });
    expect(await row(chain.staking.userStake(a!.wallet).toBase58())).toMatchObject({ effective_stake: 130_000n * KAMIYO });

    const elementB = await getTransactionJson(chain, await stakeTx(b!, 140_000n * KAMIYO));
    faults.plan = (method) => (method === "getMultipleAccounts" ? "node-behind" : null);
    const { id } = await enqueueWebhookDelivery(s.db, [elementB]);
    await waitFor("the first failed attempt to be stored", async () => {
      const d = await s.db.selectFrom("webhook_deliveries").select(["status", "attempts", "last_error"]).where("id", "=", BigInt(id)).executeTakeFirst();
      return d?.status === "pending" && d.attempts === 1 && /Node is behind/.test(d.last_error ?? "");
    }, { timeoutMs: 10_000 });
    const failed = await settled(id);
    expect(failed).toMatchObject({ status: "failed", attempts: 3 });
    expect(failed.last_error).toMatch(/getMultipleAccounts: Node is behind \(injected\) \(-32005\)/);
    // not remembered as processed: a later delivery of the same transaction is applied
    faults.plan = () => null;
    const later = await settled((await enqueueWebhookDelivery(s.db, [elementB])).id);
    expect(later.outcome).toMatchObject({ counts: { applied: 1 } });
    expect(await row(chain.staking.userStake(b!.wallet).toBase58())).toMatchObject({ effective_stake: 140_000n * KAMIYO });
  });

  it("processes deliveries stored while no indexer was leading once one leads", async () => {
    await t.indexer.stop();
    const [a] = createStakers(chain, 1, 1_000_000n * KAMIYO);
    const { id } = await enqueueWebhookDelivery(s.db, [await getTransactionJson(chain, await stakeTx(a!, 160_000n * KAMIYO))]);
    // Nobody leads, so nothing may pick the delivery up: a negative, checked after a bounded wait.
    await new Promise((r) => setTimeout(r, 200));
    const pending = await s.db.selectFrom("webhook_deliveries").select("status").where("id", "=", BigInt(id)).executeTakeFirstOrThrow();
    expect(pending.status).toBe("pending");
    t = testIndexer(s, chain.config, { wsUrl: proxy.url });
    await t.indexer.start();
    expect((await settled(id)).status).toBe("done");
    expect(await row(chain.staking.userStake(a!.wallet).toBase58())).toMatchObject({ effective_stake: 160_000n * KAMIYO });
    const stuck = await sql<{ n: string }>`SELECT count(*)::text AS n FROM webhook_deliveries WHERE status = 'processing'`.execute(s.db);
    expect(stuck.rows[0]!.n).toBe("0");
  });
});
