/**
 * One owner for the tier: the table in effect lives in Postgres (discount_tier_table). The indexer leader
 * publishes its DISCOUNT_TIERS when its term starts; an API that starts before any leader adopts its own only
 * if none is there. Two processes started with different tier tables therefore answer one tier for a wallet,
 * on stake info, the discount-tier table, the paywall's tier cache and the stored row, and all follow a table
 * the leader publishes later.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTierCache, type TierCache } from "../../api/paywall/tier-cache.ts";
import { createTierTableRepository } from "../../src/db/repositories/tier-table.ts";
import { DEFAULT_TIERS, type DiscountTier } from "../../src/domain/tiers.ts";
import { createLogger } from "../../src/log.ts";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { waitFor } from "../kit/wait-for.ts";
import { configuredPool, insertStake, KAMIYO, randomAddress } from "./fixtures.ts";
import { json, startTestApi, type TestApi } from "./harness.ts";

/** Another operator's table: 600k KAMIYO is silver here, gold in DEFAULT_TIERS. */
const OTHER_TIERS: DiscountTier[] = [
  { name: "silver", minStake: 200_000n * KAMIYO, discountBps: 500, priority: "priority" },
  { name: "gold", minStake: 1_000_000n * KAMIYO, discountBps: 1500, priority: "priority" },
  { name: "platinum", minStake: 5_000_000n * KAMIYO, discountBps: 2500, priority: "premium" },
];
const tiersEnv = (tiers: readonly DiscountTier[]) => ({
  DISCOUNT_TIERS: JSON.stringify(tiers.map((t) => ({ ...t, minStake: t.minStake.toString() }))),
});

let schema: FreshSchema;
let a: TestApi;
let b: TestApi;
let pool: string;
const caches: TierCache[] = [];
let owner: string;

function cacheWith(tiers: readonly DiscountTier[]): TierCache {
  const c = createTierCache({
    pool,
    tiers,
    logger: createLogger({ level: "silent" }),
    connect: () => new pg.Client({ connectionString: schema.url, options: `-c search_path=${schema.schema}` }),
  });
  caches.push(c);
  return c;
}

const tierOn = async (api: TestApi) => (await json(await fetch(`${api.url}/x402/staking/info/${owner}`))).tier as string;
const tableOn = async (api: TestApi) =>
  ((await json(await fetch(`${api.url}/x402/discount-tiers`))).tiers as Array<{ name: string; discountBps: number }>).map(
    (t) => `${t.name}:${t.discountBps}`,
  );

beforeAll(async () => {
  schema = await withFreshSchema();
  a = await startTestApi({ schema, env: tiersEnv(DEFAULT_TIERS) });
  b = await startTestApi({ schema, env: tiersEnv(OTHER_TIERS) });
  pool = configuredPool(a.config);
  owner = randomAddress();
  await insertStake(schema.db, { owner, pool, staked: 600_000n * KAMIYO, slot: 10n });
});
afterAll(async () => {
  for (const c of caches) await c.close();
  await a?.close();
  await b?.close();
  await schema?.close();
});

describe("the tier table in effect", () => {
  it("is the first one adopted: a process with another table follows it", async () => {
    const repo = createTierTableRepository(schema.db);
    expect(await repo.read()).toBeNull();
    // Process A starts first (the composition adopts its table), then process B with another table.
    expect(await repo.adopt(a.config.tiers, "api")).toEqual(DEFAULT_TIERS);
    expect(await repo.adopt(b.config.tiers, "api")).toEqual(DEFAULT_TIERS);

    expect(await tierOn(a)).toBe("gold");
    expect(await tierOn(b)).toBe("gold");
    expect(await tableOn(b)).toEqual(await tableOn(a));

    const [ca, cb] = [cacheWith(a.config.tiers), cacheWith(b.config.tiers)];
    await Promise.all([ca.whenHealthy(10_000), cb.whenHealthy(10_000)]);
    expect(ca.lookup(owner)).toMatchObject({ name: "gold", discountBps: 2000 });
    expect(cb.lookup(owner)).toEqual(ca.lookup(owner));
  });

  it("is replaced by the indexer leader's: stored rows are re-tiered and every reader follows", async () => {
    const repo = createTierTableRepository(schema.db);
    const ca = cacheWith(a.config.tiers);
    await ca.whenHealthy(10_000);
    expect(ca.lookup(owner)?.name).toBe("gold");

    // What the leader does when its term starts (indexer/term.ts startTerm).
    expect(await repo.publish(OTHER_TIERS, "indexer")).toBe(true);
    expect(await repo.publish(OTHER_TIERS, "indexer")).toBe(false);

    await waitFor("the tier cache to follow the published table", () => ca.lookup(owner)?.name === "silver");
    expect(ca.lookup(owner)).toMatchObject({ name: "silver", discountBps: 500 });
    expect(ca.tiers()).toEqual(OTHER_TIERS);
    expect(await tierOn(a)).toBe("silver");
    expect(await tierOn(b)).toBe("silver");
    expect(await tableOn(a)).toEqual(["silver:500", "gold:1500", "platinum:2500"]);
    const row = await schema.db.selectFrom("stakes").select(["discount_tier", "discount_bps"]).where("owner", "=", owner).executeTakeFirstOrThrow();
    expect(row).toEqual({ discount_tier: "silver", discount_bps: 500 });
  });
});
