/** The public read routes against real Postgres: staking info, discount tiers, health, 404 and error mapping. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PRIORITY_BENEFITS } from "../../src/domain/tiers.ts";
import { configuredPool, insertStake, KAMIYO, randomAddress, snapshot, writeStatus } from "./fixtures.ts";
import { json, startTestApi, type TestApi } from "./harness.ts";

let api: TestApi;
let pool: string;

beforeAll(async () => {
  api = await startTestApi({
    plugins: [
      (app) => {
        app.get("/plugin/ok", (_req, res) => void res.json({ plugin: true }));
        app.get("/plugin/boom", () => {
          throw new Error("db password=hunter2 leaked");
        });
      },
    ],
  });
  pool = configuredPool(api.config);
});
afterAll(async () => {
  await api?.close();
});

const get = (path: string, init?: RequestInit) => fetch(`${api.url}${path}`, init);

describe("GET /x402/staking/info/:wallet", () => {
  it("answers a staker's stake, tier, discount, priority and benefits from the stakes table", async () => {
    const owner = randomAddress();
    const address = await insertStake(api.schema.db, { owner, pool, staked: 150_000n * KAMIYO, slot: 321n });
    const res = await get(`/x402/staking/info/${owner}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = await json(res);
    expect(body).toMatchObject({
      wallet: owner,
      pool,
      stakeAccount: address,
      staked: { amount: "150000000000000", ui: "150000" },
      effectiveStake: { amount: "150000000000000", ui: "150000" },
      cooldown: { amount: { amount: "0", ui: "0" }, endsAtUnix: null, endsAt: null },
      tier: "silver",
      discountBps: 1000,
      priority: "priority",
      benefits: [...PRIORITY_BENEFITS.priority],
      closed: false,
      asOf: { slot: "321", commitment: "confirmed" },
    });
    expect(Date.parse(body.asOf.time)).not.toBeNaN();
  });

  it("prices the effective stake: a cooldown lowers the tier at once", async () => {
    const owner = randomAddress();
    await insertStake(api.schema.db, {
      owner,
      pool,
      staked: 600_000n * KAMIYO,
      cooldown: 550_000n * KAMIYO,
      cooldownEnd: 1_900_000_000n,
      slot: 10n,
    });
    const body = await json(await get(`/x402/staking/info/${owner}`));
    expect(body.staked.amount).toBe("600000000000000");
    expect(body.effectiveStake).toEqual({ amount: "50000000000000", ui: "50000" });
    expect(body.cooldown).toEqual({
      amount: { amount: "550000000000000", ui: "550000" },
      endsAtUnix: "1900000000",
      endsAt: new Date(1_900_000_000_000).toISOString(),
    });
    expect(body).toMatchObject({ tier: "none", discountBps: 0, priority: "standard", benefits: [] });
  });

  it("keeps u64 amounts exact beyond 2^53 and gives the top tier", async () => {
    const owner = randomAddress();
    await insertStake(api.schema.db, { owner, pool, staked: 18_446_744_073_709_551_615n, slot: 11n });
    const body = await json(await get(`/x402/staking/info/${owner}`));
    expect(body.staked).toEqual({ amount: "18446744073709551615", ui: "18446744073.709551615" });
    expect(body).toMatchObject({ tier: "platinum", discountBps: 3000, priority: "premium" });
    expect(body.benefits).toEqual([...PRIORITY_BENEFITS.premium]);
  });

  it("answers a closed account as zero stake, with the slot it was closed at", async () => {
    const owner = randomAddress();
    await insertStake(api.schema.db, { owner, pool, staked: 900_000n * KAMIYO, slot: 77n, closed: true });
    const body = await json(await get(`/x402/staking/info/${owner}`));
    expect(body).toMatchObject({ closed: true, tier: "none", discountBps: 0, asOf: { slot: "77" } });
    expect(body.staked.amount).toBe("0");
    expect(body.effectiveStake.amount).toBe("0");
  });

  it("answers zero stake for a valid wallet with no row, as of the indexer's highest applied slot", async () => {
    await writeStatus(api.schema.db, snapshot({ lastSlotBySource: { ws: "500", backfill: "480", webhook: "499" } }));
    const owner = randomAddress();
    const res = await get(`/x402/staking/info/${owner}`);
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toMatchObject({
      wallet: owner,
      stakeAccount: null,
      staked: { amount: "0", ui: "0" },
      effectiveStake: { amount: "0", ui: "0" },
      tier: "none",
      discountBps: 0,
      priority: "standard",
      benefits: [],
      closed: false,
      asOf: { slot: "500", commitment: null },
    });
  });

  it("ignores the same owner's stake in another pool", async () => {
    const owner = randomAddress();
    await insertStake(api.schema.db, { owner, pool: randomAddress(), staked: 2_000_000n * KAMIYO, slot: 5n });
    const body = await json(await get(`/x402/staking/info/${owner}`));
    expect(body).toMatchObject({ stakeAccount: null, tier: "none" });
  });

  it.each([
    ["not base58", "0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl", /not base58/],
    ["punctuation", "abc!def", /not base58/],
    ["31 bytes", "1111111111111111111111111111111", /decodes to 31 bytes/],
    ["33 bytes", "1".repeat(33), /decodes to 33 bytes/],
    ["too short", "abc", /decodes to \d+ bytes/],
    ["too long", "A".repeat(80), /too long/],
  ])("answers 400 with a reason for an invalid address (%s)", async (_name, wallet, reason) => {
    const res = await get(`/x402/staking/info/${encodeURIComponent(wallet)}`);
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body.error).toBe("invalid_wallet");
    expect(body.message).toMatch(reason);
  });

  it("is readable cross-origin, and only the public routes are", async () => {
    const res = await get(`/x402/staking/info/${randomAddress()}`, { headers: { Origin: "https://example.com" } });
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    const preflight = await get("/x402/discount-tiers", {
      method: "OPTIONS",
      headers: { Origin: "https://example.com", "Access-Control-Request-Method": "GET" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-methods")).toBe("GET");
    const admin = await get(`/x402/admin/resync/${randomAddress()}`, { method: "POST", headers: { Origin: "https://example.com" } });
    expect(admin.headers.get("access-control-allow-origin")).toBeNull();
    expect((await get("/plugin/ok", { headers: { Origin: "https://example.com" } })).headers.get("access-control-allow-origin")).toBeNull();
  });

  it("answers 503 (and logs the cause) when the stakes table cannot be read", async () => {
    const broken = await startTestApi();
    try {
      await broken.schema.db.schema.dropTable("stakes").execute();
      const res = await fetch(`${broken.url}/x402/staking/info/${randomAddress()}`);
      expect(res.status).toBe(503);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({ error: "unavailable", message: "stake data cannot be read right now; retry shortly" });
      expect(text).not.toContain("stakes");
      expect(broken.logLines.some((l) => l.includes('relation \\"stakes\\" does not exist'))).toBe(true);
    } finally {
      await broken.close();
    }
  });
});

describe("GET /x402/discount-tiers", () => {
  it("lists the configured tiers with thresholds as decimal strings and each priority's benefits", async () => {
    const res = await get("/x402/discount-tiers");
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.decimals).toBe(9);
    expect(body.tiers).toEqual([
      { name: "silver", minStake: { amount: "100000000000000", ui: "100000" }, discountBps: 1000, priority: "priority", benefits: [...PRIORITY_BENEFITS.priority] },
      { name: "gold", minStake: { amount: "500000000000000", ui: "500000" }, discountBps: 2000, priority: "priority", benefits: [...PRIORITY_BENEFITS.priority] },
      { name: "platinum", minStake: { amount: "1000000000000000", ui: "1000000" }, discountBps: 3000, priority: "premium", benefits: [...PRIORITY_BENEFITS.premium] },
    ]);
    expect(body.benefits.premium).toEqual([...PRIORITY_BENEFITS.premium]);
  });

  it("follows DISCOUNT_TIERS, and staking info uses the same table", async () => {
    const custom = await startTestApi({
      env: {
        DISCOUNT_TIERS: JSON.stringify([
          { name: "bronze", minStake: "1000", discountBps: 500, priority: "standard" },
          { name: "diamond", minStake: "5000", discountBps: 4000, priority: "premium" },
        ]),
      },
    });
    try {
      const tiers = await json(await fetch(`${custom.url}/x402/discount-tiers`));
      expect(tiers.tiers.map((t: { name: string; discountBps: number }) => [t.name, t.discountBps])).toEqual([
        ["bronze", 500],
        ["diamond", 4000],
      ]);
      const owner = randomAddress();
      await insertStake(custom.schema.db, { owner, pool: configuredPool(custom.config), staked: 4999n, slot: 1n });
      const info = await json(await fetch(`${custom.url}/x402/staking/info/${owner}`));
      expect(info).toMatchObject({ tier: "bronze", discountBps: 500, priority: "standard" });
    } finally {
      await custom.close();
    }
  });
});

describe("health, plugins and errors", () => {
  it("GET /health answers while the process runs", async () => {
    const res = await get("/health");
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ status: "ok" });
  });

  it("mounts plugins before the 404 handler", async () => {
    expect(await json(await get("/plugin/ok"))).toEqual({ plugin: true });
  });

  it("answers unknown routes with a JSON 404", async () => {
    const res = await get("/nope");
    expect(res.status).toBe(404);
    expect(await json(res)).toEqual({ error: "not_found", message: "no route for GET /nope" });
  });

  it("turns an unexpected error into a 500 without its message or stack, and logs it", async () => {
    const res = await get("/plugin/boom");
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: "internal", message: "internal error" });
    expect(text).not.toMatch(/hunter2|at |\.ts/);
    expect(api.logLines.some((l) => l.includes("unhandled error") && l.includes("hunter2"))).toBe(true);
  });

  it("answers 400 for a malformed JSON body and 413 for an oversized one", async () => {
    const bad = await get("/plugin/ok", { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" });
    expect(bad.status).toBe(400);
    expect(await json(bad)).toMatchObject({ error: "invalid_json" });
    const big = await get("/plugin/ok", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ pad: "x".repeat(200 * 1024) }),
    });
    expect(big.status).toBe(413);
    expect(await json(big)).toMatchObject({ error: "payload_too_large" });
  });

  it("logs each request with an id, echoed as x-request-id", async () => {
    const res = await get("/x402/discount-tiers", { headers: { "x-request-id": "trace-123" } });
    expect(res.headers.get("x-request-id")).toBe("trace-123");
    const line = api.logLines.find((l) => l.includes("trace-123") && l.includes("request completed"));
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ req: { id: "trace-123", method: "GET", url: "/x402/discount-tiers" }, res: { statusCode: 200 } });
  });
});
