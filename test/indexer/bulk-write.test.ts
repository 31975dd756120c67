/**
 * The batched write (COPY into staging + one set-based upsert per batch) against Postgres: the slot guard
 * (a newer row is never overwritten by an older read), events for changes but not for new rows of an initial
 * fill, one notification per batch, and the tier cache expanding that notification into the batch's rows.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { sql } from "kysely";
import { pino } from "pino";
import { createTierCache } from "../../api/paywall/tier-cache.ts";
import { createBulkWritePath } from "../../indexer/bulk-write.ts";
import { STAKE_CHANGES_CHANNEL } from "../../src/db/repositories/stakes.ts";
import { DEFAULT_TIERS } from "../../src/domain/tiers.ts";
import { createLogger } from "../../src/log.ts";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { waitFor } from "../kit/wait-for.ts";
import { KAMIYO, randomAddress, read, testTarget, userStakeAccount } from "./helpers/accounts.ts";

let s: FreshSchema;
let listener: pg.Client;
const notices: string[] = [];
const target = testTarget();

beforeAll(async () => {
  s = await withFreshSchema();
  listener = new pg.Client({ connectionString: s.url, options: `-c search_path=${s.schema}` });
  await listener.connect();
  listener.on("notification", (n) => {
    if (n.channel === STAKE_CHANGES_CHANNEL && n.payload) notices.push(n.payload);
  });
  await listener.query(`LISTEN ${STAKE_CHANGES_CHANNEL}`);
});
afterAll(async () => {
  await listener?.end();
  await s?.close();
});

const bulk = () => createBulkWritePath({ pool: s.pool, target, logger: pino({ level: "silent" }) });
const row = (address: string) =>
  s.db.selectFrom("stakes").select(["owner", "slot", "effective_stake", "closed"]).where("address", "=", address).executeTakeFirstOrThrow();
const events = (address: string) => s.db.selectFrom("stake_events").select(["source", "slot"]).where("address", "=", address).execute();

describe("batched stake writes", () => {
  it("fills an empty table without per-row events, one notice per batch that the tier cache expands", async () => {
    const cache = createTierCache({
      pool: target.pool,
      tiers: DEFAULT_TIERS,
      logger: createLogger({ level: "silent" }),
      reloadIntervalMs: 0,
      connect: () => new pg.Client({ connectionString: s.url, options: `-c search_path=${s.schema}` }),
    });
    try {
      await cache.whenHealthy(5_000);
      const loads = cache.status().loads;
      const owners = Array.from({ length: 300 }, () => randomAddress());
      const reads = await Promise.all(
        owners.map(async (owner, i) => read(randomAddress(), 100n, await userStakeAccount(target.programId, { owner, pool: target.pool, staked: (i % 2 === 0 ? 600_000n : 50n) * KAMIYO }))),
      );
      const before = notices.length;
      const result = await bulk().apply(reads, "backfill", { initialFill: true });
      expect(result).toMatchObject({ applied: 300, refused: 0, sameSlotConflicts: [] });
      expect(await events(reads[0]!.address)).toEqual([]);
      // NOTIFY channels are database-wide: other schemas' writers share this one, so notices are picked by batch.
      const batch = (await s.db.selectFrom("stakes").select(sql<string>`write_batch::text`.as("b")).where("address", "=", reads[0]!.address).executeTakeFirstOrThrow()).b;
      const ours = () => notices.slice(before).map((n) => JSON.parse(n) as Record<string, unknown>).filter((n) => n.batch === batch);
      await waitFor("the batch notice", () => ours().length > 0);
      expect(ours()).toEqual([{ batch, pool: target.pool, rows: 300, slot: "100" }]);
      // The rows carry no per-row notice of their own.
      expect(notices.slice(before).filter((n) => owners.some((o) => n.includes(o)))).toEqual([]);
      // Expanded into its rows (no reload): every owner's tier is known.
      await waitFor("the batch expanded", () => owners.every((o) => cache.has(o)), { timeoutMs: 5_000 });
      expect(cache.lookup(owners[0]!)?.discountBps).toBeGreaterThan(0);
      expect(cache.lookup(owners[1]!)?.discountBps).toBe(0);
      expect(cache.status().loads).toBe(loads);
    } finally {
      await cache.close();
    }
  });

  it("keeps the slot guard: an older read never overwrites a newer row; a newer change records an event", async () => {
    const owner = randomAddress();
    const address = randomAddress();
    const at = async (slot: bigint, staked: bigint) => read(address, slot, await userStakeAccount(target.programId, { owner, pool: target.pool, staked: staked * KAMIYO }));
    await bulk().apply([await at(200n, 100n)], "backfill", { initialFill: false });
    expect((await events(address)).map((e) => e.source)).toEqual(["backfill"]);
    const older = await bulk().apply([await at(150n, 999n)], "resync", { initialFill: false });
    expect(older.applied).toBe(0);
    expect((await row(address)).effective_stake).toBe(100n * KAMIYO);
    const newer = await bulk().apply([await at(250n, 700n)], "resync", { initialFill: true });
    expect(newer).toMatchObject({ applied: 1, changed: 1 });
    expect(await row(address)).toMatchObject({ slot: 250n, effective_stake: 700n * KAMIYO, closed: false });
    // Not a new row: even on an initial fill its change is an event.
    expect((await events(address)).map((e) => [e.source, e.slot])).toEqual([["backfill", 200n], ["resync", 250n]]);
    // A gone account closes the existing row; a same-slot disagreement is reported for a re-read.
    const gone = await bulk().apply([read(address, 260n, null)], "resync", { initialFill: false });
    expect(gone.applied).toBe(1);
    expect((await row(address)).closed).toBe(true);
    const conflict = await bulk().apply([await at(260n, 5n)], "resync", { initialFill: false });
    expect(conflict.sameSlotConflicts).toEqual([{ address, slot: 260n }]);
  });

  it("writes an address read twice in one batch at its newest slot, whatever the order of the reads", async () => {
    const owner = randomAddress();
    const address = randomAddress();
    const other = randomAddress();
    const at = async (slot: bigint, staked: bigint) => read(address, slot, await userStakeAccount(target.programId, { owner, pool: target.pool, staked: staked * KAMIYO }));
    const otherRead = read(other, 300n, await userStakeAccount(target.programId, { owner: randomAddress(), pool: target.pool, staked: KAMIYO }));
    const result = await bulk().apply([await at(300n, 1n), otherRead, await at(310n, 2n), await at(305n, 3n)], "resync", { initialFill: false });
    expect(result).toMatchObject({ applied: 3, sameSlotConflicts: [], undecodable: [] });
    expect(await row(address)).toMatchObject({ slot: 310n, effective_stake: 2n * KAMIYO });
    expect((await events(address)).map((e) => e.slot)).toEqual([300n, 310n]);
    expect((await row(other)).slot).toBe(300n);

    const reversed = await bulk().apply([await at(330n, 4n), await at(320n, 5n)], "resync", { initialFill: false });
    expect(reversed).toMatchObject({ applied: 1, refused: 0 });
    expect(await row(address)).toMatchObject({ slot: 330n, effective_stake: 4n * KAMIYO });
  });

  it("on an initial fill, a row the live source wrote meanwhile keeps its newer state and the new rows still go in", async () => {
    const owner = randomAddress();
    const address = randomAddress();
    const at = async (slot: bigint, staked: bigint) => read(address, slot, await userStakeAccount(target.programId, { owner, pool: target.pool, staked: staked * KAMIYO }));
    // The live source's row, newer than the snapshot.
    await bulk().apply([await at(500n, 9n)], "ws", { initialFill: false });
    const fresh = await Promise.all(
      Array.from({ length: 50 }, async () => read(randomAddress(), 400n, await userStakeAccount(target.programId, { owner: randomAddress(), pool: target.pool, staked: KAMIYO }))),
    );
    const result = await bulk().apply([...fresh, await at(400n, 1n)], "backfill", { initialFill: true });
    expect(result).toMatchObject({ applied: 50, changed: 50, refused: 1, sameSlotConflicts: [] });
    expect(await row(address)).toMatchObject({ slot: 500n, effective_stake: 9n * KAMIYO });
    for (const r of fresh.slice(0, 5)) {
      expect((await row(r.address)).slot).toBe(400n);
      expect(await events(r.address)).toEqual([]);
    }
    // Rows written one by one later carry no batch id: the default is empty outside a batch's transaction.
    const later = randomAddress();
    await s.pool.query("INSERT INTO stakes (address, owner, pool, staked_amount, cooldown_amount, effective_stake, discount_tier, discount_bps, program_tier, slot, commitment) VALUES ($1, $2, $3, 0, 0, 0, 'none', 0, 0, 1, 'confirmed')", [later, randomAddress(), target.pool]);
    expect((await s.pool.query("SELECT write_batch FROM stakes WHERE address = $1", [later])).rows[0]).toEqual({ write_batch: null });
  });
});
