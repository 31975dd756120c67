/**
 * The tier cache against real Postgres: loaded from `stakes`, kept fresh by the indexer's NOTIFY, untrusted
 * (null) while its connection is down and until it has re-read the table after reconnecting.
 */
import pg from "pg";
import { sql } from "kysely";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { STAKE_CHANGES_CHANNEL } from "../../indexer/contracts.ts";
import { createTierCache, parseNotice, type TierCache } from "../../api/paywall/tier-cache.ts";
import { STAKING_PROGRAM_PLACEHOLDER_ID } from "../../src/config.ts";
import { DEFAULT_TIERS, NO_TIER } from "../../src/domain/tiers.ts";
import { createLogger } from "../../src/log.ts";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { createStakeSeeder, type StakeSeeder } from "../kit/stakes.ts";
import { startTcpProxy, type TcpProxy } from "../kit/tcp-proxy.ts";

const KAMIYO = 10n ** 9n;
const POOL = "EUnoDRPJYEVXXou9ZioKn7hKvzZmiAQPuatyy2tAjoHb";
const OTHER_POOL = "5KjsrpAy6PZcFdRZY8QZC6B8qVchxeXNgQBeyjqxtEsw";
const ALICE = "GoQUNNrkeF9qYWWACxmYA3KYa4kJTSFsc9HY2jzQP2jn";
const BOB = "BPWziJCc3AJFMtz1LqgpgSVAyTDnz7MvgLBfozSSZyEn";
const CAROL = "8tio9HN8ZsQaPrBakvQXcyqHhkwMdWJiBxEiBqBeRLDf";

let t: FreshSchema;
let proxy: TcpProxy;
let seeder: StakeSeeder;
const caches: TierCache[] = [];

beforeAll(async () => {
  t = await withFreshSchema();
  proxy = await startTcpProxy(t.url);
  seeder = createStakeSeeder({ db: t.db, programId: STAKING_PROGRAM_PLACEHOLDER_ID, tiers: DEFAULT_TIERS });
});
afterEach(async () => {
  for (const c of caches.splice(0)) await c.close();
  await sql`DELETE FROM stakes`.execute(t.db);
});
afterAll(async () => {
  await proxy?.close();
  await t?.close();
});

function cache(url = t.url, appName = "tier-cache-test") {
  const c = createTierCache({
    pool: POOL,
    tiers: DEFAULT_TIERS,
    logger: createLogger({ level: "silent" }),
    reconnectMinMs: 50,
    reconnectMaxMs: 200,
    connect: () => new pg.Client({ connectionString: url, application_name: appName, options: `-c search_path=${t.schema}` }),
  });
  caches.push(c);
  return c;
}

/** `owner` stakes `effective` at `slot`, written (row and notice) by the indexer's write path. */
async function putStake(owner: string, effective: bigint, slot: bigint, options: { pool?: string; closed?: boolean } = {}) {
  await seeder.put({ owner, pool: options.pool ?? POOL, staked: effective, slot, closed: options.closed ?? false });
}

/**
 * A stake change whose notice never reached the cache. The write path commits every change together with its
 * notice, so a lost notice can only be made by hand: the row is seeded through the write path (at zero), then
 * changed directly.
 */
async function changeWithoutNotice(owner: string, effective: bigint, slot: bigint) {
  const [address] = (await seeder.put({ owner, pool: POOL, staked: 0n, slot: slot - 1n })).addresses;
  await t.db.updateTable("stakes").set({ staked_amount: effective, effective_stake: effective, slot }).where("address", "=", address!).execute();
}

const tierName = (c: TierCache, owner: string) => c.lookup(owner)?.name ?? null;

describe("tier cache", () => {
  it("is untrusted until loaded, then answers from the pool's rows (closed accounts earn nothing)", async () => {
    // Written before any cache listens: only the load can see them.
    await putStake(ALICE, 150_000n * KAMIYO, 5n);
    await putStake(BOB, 2_000_000n * KAMIYO, 5n, { closed: true });
    await putStake(CAROL, 2_000_000n * KAMIYO, 5n, { pool: OTHER_POOL });
    const c = cache();
    expect(c.lookup(ALICE)).toBeNull();
    await c.whenHealthy(5_000);
    expect(c.lookup(ALICE)).toEqual({ name: "silver", discountBps: 1000, priority: "priority" });
    expect(c.lookup(BOB)).toEqual(NO_TIER);
    expect(c.lookup(CAROL)).toEqual(NO_TIER);
    expect(c.status()).toMatchObject({ healthy: true, entries: 2, loads: 1 });
  });

  it("follows NOTIFYs for its pool, ignores other pools and older slots", async () => {
    const c = cache();
    await c.whenHealthy(5_000);
    expect(tierName(c, ALICE)).toBe("none");
    await putStake(ALICE, 600_000n * KAMIYO, 10n);
    await expect.poll(() => tierName(c, ALICE), { timeout: 3_000 }).toBe("gold");
    await putStake(CAROL, 2_000_000n * KAMIYO, 10n, { pool: OTHER_POOL });
    await putStake(ALICE, 1_000_000n * KAMIYO, 11n);
    await expect.poll(() => tierName(c, ALICE), { timeout: 3_000 }).toBe("platinum");
    expect(tierName(c, CAROL)).toBe("none");
    // A late notice for slot 9 cannot undo slot 11. The write path never sends one (its slot guard refuses the
    // write), so the notice is made by hand: this is the cache's own guard.
    await sql`SELECT pg_notify(${STAKE_CHANGES_CHANNEL}, ${JSON.stringify({ owner: ALICE, pool: POOL, address: "a", tier: "none", discountBps: 0, effectiveStake: "0", slot: "9" })})`.execute(t.db);
    await putStake(BOB, 100_000n * KAMIYO, 12n);
    await expect.poll(() => tierName(c, BOB), { timeout: 3_000 }).toBe("silver");
    expect(tierName(c, ALICE)).toBe("platinum");
  });

  it("re-reads the table after a malformed notice", async () => {
    const c = cache();
    await c.whenHealthy(5_000);
    await changeWithoutNotice(ALICE, 600_000n * KAMIYO, 20n);
    expect(tierName(c, ALICE)).toBe("none");
    // Malformed on purpose: no writer sends this, the cache must survive it.
    await sql`SELECT pg_notify(${STAKE_CHANGES_CHANNEL}, 'not json')`.execute(t.db);
    await expect.poll(() => tierName(c, ALICE), { timeout: 3_000 }).toBe("gold");
    expect(c.status().loads).toBe(2);
  });

  it("is untrusted while its connection is cut, then reloads changes made meanwhile", async () => {
    const c = cache(proxy.url);
    await c.whenHealthy(5_000);
    await putStake(ALICE, 150_000n * KAMIYO, 30n);
    await expect.poll(() => tierName(c, ALICE), { timeout: 3_000 }).toBe("silver");

    await proxy.stop();
    await expect.poll(() => c.healthy, { timeout: 3_000 }).toBe(false);
    expect(c.lookup(ALICE)).toBeNull();
    // Missed while disconnected: no notice reaches the cache (a negative, so a bounded wait).
    await putStake(ALICE, 1_000_000n * KAMIYO, 31n);
    await new Promise((r) => setTimeout(r, 300));
    expect(c.lookup(ALICE)).toBeNull();

    await proxy.start();
    await c.whenHealthy(5_000);
    expect(tierName(c, ALICE)).toBe("platinum");
    expect(c.status().connectionLosses).toBeGreaterThanOrEqual(1);
  });

  it("is untrusted after the server ends its connection (pg_terminate_backend) until reloaded", async () => {
    const c = cache(t.url, "tier-cache-terminate");
    await c.whenHealthy(5_000);
    await sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tier-cache-terminate'`.execute(t.db);
    await expect.poll(() => c.status().connectionLosses, { timeout: 3_000 }).toBe(1);
    await c.whenHealthy(5_000);
    expect(c.status().loads).toBe(2);
  });

  it("parses only well-formed notices", () => {
    expect(parseNotice(JSON.stringify({ owner: ALICE, pool: POOL, effectiveStake: "5", slot: "1" }))).not.toBeNull();
    expect(parseNotice(JSON.stringify({ owner: ALICE, pool: POOL, effectiveStake: 5, slot: "1" }))).toBeNull();
    expect(parseNotice(JSON.stringify({ owner: ALICE, pool: POOL, effectiveStake: "-5", slot: "1" }))).toBeNull();
    expect(parseNotice("[]")).toBeNull();
    expect(parseNotice(undefined)).toBeNull();
  });
});
