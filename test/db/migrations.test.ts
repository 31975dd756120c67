import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS_DIR, MigrationError, migrateDown, migrateToLatest } from "../../src/db/migrate.ts";
import { U64_MAX } from "../../src/domain/units.ts";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";

let t: FreshSchema;
let migrationNames: string[];

beforeAll(async () => {
  t = await withFreshSchema({ migrate: false });
  migrationNames = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith(".ts")).map((f) => f.slice(0, -3)).sort();
});
afterAll(async () => {
  await t?.close();
});

const stakeRow = (over: Record<string, unknown> = {}) => ({
  address: "Stake1111111111111111111111111111111111111",
  owner: "Owner111111111111111111111111111111111111",
  pool: "Pool1111111111111111111111111111111111111",
  staked_amount: 1_000n,
  cooldown_amount: 0n,
  cooldown_end: null,
  effective_stake: 1_000n,
  discount_tier: "none",
  discount_bps: 0,
  program_tier: 0,
  slot: 10n,
  commitment: "confirmed" as const,
  closed: false,
  ...over,
});

/** The SQLSTATE and constraint of the error `promise` rejects with. */
async function pgError(promise: Promise<unknown>): Promise<{ code: string; constraint: string | undefined }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { code?: string; constraint?: string };
    return { code: e.code ?? "", constraint: e.constraint };
  }
  throw new Error("the statement was accepted");
}

describe("migrations up", () => {
  it("apply every migration in name order, then nothing", async () => {
    expect(migrationNames).toContain("2026_11_24_000_stakes");
    expect(await migrateToLatest(t.db)).toEqual(migrationNames);
    expect(await migrateToLatest(t.db)).toEqual([]);
  });

  it("migrate another fresh schema in the same database while this one is migrated", async () => {
    const other = await withFreshSchema();
    try {
      const { rows } = await other.pool.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name IN ('stakes', 'kysely_migration')",
        [other.schema],
      );
      expect(rows.map((r) => r.table_name).sort()).toEqual(["kysely_migration", "stakes"]);
    } finally {
      await other.close();
    }
  });

  it("create the tables in the fresh schema only", async () => {
    const { rows } = await t.pool.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name",
      [t.schema],
    );
    expect(rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(["indexer_state", "kysely_migration", "kysely_migration_lock", "stake_events", "stakes"]),
    );
    const viaKysely = await sql<{ s: string }>`SELECT current_schema() AS s`.execute(t.db);
    expect(viaKysely.rows[0]?.s).toBe(t.schema);
  });

  it("store u64 max in NUMERIC(20,0) and read it back as bigint", async () => {
    await t.db
      .insertInto("stakes")
      .values(stakeRow({ staked_amount: U64_MAX, cooldown_amount: U64_MAX, effective_stake: U64_MAX, cooldown_end: -5n, slot: 2n ** 62n }))
      .execute();
    const row = await t.db.selectFrom("stakes").selectAll().executeTakeFirstOrThrow();
    expect(row.staked_amount).toBe(18_446_744_073_709_551_615n);
    expect(row.cooldown_amount).toBe(U64_MAX);
    expect(row.effective_stake).toBe(U64_MAX);
    expect(row.cooldown_end).toBe(-5n);
    expect(row.slot).toBe(2n ** 62n);
    expect(row.closed).toBe(false);
    expect(row.updated_at).toBeInstanceOf(Date);
    const text = await t.pool.query<{ v: string }>("SELECT staked_amount::text AS v FROM stakes");
    expect(text.rows[0]?.v).toBe("18446744073709551615");
  });

  it.each([
    ["negative staked_amount", { staked_amount: -1n }, "stakes_staked_amount_u64"],
    ["staked_amount of 2^64", { staked_amount: 2n ** 64n }, "stakes_staked_amount_u64"],
    ["negative cooldown_amount", { cooldown_amount: -1n }, "stakes_cooldown_amount_u64"],
    ["effective_stake of 2^64", { effective_stake: 2n ** 64n }, "stakes_effective_stake_u64"],
    ["discount over 100 %", { discount_bps: 10_001 }, "stakes_discount_bps_range"],
    ["program tier 4", { program_tier: 4 }, "stakes_program_tier_range"],
    ["negative slot", { slot: -1n }, "stakes_slot_nonnegative"],
    ["unknown commitment", { commitment: "recent" }, "stakes_commitment_known"],
  ])("reject %s", async (_label, over, constraint) => {
    const values = stakeRow({ address: "Other", owner: "OtherOwner", ...over });
    expect(await pgError(t.db.insertInto("stakes").values(values as never).execute())).toEqual({ code: "23514", constraint });
  });

  it("allow one stake row per (pool, owner)", async () => {
    const again = stakeRow({ address: "Stake2222222222222222222222222222222222222" });
    expect(await pgError(t.db.insertInto("stakes").values(again).execute())).toEqual({
      code: "23505",
      constraint: "stakes_owner_pool_key",
    });
    await t.db.insertInto("stakes").values(stakeRow({ address: "Stake3", pool: "OtherPool" })).execute();
  });

  it("log stake events with bigint ids and known sources", async () => {
    const base = {
      address: "Stake1",
      owner: "Owner1",
      pool: "Pool1",
      slot: 11n,
      previous_effective_stake: null,
      effective_stake: U64_MAX,
      discount_tier: "platinum",
      closed: false,
      signature: null,
    };
    const ids = await t.db
      .insertInto("stake_events")
      .values([
        { ...base, source: "ws" },
        { ...base, source: "resync", previous_effective_stake: U64_MAX, effective_stake: 0n, closed: true, signature: "sig" },
      ])
      .returning(["id", "recorded_at", "previous_effective_stake"])
      .execute();
    expect(ids.map((r) => typeof r.id)).toEqual(["bigint", "bigint"]);
    expect(ids[1]!.id - ids[0]!.id).toBe(1n);
    expect(ids[0]!.recorded_at).toBeInstanceOf(Date);
    expect(ids[1]!.previous_effective_stake).toBe(U64_MAX);
    expect(
      await pgError(t.db.insertInto("stake_events").values({ ...base, source: "carrier-pigeon" as never }).execute()),
    ).toEqual({ code: "23514", constraint: "stake_events_source_known" });
    expect(
      await pgError(t.db.insertInto("stake_events").values({ ...base, source: "ws", effective_stake: -1n }).execute()),
    ).toEqual({ code: "23514", constraint: "stake_events_effective_stake_u64" });
  });

  it("keep indexer state as JSON", async () => {
    const cursor = { slot: "18446744073709551615", sources: ["ws", "webhook"], healthy: true };
    await t.db.insertInto("indexer_state").values({ key: "cursor", value: JSON.stringify(cursor) }).execute();
    const row = await t.db.selectFrom("indexer_state").selectAll().where("key", "=", "cursor").executeTakeFirstOrThrow();
    expect(row.value).toEqual(cursor);
    expect(row.updated_at).toBeInstanceOf(Date);
  });

  it("index stakes by slot and events by (address, slot)", async () => {
    const { rows } = await t.pool.query<{ indexname: string; indexdef: string }>(
      "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname",
      [t.schema],
    );
    const defs = Object.fromEntries(rows.map((r) => [r.indexname, r.indexdef]));
    expect(defs.stakes_slot_idx).toMatch(/\(slot\)$/);
    expect(defs.stakes_owner_pool_key).toMatch(/UNIQUE INDEX .* \(owner, pool\)$/);
    expect(defs.stake_events_address_slot_idx).toMatch(/\(address, slot\)$/);
  });
});

describe("the pool's type parsers", () => {
  it("read INT8 and NUMERIC as bigint and TIMESTAMPTZ as Date", async () => {
    const { rows } = await t.pool.query(
      "SELECT count(*) AS n, 9007199254740993::int8 AS big, 123::numeric(20,0) AS num, '2026-01-02T03:04:05Z'::timestamptz AS at",
    );
    expect(rows[0]).toEqual({ n: 1n, big: 9_007_199_254_740_993n, num: 123n, at: new Date("2026-01-02T03:04:05Z") });
  });

  it("read a TIMESTAMPTZ whose offset has seconds (local mean time)", async () => {
    const client = await t.pool.connect();
    try {
      await client.query("SET TIME ZONE 'America/New_York'");
      const { rows } = await client.query("SELECT '1800-01-01 00:00:00+00'::timestamptz AS at, '1800-01-01 00:00:00+00'::timestamptz::text AS text");
      expect(rows[0].text).toBe("1799-12-31 19:03:58-04:56:02");
      expect(rows[0].at).toEqual(new Date("1800-01-01T00:00:00Z"));
    } finally {
      client.release(true);
    }
  });

  it("leave pg's global parsers alone", () => {
    expect(pg.types.getTypeParser(20, "text")("5")).toBe("5");
    expect(pg.types.getTypeParser(1700, "text")("1.5")).toBe("1.5");
  });

  it("refuse a NUMERIC with a fraction instead of rounding it", async () => {
    await expect(t.pool.query("SELECT 1.5::numeric AS x")).rejects.toThrow("NUMERIC value 1.5 is not an integer");
  });
});

describe("a failing migration", () => {
  it("is named in the error, and the run applies nothing (one transaction)", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "kamiyo-migrations-"));
    try {
      await writeFile(path.join(dir, "0001_good.js"), "export async function up(db) { await db.schema.createTable('probe_good').addColumn('id', 'integer').execute(); }\n");
      await writeFile(path.join(dir, "0002_bad.js"), "export async function up(db) { await db.schema.dropTable('no_such_table').execute(); }\n");
      await writeFile(path.join(dir, "0003_after.js"), "export async function up(db) { await db.schema.createTable('probe_after').addColumn('id', 'integer').execute(); }\n");
      const scratch = await withFreshSchema({ migrate: false });
      try {
        const err = await migrateToLatest(scratch.db, dir).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(MigrationError);
        expect((err as MigrationError).migration).toBe("0002_bad");
        expect((err as MigrationError).message).toBe('migration 0002_bad (up) failed: table "no_such_table" does not exist');
        const { rows } = await scratch.pool.query("SELECT to_regclass('probe_good') AS good, to_regclass('probe_after') AS after");
        expect(rows[0]).toEqual({ good: null, after: null });
        const applied = await scratch.pool.query("SELECT name FROM kysely_migration");
        expect(applied.rows).toEqual([]);
      } finally {
        await scratch.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("migrations down", () => {
  it("revert one migration at a time, newest first, until none is left", async () => {
    const reverted: string[] = [];
    for (;;) {
      const step = await migrateDown(t.db);
      if (step.length === 0) break;
      reverted.push(...step);
    }
    expect(reverted).toEqual([...migrationNames].reverse());
    const { rows } = await t.pool.query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name IN ('stakes', 'stake_events', 'indexer_state')",
      [t.schema],
    );
    expect(rows).toEqual([]);
  });

  it("and up again from scratch", async () => {
    expect(await migrateToLatest(t.db)).toEqual(migrationNames);
  });
});
