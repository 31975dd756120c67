/**
 * Redis down under the API and under the pipeline (a TCP proxy between them and the real Redis):
 *  - the API keeps serving; only the queue UI, which needs Redis, answers 503 within its deadline, in one
 *    line naming no address;
 *  - a run in flight when Redis goes away for 6 s (past its job's 5 s lock): the worker pauses, one alert
 *    reaches the alert webhook, and once Redis answers again the day's run completes exactly once (one swap,
 *    one funding) with no further alert.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { createJobsPlugin, createPipelineQueue, createRedis, DASHBOARD_PATH, QUEUES_PATH } from "../../jobs/index.ts";
import { QUEUE_UI_REDIS_DEADLINE_MS } from "../../jobs/plugin.ts";
import { enqueueRun } from "../../jobs/queue.ts";
import { createJobsRuntime, type JobsRuntime } from "../../jobs/runtime.ts";
import { utcDayWindow } from "../../src/domain/utc-day.ts";
import { createLogger } from "../../src/log.ts";
import { randomAddress } from "../api/fixtures.ts";
import { ADMIN_KEY, startTestApi, type TestApi } from "../api/harness.ts";
import { deleteRedisPrefix, now, REDIS_URL, startAlertSink, startHarness, YESTERDAY, type Harness } from "../jobs/harness.ts";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { startTcpProxy, type TcpProxy } from "../kit/tcp-proxy.ts";
import { waitFor } from "../kit/wait-for.ts";
import { randomBytes } from "node:crypto";

const admin = { authorization: `Bearer ${ADMIN_KEY}` };
const ANSWER_WITHIN_MS = QUEUE_UI_REDIS_DEADLINE_MS + 3_000;

describe("Redis down under the API", () => {
  let proxy: TcpProxy;
  let redis: Redis;
  let queue: Queue;
  let api: TestApi;
  let schema: FreshSchema;
  const prefix = `kamiyo-test-${randomBytes(4).toString("hex")}`;
  beforeAll(async () => {
    proxy = await startTcpProxy(REDIS_URL);
    redis = createRedis(proxy.url);
    queue = createPipelineQueue(redis, prefix);
    schema = await withFreshSchema();
    api = await startTestApi({ schema, plugins: [createJobsPlugin({ db: schema.db, adminKey: ADMIN_KEY, queue })] });
  });
  afterAll(async () => {
    await api?.close();
    await queue?.close();
    redis?.disconnect();
    await proxy?.close();
    await deleteRedisPrefix(prefix);
    await schema?.close();
  });

  it("keeps serving every route but the queue UI, which answers 503 in one line within its deadline", async () => {
    expect((await fetch(`${api.url}${QUEUES_PATH}/api/queues`, { headers: admin })).status).toBe(200);
    for (const outage of ["stopped", "black-holed"] as const) {
      if (outage === "stopped") await proxy.stop();
      else {
        await proxy.start();
        await waitFor("the queue UI back", async () => (await fetch(`${api.url}${QUEUES_PATH}/api/queues`, { headers: admin })).status === 200, { timeoutMs: 10_000, everyMs: 100 });
        proxy.blackHole();
      }
      const routes = [
        { name: "health", path: "/health", status: 200 },
        { name: "staking info", path: `/x402/staking/info/${randomAddress()}`, status: 200 },
        { name: "dashboard", path: DASHBOARD_PATH, status: 200 },
        { name: "queue UI", path: `${QUEUES_PATH}/api/queues`, status: 503 },
      ];
      const times: string[] = [];
      for (const r of routes) {
        const started = Date.now();
        const res = await fetch(`${api.url}${r.path}`, { headers: admin, signal: AbortSignal.timeout(30_000) });
        const text = await res.text();
        const ms = Date.now() - started;
        times.push(`${r.name} ${res.status} in ${ms} ms`);
        expect(res.status, `${r.name}: ${text}`).toBe(r.status);
        expect(ms, r.name).toBeLessThan(ANSWER_WITHIN_MS);
        if (r.status === 503) {
          expect(JSON.parse(text)).toMatchObject({ error: "redis_unavailable", message: expect.stringMatching(/queue UI needs Redis/) as unknown });
          expect(text).not.toContain(new URL(proxy.url).port);
          expect(text.split("\n")).toHaveLength(1);
        }
      }
      console.log(`[resilience] Redis ${outage}: ${times.join(", ")}`);
    }
    proxy.restore();
  });
});

describe("Redis down under the pipeline", () => {
  let h: Harness;
  let proxy: TcpProxy;
  let rt: JobsRuntime | undefined;
  let sink: Awaited<ReturnType<typeof startAlertSink>>;
  beforeAll(async () => {
    h = await startHarness();
    proxy = await startTcpProxy(REDIS_URL);
    sink = await startAlertSink();
  });
  afterAll(async () => {
    await rt?.close(5_000);
    await sink?.close();
    await proxy?.close();
    await h?.close();
  });

  it("pauses, alerts once, and completes the day's run exactly once when Redis returns", { timeout: 90_000 }, async () => {
    await h.addRevenue(YESTERDAY, [1_000_000n]);
    const redisAlerts = () => sink.bodies.filter((b) => /Redis unreachable/.test((b as { text: string }).text)).length;
    let outageMs = 0;
    let cutOnce = false;
    let pausedDuringOutage = false;
    rt = await createJobsRuntime({
      db: h.schema.db,
      redisUrl: proxy.url,
      prefix: h.prefix,
      config: { ...h.config, jobs: { ...h.config.jobs, alertWebhookUrl: sink.url } },
      logger: createLogger({ level: "silent" }),
      pollMs: 20,
      resendMs: 200,
      lockDurationMs: 5_000,
      stalledIntervalMs: 2_000,
      redisOutageGraceMs: 1_000,
      now,
      // Redis goes away right after the swap is sent, and comes back once the outage has been reported.
      boundary: async (name) => {
        if (name !== "swap.afterSend" || cutOnce) return;
        cutOnce = true;
        const started = Date.now();
        await proxy.stop();
        await waitFor("the Redis alert", () => redisAlerts() === 1, { timeoutMs: 15_000, everyMs: 50 });
        pausedDuringOutage = rt!.worker!.isPaused();
        // Down past the job's lock (5 s): Redis lets the lock lapse, so the job may be redelivered as stalled.
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, 6_000 - (Date.now() - started))));
        await proxy.start();
        outageMs = Date.now() - started;
      },
    });
    await rt.store.ensureRuns([{ day: YESTERDAY, ...utcDayWindow(YESTERDAY) }]);
    const run = (await rt.store.getRunByDate(YESTERDAY))!;
    await enqueueRun(rt.queue, run.id, { attempts: 3, backoff: { type: "fixed", delay: 100 } });
    await waitFor("the run done after the outage", async () => (await rt!.store.getRun(run.id))!.status === "done", { timeoutMs: 60_000, everyMs: 100 });
    await waitFor("the run's job completed", async () => (await rt!.queue.getJobCounts("completed")).completed === 1, { timeoutMs: 20_000, everyMs: 100 });
    console.log(`[resilience] Redis stopped for ${outageMs} ms under a run in flight: ${redisAlerts()} alert, run done once`);

    expect(cutOnce).toBe(true);
    expect(pausedDuringOutage).toBe(true);
    expect(rt.worker!.isPaused()).toBe(false);
    expect(redisAlerts()).toBe(1);
    expect((await rt.store.listRuns()).map((r) => [r.run_date, r.status])).toEqual([[YESTERDAY, "done"]]);
    const txs = await rt.store.listTxs(run.id);
    expect(txs.filter((t) => t.purpose === "swap").map((t) => t.status)).toEqual(["landed"]);
    expect(txs.filter((t) => t.purpose === "fund").map((t) => t.status)).toEqual(["landed"]);
    expect(h.net.jupiter!.stats().swaps).toBe(1);
  });
});
