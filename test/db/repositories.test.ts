/**
 * The repositories' shared rules against real Postgres: the settled-payment predicate (a reservation is
 * never revenue), revenue per tier, the slot guard of the stake write statement, the one stake-state
 * comparison (write path and reconciliation) and "closed means zero" in every stake reader.
 */
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createLedgerRepository } from "../../src/db/repositories/ledger.ts";
import { createRunsRepository } from "../../src/db/repositories/runs.ts";
import { openReconcileSession } from "../../src/db/repositories/stakes-reconcile.ts";
import {
  createStakeChangeListener,
  createStakesRepository,
  type GoneStake,
  type LiveStake,
} from "../../src/db/repositories/stakes.ts";
import { createUsageRepository, type UsageRecord } from "../../src/db/repositories/usage.ts";
import { CLOSED_HOLDINGS, DEFAULT_TIERS, tierFor } from "../../src/domain/tiers.ts";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";

const KAMIYO = 10n ** 9n;
const POOL = "Pool1111111111111111111111111111111111111";

let s: FreshSchema;

beforeAll(async () => {
  s = await withFreshSchema();
});
afterAll(async () => {
  await s?.close();
});

describe("usage repository", () => {
  // Reservations are created at the database's now(): the window is around it, so a reservation is inside.
  const now = Date.now();
  const window = { start: new Date(now - 3_600_000), end: new Date(now + 3_600_000) };
  const at = new Date(now);
  let n = 0;
  const record = (over: Partial<UsageRecord> = {}): UsageRecord => ({
    paymentKey: `key-${++n}`,
    payer: `payer-${n}`,
    endpoint: "/api/premium",
    method: "GET",
    statusCode: 200,
    amountCharged: 900n,
    originalAmount: 1000n,
    discountTier: "silver",
    discountBps: 1000,
    savings: 100n,
    network: "solana:localnet",
    asset: "USDC",
    payTo: "PayTo",
    ...over,
  });
  const settle = (r: UsageRecord) => ({ ...r, settlementSignature: `sig-${r.paymentKey}`, responseTimeMs: 5, settledAt: at });

  beforeEach(async () => {
    await s.db.deleteFrom("x402_usage").execute();
    await s.db.deleteFrom("pipeline_runs").execute();
  });

  it("does not count a reservation as revenue anywhere", async () => {
    const usage = createUsageRepository(s.db);
    const r = record();
    expect(await usage.reserve(r)).toBe(true);
    expect(await usage.isSettled(r.paymentKey)).toBe(false);
    expect(await usage.settledRevenue(window)).toEqual({ revenue: 0n, requests: 0n });
    expect(await usage.totals(window)).toMatchObject({ revenue: 0n, requests: 0n, uniquePayers: 0n });
    expect(await usage.revenueByTier(window)).toEqual([]);
    expect(await createRunsRepository(s.db).firstActivityDay()).toBeNull();

    await usage.complete(settle(r));
    expect(await usage.isSettled(r.paymentKey)).toBe(true);
    expect(await usage.settledRevenue(window)).toEqual({ revenue: 900n, requests: 1n });
    const [created] = await s.db.selectFrom("x402_usage").select("created_at").execute();
    expect(await createRunsRepository(s.db).firstActivityDay()).toBe(created!.created_at.toISOString().slice(0, 10));
  });

  it("sums revenue per tier from settled rows only, and totals the same rows", async () => {
    const usage = createUsageRepository(s.db);
    const silver = [record({ payer: "alice" }), record({ payer: "bob" }), record({ payer: "alice" })];
    const gold = record({ payer: "carol", discountTier: "gold", discountBps: 2000, amountCharged: 800n, savings: 200n });
    const full = record({ payer: "dave", discountTier: null, discountBps: 0, amountCharged: 1000n, savings: 0n });
    for (const r of [...silver, gold, full]) await usage.complete(settle(r));
    // Reservations in both tiers (inside the window), and a settled payment at its end: none of them counts.
    await usage.reserve(record({ payer: "erin" }));
    await usage.reserve(record({ payer: "carol", discountTier: "gold", discountBps: 2000 }));
    await usage.complete({ ...settle(record({ payer: "frank" })), settledAt: window.end });

    expect(await usage.revenueByTier(window)).toEqual([
      { tier: "gold", requests: 1n, revenue: 800n, discounts: 200n, payers: 1n },
      { tier: "silver", requests: 3n, revenue: 2700n, discounts: 300n, payers: 2n },
    ]);
    expect(await usage.totals(window)).toEqual({
      revenue: 4500n,
      gross: 5000n,
      discounts: 500n,
      requests: 5n,
      discountedRequests: 4n,
      uniqueStakers: 3n,
      uniquePayers: 4n,
    });
    expect(await usage.settledRevenue(window)).toEqual({ revenue: 4500n, requests: 5n });
  });

  it("completes a reservation once, never changes a settled row, and releases only reservations", async () => {
    const usage = createUsageRepository(s.db);
    const r = record();
    await usage.reserve(r);
    expect(await usage.reserve(r)).toBe(false);
    await usage.complete(settle(r));
    await usage.complete({ ...settle(r), settlementSignature: "another", payer: "someone-else" });
    await usage.release(r.paymentKey);
    const rows = await s.db.selectFrom("x402_usage").select(["settlement_signature", "payer"]).execute();
    expect(rows).toEqual([{ settlement_signature: `sig-${r.paymentKey}`, payer: r.payer }]);

    const failed = record();
    await usage.reserve(failed);
    await usage.release(failed.paymentKey);
    expect(await usage.isSettled(failed.paymentKey)).toBe(false);
    expect(await usage.reserve(failed)).toBe(true);
  });

  it("the dashboard's ledger figures start at zero", async () => {
    const ledger = createLedgerRepository(s.db);
    expect(await ledger.ledgerTotals()).toEqual({ spent: 0n, bought: 0n, funded: 0n, buybacks: 0n, fundings: 0n });
    expect(await ledger.allocatedSince(window.start)).toBe(0n);
    expect(await ledger.runsByStatus()).toEqual([]);
    expect(await ledger.latestBuyback()).toBeUndefined();
  });
});

describe("stakes repository", () => {
  let n = 0;
  const live = (over: Partial<LiveStake> = {}): LiveStake => {
    const staked = over.stakedAmount ?? 200_000n * KAMIYO;
    const effective = over.effectiveStake ?? staked;
    return {
      kind: "live",
      address: `Stake${++n}`,
      owner: `Owner${n}`,
      pool: POOL,
      stakedAmount: staked,
      cooldownAmount: 0n,
      cooldownEnd: null,
      effectiveStake: effective,
      tier: tierFor(effective, DEFAULT_TIERS),
      programTier: 1,
      slot: 100n,
      commitment: "confirmed",
      signature: null,
      ...over,
    };
  };
  const gone = (address: string, slot: bigint): GoneStake => ({
    kind: "gone",
    address,
    slot,
    commitment: "confirmed",
    signature: null,
    tier: tierFor(CLOSED_HOLDINGS.effectiveStake, DEFAULT_TIERS),
  });
  const row = (address: string) => s.db.selectFrom("stakes").selectAll().where("address", "=", address).executeTakeFirstOrThrow();
  beforeEach(async () => {
    await s.db.deleteFrom("stakes").execute();
    await s.db.deleteFrom("stake_events").execute();
  });
  const events = (address: string) => s.db.selectFrom("stake_events").select(["slot", "closed"]).where("address", "=", address).orderBy("id").execute();

  it("refuses an older slot, and an equal slot unless the state differs (a conflict, not a write)", async () => {
    const stakes = createStakesRepository(s.db);
    const a = live({ slot: 100n });
    expect(await stakes.writeBatch([a], "ws")).toEqual({ applied: 1, changed: 1, newestSlot: 100n, sameSlotConflicts: [] });

    const older = { ...a, slot: 99n, stakedAmount: 1n, effectiveStake: 1n, tier: tierFor(1n, DEFAULT_TIERS) };
    expect(await stakes.writeBatch([older], "webhook")).toMatchObject({ applied: 0, changed: 0, sameSlotConflicts: [] });
    expect(await stakes.writeBatch([a], "backfill")).toMatchObject({ applied: 0, sameSlotConflicts: [] });
    const sameSlotOther = { ...older, slot: 100n };
    expect(await stakes.writeBatch([sameSlotOther], "webhook")).toMatchObject({
      applied: 0,
      sameSlotConflicts: [{ address: a.address, slot: 100n }],
    });
    expect(await row(a.address)).toMatchObject({ slot: 100n, staked_amount: a.stakedAmount });

    // A newer read of the same state advances the slot without an event.
    expect(await stakes.writeBatch([{ ...a, slot: 105n }], "ws")).toMatchObject({ applied: 1, changed: 0 });
    expect(await events(a.address)).toEqual([{ slot: 100n, closed: false }]);
  });

  it("closes a gone account with CLOSED_HOLDINGS, keeping its owner, and only at a newer slot", async () => {
    const stakes = createStakesRepository(s.db);
    const a = live({ cooldownAmount: 5n, cooldownEnd: 1_900_000_000n, slot: 100n });
    await stakes.writeBatch([a], "ws");
    expect(await stakes.writeBatch([gone(a.address, 100n)], "reconcile")).toMatchObject({
      applied: 0,
      sameSlotConflicts: [{ address: a.address, slot: 100n }],
    });
    expect(await stakes.writeBatch([gone(a.address, 101n)], "reconcile")).toMatchObject({ applied: 1, changed: 1 });
    expect(await row(a.address)).toMatchObject({
      owner: a.owner,
      closed: true,
      staked_amount: 0n,
      cooldown_amount: 0n,
      cooldown_end: null,
      effective_stake: 0n,
      program_tier: 0,
      discount_tier: "none",
      slot: 101n,
    });
    // Gone again at a later slot: nothing changed, no event; gone without a row: refused.
    expect(await stakes.writeBatch([gone(a.address, 102n)], "reconcile")).toMatchObject({ applied: 1, changed: 0, sameSlotConflicts: [] });
    expect(await stakes.writeBatch([gone("NoSuchStake", 5n)], "reconcile")).toMatchObject({ applied: 0, sameSlotConflicts: [] });
    expect(await events(a.address)).toEqual([
      { slot: 100n, closed: false },
      { slot: 101n, closed: true },
    ]);
  });

  it("every reader holds a closed account at zero, whatever amounts its row still carries", async () => {
    const stakes = createStakesRepository(s.db);
    const a = live();
    // A row the write path would never leave: closed, yet with amounts. Readers must not trust them.
    await s.db
      .insertInto("stakes")
      .values({
        address: a.address,
        owner: a.owner,
        pool: POOL,
        staked_amount: 2_000_000n * KAMIYO,
        cooldown_amount: 3n,
        cooldown_end: 1_900_000_000n,
        effective_stake: 2_000_000n * KAMIYO,
        discount_tier: "platinum",
        discount_bps: 3000,
        program_tier: 3,
        slot: 7n,
        commitment: "confirmed",
        closed: true,
      })
      .execute();
    expect(await stakes.findByOwner(a.owner, POOL)).toMatchObject({ address: a.address, closed: true, slot: 7n, ...CLOSED_HOLDINGS });
    const client = new pg.Client({ ...(s.pool.options as pg.ClientConfig) });
    await client.connect();
    try {
      const held = await createStakeChangeListener(client).poolStakes(POOL);
      expect(held.find((h) => h.owner === a.owner)).toEqual({ owner: a.owner, slot: 7n, effectiveStake: 0n });
    } finally {
      await client.end();
    }
  });

  it("reconciliation compares with the write path's comparison and leaves newer rows alone", async () => {
    const stakes = createStakesRepository(s.db);
    const same = live({ slot: 100n });
    const changed = live({ slot: 100n });
    const newer = live({ slot: 300n });
    const unseen = live({ slot: 100n });
    const unseenNewer = live({ slot: 300n });
    await stakes.writeBatch([same, changed, newer, unseen, unseenNewer], "backfill");
    const missing = live({ slot: 200n });
    const chain = [
      { ...same, slot: 200n },
      { ...changed, slot: 200n, cooldownAmount: 1n, cooldownEnd: 1_900_000_000n },
      { ...newer, slot: 200n, stakedAmount: 1n, effectiveStake: 1n, tier: tierFor(1n, DEFAULT_TIERS) },
      missing,
    ];
    const session = await openReconcileSession(s.pool);
    try {
      const drift = await session.compareBatch(chain.map((c) => c.address), chain, 200n);
      expect(drift).toEqual({ missing: new Set([missing.address]), differing: new Set([changed.address]) });
      // The write path agrees: the same reads change exactly the differing and the missing row.
      expect(await stakes.writeBatch(chain, "reconcile")).toMatchObject({ applied: 3, changed: 2 });
      expect(await session.unseenPage(POOL, 200n, "", 10)).toEqual([unseen.address]);
    } finally {
      await session.close();
    }
  });
});
