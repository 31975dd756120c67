/**
 * One cause, one answer: with Postgres unreachable (a proxy in front of it stops, cutting open connections
 * and refusing new ones), the staking info, the revenue reports and the analytics dashboard all answer 503,
 * and none of them says where the database is.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { createRevenuePlugin } from "../../api/revenue/plugin.ts";
import { createJobsPlugin, createPipelineQueue, createRedis, DASHBOARD_PATH } from "../../jobs/index.ts";
import { createDatabase, type DatabaseHandle } from "../../src/db/database.ts";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { startTcpProxy, type TcpProxy } from "../kit/tcp-proxy.ts";
import { randomAddress } from "./fixtures.ts";
import { ADMIN_KEY, startTestApi, type TestApi } from "./harness.ts";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const admin = { authorization: `Bearer ${ADMIN_KEY}` };

describe("Postgres is unreachable", () => {
  let schema: FreshSchema;
  let proxy: TcpProxy;
  let viaProxy: DatabaseHandle;
  let redis: Redis;
  let queue: Queue;
  let api: TestApi;

  beforeAll(async () => {
    schema = await withFreshSchema();
    proxy = await startTcpProxy(schema.url);
    viaProxy = createDatabase({ url: proxy.url, schema: schema.schema, max: 2 });
    redis = createRedis(REDIS_URL);
    queue = createPipelineQueue(redis, `kamiyo-test-${randomBytes(4).toString("hex")}`);
    api = await startTestApi({
      schema: { ...schema, db: viaProxy.db },
      plugins: [createRevenuePlugin({ db: viaProxy.db, adminKey: ADMIN_KEY }), createJobsPlugin({ db: viaProxy.db, adminKey: ADMIN_KEY, queue })],
    });
  });
  afterAll(async () => {
    await api?.close();
    await queue?.close();
    await redis?.quit();
    await viaProxy?.close();
    await proxy?.close();
    await schema?.close();
  });

  const routes = [
    { name: "staking info", path: () => `/x402/staking/info/${randomAddress()}`, headers: {} },
    { name: "daily revenue", path: () => "/x402/revenue/daily?date=2026-11-24", headers: admin },
    { name: "monthly revenue", path: () => "/x402/revenue/monthly?year=2026&month=11", headers: admin },
    { name: "dashboard", path: () => DASHBOARD_PATH, headers: admin },
  ];

  it("answers 200 on every route while the database is up", async () => {
    for (const r of routes) expect((await fetch(`${api.url}${r.path()}`, { headers: r.headers })).status, r.name).toBe(200);
  });

  it("answers 503 on staking info, revenue and the dashboard once it is down, without naming the database", async () => {
    await proxy.stop();
    for (const r of routes) {
      const res = await fetch(`${api.url}${r.path()}`, { headers: r.headers });
      const text = await res.text();
      expect(res.status, `${r.name}: ${text}`).toBe(503);
      expect(JSON.parse(text).error, r.name).toBe("unavailable");
      expect(text, r.name).not.toContain(new URL(proxy.url).port);
    }
  });
});
