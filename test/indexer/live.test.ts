/**
 * The indexer against the local chain over real JSON-RPC and websockets: backfill, live updates, closed
 * accounts found by reconciliation, wallet resync, status and metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { pino } from "pino";
import { tierFor } from "../../src/domain/tiers.ts";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { STAKE_CHANGES_CHANNEL, type StakeChangeNotice } from "../../indexer/contracts.ts";
import { createIndexerApi } from "../../indexer/resync.ts";
import { InvalidWalletError } from "../../indexer/errors.ts";
import { readStatus } from "../../indexer/status.ts";
import { poolTarget } from "../../indexer/stake-accounts.ts";
import {
  chainStakes,
  createStakers,
  diffTableAgainstChain,
  sendTx,
  startTestChain,
  type TestChain,
} from "./helpers/chain.ts";
import { waitFor } from "../kit/wait-for.ts";
import { testIndexer, type TestIndexer } from "./helpers/indexer.ts";
import { KAMIYO } from "./helpers/accounts.ts";

let chain: TestChain;
let s: FreshSchema;
let t: TestIndexer;
let listener: pg.Client;
const notices: StakeChangeNotice[] = [];

beforeAll(async () => {
  chain = await startTestChain();
  s = await withFreshSchema();
  listener = new pg.Client({ connectionString: s.url });
  await listener.connect();
  listener.on("notification", (n) => notices.push(JSON.parse(n.payload!) as StakeChangeNotice));
  await listener.query(`LISTEN ${STAKE_CHANGES_CHANNEL}`);
  t = testIndexer(s, chain.config);
  await t.indexer.start();
});

afterAll(async () => {
  await t?.indexer.stop();
  await listener?.end();
  await s?.close();
  await chain?.close();
});

const pool = () => poolTarget(chain.config).pool;
const rows = () =>
  s.db
    .selectFrom("stakes")
    .select(["address", "owner", "staked_amount", "cooldown_amount", "cooldown_end", "effective_stake", "discount_tier", "closed"])
    .execute();
const tierName = (effective: bigint) => tierFor(effective, chain.config.tiers).name;
const drift = async () => diffTableAgainstChain(await rows(), chainStakes(chain, pool()), tierName);

describe("indexer on the local chain", () => {
  it("backfills the demo stakers once subscribed, and reports ready through its status", async () => {
    await waitFor("first backfill", () => t.indexer.status().backfillCompletedAt !== null, { timeoutMs: 15_000 });
    expect(chainStakes(chain, pool()).size).toBe(5);
    expect(await drift()).toEqual([]);
    await waitFor("persisted status", async () => (await readStatus(s.db))?.backfillCompletedAt !== null, { timeoutMs: 5_000 });
    const stored = await readStatus(s.db);
    expect(stored?.lastSlotBySource.backfill).toMatch(/^\d+$/);
    const events = await s.db.selectFrom("stake_events").select(["source"]).execute();
    // An initial fill into an empty table is the baseline: no per-row event (stakes-bulk.ts says why).
    expect(events).toEqual([]);
  });

  it("applies a stake made on chain through the websocket and announces it", async () => {
    const [staker] = createStakers(chain, 1, 1_000_000n * KAMIYO);
    const address = chain.staking.userStake(staker!.wallet).toBase58();
    await sendTx(chain, staker!.keypair, [await chain.staking.stake(staker!.wallet, staker!.tokenAccount, 600_000n * KAMIYO)]);
    await waitFor("the websocket update", async () => (await rows()).some((r) => r.address === address), { timeoutMs: 5_000 });
    const row = await s.db.selectFrom("stakes").selectAll().where("address", "=", address).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ owner: staker!.wallet, effective_stake: 600_000n * KAMIYO, discount_tier: "gold", commitment: "confirmed" });
    const ev = await s.db.selectFrom("stake_events").selectAll().where("address", "=", address).execute();
    expect(ev.map((e) => e.source)).toEqual(["ws"]);
    await waitFor("the notification", () => notices.some((n) => n.address === address), { timeoutMs: 2_000 });
    expect(notices.find((n) => n.address === address)).toEqual({
      owner: staker!.wallet,
      pool: pool(),
      address,
      tier: "gold",
      discountBps: 2000,
      effectiveStake: (600_000n * KAMIYO).toString(),
      slot: row.slot.toString(),
    });

    await sendTx(chain, staker!.keypair, [await chain.staking.unstake(staker!.wallet, 550_000n * KAMIYO)]);
    await waitFor(
      "the unstake to show",
      async () => (await rows()).some((r) => r.address === address && r.effective_stake === 50_000n * KAMIYO),
      { timeoutMs: 5_000 },
    );
    expect(await drift()).toEqual([]);
  });

  it("closes a row whose account vanished (no notification exists for that) at the next reconciliation", async () => {
    const [victim] = [...chainStakes(chain, pool()).keys()];
    await chain.rpc("surfnet_setAccount", [victim, { lamports: 0 }]);
    expect(chainStakes(chain, pool()).has(victim!)).toBe(false);
    const report = await t.indexer.reconcileNow();
    expect(report).toMatchObject({ extra: 1, missing: 0, differing: 0, drift: 1 });
    const row = await s.db.selectFrom("stakes").selectAll().where("address", "=", victim!).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ closed: true, staked_amount: 0n, effective_stake: 0n, discount_tier: "none" });
    expect(await drift()).toEqual([]);
    expect(t.indexer.status().reconciliationDrift).toBe(1);
    const metrics = await t.registry.getSingleMetricAsString("kamiyo_indexer_reconciliation_drift");
    expect(metrics).toContain('kamiyo_indexer_reconciliation_drift{kind="extra"} 1');
    const again = await t.indexer.reconcileNow();
    expect(again.drift).toBe(0);
  });

  it("repairs a row changed behind its back, counting it as differing", async () => {
    const [address] = [...chainStakes(chain, pool()).keys()];
    await s.db.updateTable("stakes").set({ staked_amount: 1n, effective_stake: 1n }).where("address", "=", address!).execute();
    const report = await t.indexer.reconcileNow();
    expect(report).toMatchObject({ differing: 1, drift: 1 });
    expect(await drift()).toEqual([]);
  });

  it("resyncs one wallet on demand through the write path", async () => {
    const api = createIndexerApi({ config: chain.config, db: s.db, logger: pino({ level: "silent" }) });
    const [staker] = createStakers(chain, 1, 200_000n * KAMIYO);
    // the indexer would see this too; delete the row afterwards to prove resync writes it
    await sendTx(chain, staker!.keypair, [await chain.staking.stake(staker!.wallet, staker!.tokenAccount, 150_000n * KAMIYO)]);
    const address = chain.staking.userStake(staker!.wallet).toBase58();
    await waitFor("the websocket update", async () => (await rows()).some((r) => r.address === address), { timeoutMs: 5_000 });
    await s.db.deleteFrom("stakes").where("address", "=", address).execute();
    const result = await api.resyncWallet(staker!.wallet);
    expect(result).toMatchObject({ address, effectiveStake: (150_000n * KAMIYO).toString(), tier: "silver" });
    const ev = await s.db.selectFrom("stake_events").select("source").where("address", "=", address).orderBy("id").execute();
    expect(ev.map((e) => e.source)).toEqual(["ws", "resync"]);

    const nobody = createStakers(chain, 1, 0n)[0]!.wallet;
    const none = await api.resyncWallet(nobody);
    expect(none).toMatchObject({ effectiveStake: "0", tier: "none", address: chain.staking.userStake(nobody).toBase58() });
    await expect(api.resyncWallet("not-a-wallet")).rejects.toBeInstanceOf(InvalidWalletError);
  });

  it("exposes per-source lag, last event age and leadership as metrics", async () => {
    const text = await t.registry.metrics();
    expect(text).toMatch(/kamiyo_indexer_source_lag_slots\{source="ws"\} \d+/);
    expect(text).toMatch(/kamiyo_indexer_source_lag_slots\{source="backfill"\} \d+/);
    expect(text).toMatch(/kamiyo_indexer_last_event_age_seconds \d/);
    expect(text).toContain("kamiyo_indexer_leader 1");
    expect(text).toMatch(/kamiyo_indexer_rows_applied_total\{source="ws",changed="true"\} [1-9]/);
  });
});
