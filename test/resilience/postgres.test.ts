/**
 * Postgres misbehaving under the API: connections reset while 8 clients read (the process keeps serving: an
 * unhandled pg 'error' event would fail this file), then a black hole (open and new connections carry
 * nothing): every route answers within seconds, 503 naming no address for the ones that need the database,
 * /health 200, /ready naming the database; then the database answers again and so do the routes.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { createRevenuePlugin } from "../../api/revenue/plugin.ts";
import { createJobsPlugin, createPipelineQueue, createRedis, DASHBOARD_PATH } from "../../jobs/index.ts";
import { createDatabase, type DatabaseHandle } from "../../src/db/database.ts";
import { randomAddress, snapshot, writeStatus } from "../api/fixtures.ts";
import { ADMIN_KEY, startTestApi, type TestApi } from "../api/harness.ts";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { startTcpProxy, type TcpProxy } from "../kit/tcp-proxy.ts";
import { waitFor } from "../kit/wait-for.ts";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const admin = { authorization: `Bearer ${ADMIN_KEY}` };
/** The query deadline (4.5 s) or the connect deadline (2 s), plus slack for a loaded machine. */
const ANSWER_WITHIN_MS = 7_000;

describe("Postgres resets and black holes under the API", () => {
  let schema: FreshSchema;
  let proxy: TcpProxy;
  let viaProxy: DatabaseHandle;
  let redis: Redis;
  let queue: Queue;
  let api: TestApi;

  beforeAll(async () => {
    schema = await withFreshSchema();
    proxy = await startTcpProxy(schema.url);
    viaProxy = createDatabase({ url: proxy.url, schema: schema.schema, max: 4 });
    redis = createRedis(REDIS_URL);
    queue = createPipelineQueue(redis, `kamiyo-test-${randomBytes(4).toString("hex")}`);
    api = await startTestApi({
      schema: { ...schema, db: viaProxy.db },
      plugins: [createRevenuePlugin({ db: viaProxy.db, adminKey: ADMIN_KEY }), createJobsPlugin({ db: viaProxy.db, adminKey: ADMIN_KEY, queue })],
    });
    await writeStatus(schema.db, snapshot({ backfillCompletedAt: new Date().toISOString(), backfillSlot: "1" }));
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
    { name: "staking info", path: () => `/x402/staking/info/${randomAddress()}`, headers: {}, down: 503 },
    { name: "daily revenue", path: () => "/x402/revenue/daily?date=2026-11-24", headers: admin, down: 503 },
    { name: "monthly revenue", path: () => "/x402/revenue/monthly?year=2026&month=11", headers: admin, down: 503 },
    { name: "dashboard", path: () => DASHBOARD_PATH, headers: admin, down: 503 },
    { name: "ready", path: () => "/ready", headers: {}, down: 503 },
    { name: "metrics", path: () => "/metrics", headers: {}, down: 200 },
    { name: "health", path: () => "/health", headers: {}, down: 200 },
  ];

  it("keeps serving 8 concurrent readers through repeated connection resets", async () => {
    let ok = 0;
    let failed = 0;
    let stop = false;
    const reader = async () => {
      while (!stop) {
        const res = await fetch(`${api.url}/x402/staking/info/${randomAddress()}`);
        await res.arrayBuffer();
        if (res.status === 200) ok++;
        else if (res.status === 503) failed++;
        else throw new Error(`unexpected ${res.status}`);
      }
    };
    const readers = Array.from({ length: 8 }, reader);
    for (let i = 0; i < 5; i++) {
      await waitFor("reads between resets", () => ok > (i + 1) * 20, { timeoutMs: 10_000, everyMs: 5 });
      proxy.cut();
    }
    const before = ok;
    await waitFor("reads after the last reset", () => ok > before + 50, { timeoutMs: 10_000, everyMs: 5 });
    stop = true;
    await Promise.all(readers);
    console.log(`[resilience] 5 resets under 8 readers: ${ok} answered 200, ${failed} answered 503, none failed otherwise`);
  });

  it("answers every route within seconds while the database is black-holed, then recovers", async () => {
    proxy.blackHole();
    const times: string[] = [];
    await Promise.all(
      routes.map(async (r) => {
        const started = Date.now();
        const res = await fetch(`${api.url}${r.path()}`, { headers: r.headers, signal: AbortSignal.timeout(30_000) });
        const text = await res.text();
        const ms = Date.now() - started;
        times.push(`${r.name} ${res.status} in ${ms} ms`);
        expect(res.status, `${r.name}: ${text}`).toBe(r.down);
        expect(ms, r.name).toBeLessThan(ANSWER_WITHIN_MS);
        expect(text, r.name).not.toContain(new URL(proxy.url).port);
        if (r.name === "ready") expect(JSON.parse(text)).toMatchObject({ ready: false, dependency: "database" });
      }),
    );
    console.log(`[resilience] Postgres black-holed: ${times.join(", ")}`);

    proxy.restore();
    // The indexer's status is now older than the bound /ready allows (no leader wrote meanwhile): one writes it.
    await writeStatus(schema.db, snapshot({ backfillCompletedAt: new Date().toISOString(), backfillSlot: "1" }));
    for (const r of routes) {
      await waitFor(`${r.name} to answer 200 again`, async () => (await fetch(`${api.url}${r.path()}`, { headers: r.headers })).status === 200, {
        timeoutMs: 15_000,
        everyMs: 100,
      });
    }
  });
});
