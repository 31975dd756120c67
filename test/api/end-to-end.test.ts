/**
 * The `start` composition end to end: local chain over real JSON-RPC and websockets, real Postgres, the
 * real indexer and the API. A stake transaction on the chain shows up in /x402/staking/info without a
 * restart, through the websocket path and, separately, through the webhook path.
 */
import { Keypair } from "@solana/web3.js";
import { afterEach, describe, expect, it } from "vitest";
import { ADMIN_KEY, json } from "./harness.ts";
import { startTestStack, type TestStack } from "./local-stack.ts";
import { createStakeClient, KAMIYO, type StakeClient } from "./stake-client.ts";
import { waitFor } from "../kit/wait-for.ts";

let stack: TestStack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

function client(s: TestStack): StakeClient {
  return createStakeClient({
    rpcUrl: s.state.localnet!.httpUrl,
    programId: s.state.config.solana.programId,
    kamiyoMint: s.state.config.solana.kamiyoMint,
  });
}

const info = async (s: TestStack, wallet: string) => json(await fetch(`${s.apiUrl}/x402/staking/info/${wallet}`));

/** Waits until the API reports `staked` base units for the wallet and returns the answer. */
const waitForStaked = (s: TestStack, wallet: string, staked: bigint, timeoutMs = 10_000) =>
  waitFor(`${staked} staked for ${wallet}`, async () => {
    const body = await info(s, wallet);
    return body.staked.amount === staked.toString() ? body : null;
  }, { timeoutMs });

async function eventSources(s: TestStack, address: string): Promise<string[]> {
  const rows = await s.schema.db.selectFrom("stake_events").select("source").where("address", "=", address).orderBy("id").execute();
  return rows.map((r) => r.source);
}

describe("start composition", () => {
  it("serves the demo stakers after the first backfill, and a new stake arrives through the websocket", async () => {
    // Webhooks go nowhere here (nothing listens on port 9), so the live feed is the only path.
    stack = await startTestStack({ env: { PUBLIC_URL: "http://127.0.0.1:9" } });
    const s = stack;
    expect((await fetch(`${s.apiUrl}/ready`)).status).toBe(200);
    const seed = s.state.localnet!.seed!;
    const demo = (name: string) => seed.wallets.find((w) => w.name === name)!.address;
    expect(await info(s, demo("gold"))).toMatchObject({ tier: "gold", discountBps: 2000, staked: { ui: "600000" } });
    expect(await info(s, demo("cooldown"))).toMatchObject({ tier: "none", effectiveStake: { ui: "50000" }, cooldown: { amount: { ui: "550000" } } });
    expect(await info(s, demo("nonstaker"))).toMatchObject({ stakeAccount: null, tier: "none" });

    const chain = client(s);
    const user = Keypair.generate();
    await chain.fund(user, 700_000n * KAMIYO);
    const wallet = user.publicKey.toBase58();
    expect(await info(s, wallet)).toMatchObject({ stakeAccount: null, staked: { amount: "0" } });

    await chain.stake(user, 150_000n * KAMIYO);
    const staked = await waitForStaked(s, wallet, 150_000n * KAMIYO);
    expect(staked).toMatchObject({ tier: "silver", discountBps: 1000, priority: "priority", stakeAccount: chain.userStake(wallet).toBase58() });

    await chain.stake(user, 400_000n * KAMIYO);
    expect(await waitForStaked(s, wallet, 550_000n * KAMIYO)).toMatchObject({ tier: "gold", discountBps: 2000 });

    await chain.unstake(user, 500_000n * KAMIYO);
    const cooling = await waitFor("the cooldown to show", async () => {
      const body = await info(s, wallet);
      return body.cooldown.endsAtUnix !== null ? body : null;
    });
    expect(cooling).toMatchObject({ tier: "none", effectiveStake: { ui: "50000" }, cooldown: { amount: { ui: "500000" } } });
    expect(Number(cooling.asOf.slot)).toBeGreaterThanOrEqual(Number(staked.asOf.slot));

    const sources = await eventSources(s, chain.userStake(wallet).toBase58());
    expect(sources).toEqual(["ws", "ws", "ws"]);

    // The admin resync re-reads from chain through the real indexer API and agrees.
    const resync = await fetch(`${s.apiUrl}/x402/admin/resync/${wallet}`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(resync.status).toBe(200);
    expect(await json(resync)).toMatchObject({ wallet, effectiveStake: (50_000n * KAMIYO).toString(), tier: "none" });

    // One registry carries the API's snapshot-derived series and the in-process indexer's own.
    const metrics = await (await fetch(`${s.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(/^kamiyo_indexer_status_lag_slots\{source="ws"\} \d+$/m);
    expect(metrics).toMatch(/^kamiyo_indexer_status_backfill_completed 1$/m);
    expect(metrics).toMatch(/^kamiyo_indexer_leader 1$/m);
  });

  it("brings a stake in through the Helius webhook path when the websocket carries no stake changes", async () => {
    stack = await startTestStack({ dropProgramNotifications: true });
    const s = stack;
    const chain = client(s);
    const user = Keypair.generate();
    await chain.fund(user, 200_000n * KAMIYO);
    const wallet = user.publicKey.toBase58();

    await chain.stake(user, 120_000n * KAMIYO);
    expect(await waitForStaked(s, wallet, 120_000n * KAMIYO)).toMatchObject({ tier: "silver" });
    expect(await eventSources(s, chain.userStake(wallet).toBase58())).toEqual(["webhook"]);
    expect(s.proxy!.dropped()).toBeGreaterThan(0);

    const stakeAddress = chain.userStake(wallet).toBase58();
    const deliveries = await s.schema.db.selectFrom("webhook_deliveries").select("body").execute();
    expect(deliveries.some((d) => JSON.stringify(d.body).includes(stakeAddress))).toBe(true);
    await waitFor("every delivery to be done", async () => {
      const pending = await s.schema.db.selectFrom("webhook_deliveries").select("id").where("status", "!=", "done").execute();
      return pending.length === 0;
    });
    const text = await (await fetch(`${s.apiUrl}/metrics`)).text();
    // At least the stake's own delivery (the chain may still be retrying deliveries of the demo seed's transactions).
    expect(Number(/^kamiyo_api_webhook_deliveries_total\{result="accepted"\} (\d+)$/m.exec(text)?.[1])).toBeGreaterThanOrEqual(1);
    expect(Number(/^kamiyo_webhook_inbox_elements\{outcome="applied"\} (\d+)$/m.exec(text)?.[1])).toBeGreaterThanOrEqual(1);
  });

  it("acknowledges deliveries while no indexer runs, and /ready flips to 200 once the indexer has backfilled", async () => {
    stack = await startTestStack({ defer: ["indexer"] });
    const s = stack;
    const ready = await fetch(`${s.apiUrl}/ready`);
    expect(ready.status).toBe(503);
    expect(await json(ready)).toMatchObject({ ready: false });

    const chain = client(s);
    const user = Keypair.generate();
    await chain.fund(user, 300_000n * KAMIYO);
    const wallet = user.publicKey.toBase58();
    await chain.stake(user, 250_000n * KAMIYO);

    // The chain's webhook sender got its 200 and the delivery is stored, yet nothing has processed it.
    const stakeAddress = chain.userStake(wallet).toBase58();
    const stored = await waitFor("the stake's delivery to be stored", async () => {
      const rows = await s.schema.db.selectFrom("webhook_deliveries").select(["id", "status", "body"]).execute();
      return rows.find((r) => JSON.stringify(r.body).includes(stakeAddress)) ?? null;
    });
    expect(stored.status).toBe("pending");
    expect(await info(s, wallet)).toMatchObject({ stakeAccount: null, staked: { amount: "0" } });

    await s.startDeferred("indexer");
    expect((await fetch(`${s.apiUrl}/ready`)).status).toBe(200);
    expect(await waitForStaked(s, wallet, 250_000n * KAMIYO)).toMatchObject({ tier: "silver" });
    // An attempt that fails for a reason a retry fixes (a node short of the delivery's slot, a busy database)
    // is retried after 1, 2, 4 and 8 s (webhookRetryBaseMs, doubling): the wait covers that schedule.
    await waitFor(
      "the stored delivery to be done",
      async () => {
        const row = await s.schema.db.selectFrom("webhook_deliveries").select("status").where("id", "=", stored.id).executeTakeFirstOrThrow();
        return row.status === "done";
      },
      { timeoutMs: 30_000 },
    );
  });
});
