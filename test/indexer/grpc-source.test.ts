/**
 * Yellowstone gRPC end to end: the local chain's geyser.Geyser server spoken to by the official client
 * (@triton-one/yellowstone-grpc), and the indexer's gRPC live source on it: live changes applied as source
 * 'grpc', a cut stream resumed from its last slot with nothing lost and no resync, and a replay the server no
 * longer holds healed by an incremental resync.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import bs58 from "bs58";
import { pino } from "pino";
import * as yellowstone from "@triton-one/yellowstone-grpc";
import { CommitmentLevel, type SubscribeUpdate } from "@triton-one/yellowstone-grpc";
import { createGeyserServer, type GeyserServer } from "../../localnet/grpc/server.ts";
import type { IndexerOptions } from "../../indexer/options.ts";
import { isReplayUnavailable } from "../../indexer/live/grpc-source.ts";
import { poolTarget, userStakeFilters } from "../../indexer/stake-accounts.ts";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { startTcpProxy, type TcpProxy } from "../kit/tcp-proxy.ts";
import { waitFor } from "../kit/wait-for.ts";
import { KAMIYO } from "./helpers/accounts.ts";
import { createStakers, sendTx, startTestChain, type Staker, type TestChain } from "./helpers/chain.ts";
import { testIndexer, type TestIndexer } from "./helpers/indexer.ts";

type ClientClass = typeof yellowstone.default.default;
const exported = yellowstone as unknown as { default: ClientClass | { default: ClientClass } };
const Client: ClientClass = typeof exported.default === "function" ? exported.default : exported.default.default;

let chain: TestChain;
let s: FreshSchema;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  chain = await startTestChain({ slotMs: 50 });
  s = await withFreshSchema();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await s?.close();
  await chain?.close();
});

async function geyser(replaySlots = 3000): Promise<{ server: GeyserServer; url: string }> {
  const server = createGeyserServer({ chain: chain.net.chain, logger: pino({ level: "silent" }), replaySlots, pingMs: 500 });
  const { url } = await server.listen("127.0.0.1", 0);
  cleanups.push(() => server.close());
  return { server, url };
}

const pool = () => poolTarget(chain.config).pool;
const request = (fromSlot?: bigint) => ({
  accounts: {
    stakes: {
      account: [],
      owner: [chain.config.solana.programId],
      filters: userStakeFilters(pool()).map((f) =>
        "dataSize" in f ? { datasize: String(f.dataSize) } : { memcmp: { offset: String(f.memcmp.offset), base58: f.memcmp.bytes } },
      ),
    },
  },
  slots: { slots: { filterByCommitment: true } },
  transactions: {},
  transactionsStatus: {},
  blocks: {},
  blocksMeta: {},
  entry: {},
  accountsDataSlice: [],
  commitment: CommitmentLevel.CONFIRMED,
  ...(fromSlot !== undefined ? { fromSlot: fromSlot.toString() } : {}),
});

async function stake(staker: Staker, amount: bigint): Promise<void> {
  await sendTx(chain, staker.keypair, [await chain.staking.stake(staker.wallet, staker.tokenAccount, amount)]);
}

const eventsOf = (address: string) =>
  s.db.selectFrom("stake_events").select(["source", "slot", "effective_stake"]).where("address", "=", address).orderBy("id").execute();

describe("the local chain's Yellowstone gRPC, with the official client", () => {
  it("answers the unary calls and streams filtered account and slot updates at the requested commitment", async () => {
    const { url } = await geyser();
    const client = new Client(url, undefined, undefined);
    await client.connect();
    const slot = BigInt((await client.getSlot(CommitmentLevel.CONFIRMED)).slot);
    expect(slot).toBeGreaterThan(0n);
    expect(slot).toBeLessThanOrEqual(chain.net.chain.slot("confirmed"));
    const hash = await client.getLatestBlockhash(CommitmentLevel.FINALIZED);
    expect(hash.blockhash).toMatch(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/);
    expect(JSON.parse((await client.getVersion()).version)).toHaveProperty("version");

    const stream = await client.subscribe();
    cleanups.push(async () => stream.destroy());
    stream.on("error", () => undefined);
    const updates: SubscribeUpdate[] = [];
    stream.on("data", (u: SubscribeUpdate) => updates.push(u));
    stream.write(request());
    await waitFor("a slot update", () => updates.some((u) => u.slot), { timeoutMs: 5_000 });
    expect(updates.filter((u) => u.slot).every((u) => u.slot!.status === 1)).toBe(true);

    const [staker] = createStakers(chain, 1, 1_000_000n * KAMIYO);
    await stake(staker!, 300_000n * KAMIYO);
    const address = chain.staking.userStake(staker!.wallet).toBase58();
    const update = await waitFor("the stake account's update", () => updates.find((u) => u.account && bs58.encode(u.account.account!.pubkey) === address), {
      timeoutMs: 5_000,
    });
    expect(update.filters).toEqual(["stakes"]);
    expect(bs58.encode(update.account!.account!.owner)).toBe(chain.config.solana.programId);
    // Only UserStakes of the pool pass the filters: no token account of the same transaction came through.
    expect(updates.filter((u) => u.account).every((u) => bs58.encode(u.account!.account!.owner) === chain.config.solana.programId)).toBe(true);
  });

  it("replays from a held slot, and refuses a slot older than its window with OUT_OF_RANGE", async () => {
    const { server, url } = await geyser(40);
    const [staker] = createStakers(chain, 1, 1_000_000n * KAMIYO);
    // A slot the server has held whole (it logs nothing from before it started).
    await waitFor("a held slot", () => (server.firstAvailable("confirmed") ?? Infinity) <= chain.net.chain.slot("confirmed"), { timeoutMs: 5_000 });
    const from = chain.net.chain.slot("confirmed");
    await stake(staker!, 200_000n * KAMIYO);
    const address = chain.staking.userStake(staker!.wallet).toBase58();
    await waitFor("the change to be confirmed", () => chain.net.chain.slot("confirmed") > from + 1n, { timeoutMs: 5_000 });

    const client = new Client(url, undefined, undefined);
    await client.connect();
    const replay = await client.subscribe();
    cleanups.push(async () => replay.destroy());
    const replayed: SubscribeUpdate[] = [];
    replay.on("data", (u: SubscribeUpdate) => replayed.push(u));
    replay.on("error", () => undefined);
    replay.write(request(from));
    await waitFor("the replayed update", () => replayed.some((u) => u.account && bs58.encode(u.account.account!.pubkey) === address), { timeoutMs: 5_000 });

    await waitFor("the window to move past the slot", () => (server.firstAvailable("confirmed") ?? 0n) > from, { timeoutMs: 10_000 });
    const late = await client.subscribe();
    cleanups.push(async () => late.destroy());
    const failure = new Promise<unknown>((resolve) => late.once("error", resolve));
    late.on("data", () => undefined);
    late.write(request(from));
    const err = await failure;
    expect(isReplayUnavailable(err)).toBe(true);
  });
});

describe("the indexer's gRPC live source", () => {
  async function indexerOn(url: string, options: Partial<IndexerOptions> = {}): Promise<TestIndexer> {
    const t = testIndexer(s, chain.config, { grpcUrl: url, options: { stallTimeoutMs: 1_500, ...options } });
    cleanups.push(() => t.indexer.stop());
    await t.indexer.start();
    // Its own backfill (the status adopts a previous leader's completion time).
    await waitFor("the backfill", async () => (await resyncs(t)) >= 1 && t.indexer.activity().subscribed && !t.indexer.activity().resyncRunning, {
      timeoutMs: 20_000,
    });
    return t;
  }
  const resyncs = async (t: TestIndexer) => (await t.registry.getSingleMetric("kamiyo_indexer_resyncs_total")!.get()).values[0]?.value ?? 0;

  it("applies live changes as source grpc", async () => {
    const { url } = await geyser();
    await indexerOn(url);
    const [staker] = createStakers(chain, 1, 1_000_000n * KAMIYO);
    await stake(staker!, 150_000n * KAMIYO);
    const address = chain.staking.userStake(staker!.wallet).toBase58();
    const events = await waitFor("the grpc event", async () => {
      const e = await eventsOf(address);
      return e.length > 0 ? e : null;
    }, { timeoutMs: 5_000 });
    expect(events.map((e) => e.source)).toEqual(["grpc"]);
  });

  it("resumes a cut stream from its last slot: nothing lost, no resync", async () => {
    const { url } = await geyser();
    const proxy: TcpProxy = await startTcpProxy(url);
    cleanups.push(() => proxy.close());
    const t = await indexerOn(proxy.url);
    const before = await resyncs(t);
    const stakers = createStakers(chain, 3, 1_000_000n * KAMIYO);
    await proxy.stop();
    for (const st of stakers) await stake(st, 120_000n * KAMIYO);
    await waitFor("the source to notice the cut", () => t.indexer.status().reconnects > 0, { timeoutMs: 10_000 });
    await proxy.start();
    for (const st of stakers) {
      const address = chain.staking.userStake(st.wallet).toBase58();
      await waitFor(`the replayed change of ${address}`, async () => (await eventsOf(address)).length > 0, { timeoutMs: 10_000 });
      expect((await eventsOf(address)).map((e) => e.source)).toEqual(["grpc"]);
    }
    expect(await resyncs(t)).toBe(before);
  });

  it("heals a gap the server no longer holds with an incremental resync", async () => {
    const { server, url } = await geyser(20);
    const proxy: TcpProxy = await startTcpProxy(url);
    cleanups.push(() => proxy.close());
    const t = await indexerOn(proxy.url);
    const before = await resyncs(t);
    const [staker] = createStakers(chain, 1, 1_000_000n * KAMIYO);
    await proxy.stop();
    const cutAt = chain.net.chain.slot("confirmed");
    await stake(staker!, 110_000n * KAMIYO);
    await waitFor("the replay window to move past the cut", () => (server.firstAvailable("confirmed") ?? 0n) > cutAt + 1n, { timeoutMs: 10_000 });
    await proxy.start();
    const address = chain.staking.userStake(staker!.wallet).toBase58();
    const events = await waitFor("the resynced change", async () => {
      const e = await eventsOf(address);
      return e.length > 0 ? e : null;
    }, { timeoutMs: 15_000 });
    expect(events.map((e) => e.source)).toEqual(["resync"]);
    expect(await resyncs(t)).toBeGreaterThan(before);
  });
});
