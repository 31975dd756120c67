/**
 * The API's production guards (issue 14), against real Redis and Postgres:
 *  - rate limits shared by replicas: failed admin requests and unpaid quotes per client address, 429 with
 *    Retry-After;
 *  - a state-changing admin request a browser marks cross-site, or from another Origin, is refused; admin
 *    pages refuse framing;
 *  - the queue UI cannot stop the money: removing or editing the pipeline's scheduler, obliterating, emptying
 *    or cleaning the queue, adding jobs and editing job data are refused (the scheduler survives); retry and
 *    promote go through; every write is logged with who and what.
 */
import { randomBytes } from "node:crypto";
import type { Express } from "express";
import { Queue } from "bullmq";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../api/app.ts";
import { createRateLimits, type RateLimits } from "../../api/rate-limit.ts";
import { listen, type ListeningServer } from "../../api/server.ts";
import { createJobsPlugin } from "../../jobs/plugin.ts";
import { createPipelineQueue, createRedis, PIPELINE_QUEUE } from "../../jobs/queue.ts";
import type { Config } from "../../src/config.ts";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { deleteRedisPrefix, REDIS_URL } from "../jobs/harness.ts";
import { ADMIN_KEY, capturingLogger, RecordingIndexerApi, testConfig } from "./harness.ts";

const WALLET = "BPWziJCc3AJFMtz1LqgpgSVAyTDnz7MvgLBfozSSZyEn";

describe("production guards", () => {
  let schema: FreshSchema;
  const prefix = `guards-${randomBytes(4).toString("hex")}`;
  const redis = createRedis(REDIS_URL);
  let queue: Queue;
  const servers: ListeningServer[] = [];
  const limits: RateLimits[] = [];
  const { logger, lines } = capturingLogger();
  let config: Config;
  let replicas: string[];

  const replica = async (): Promise<string> => {
    const limit = createRateLimits({ redisUrl: REDIS_URL, prefix, adminPerMinute: 3, quotesPerMinute: 2, paidRoutes: ["GET /api/premium"], logger });
    limits.push(limit);
    const app: Express = createApp({
      config,
      db: schema.db,
      logger,
      metrics: new Registry(),
      indexerApi: new RecordingIndexerApi(),
      guards: [limit],
      plugins: [createJobsPlugin({ db: schema.db, adminKey: ADMIN_KEY, queue, logger })],
    });
    const server = await listen(app, { port: 0 });
    servers.push(server);
    return server.url;
  };

  beforeAll(async () => {
    schema = await withFreshSchema();
    config = { ...testConfig(), http: { trustProxy: 1, rateLimits: { adminPerMinute: 3, quotesPerMinute: 2 } } };
    queue = createPipelineQueue(redis, prefix);
    await queue.upsertJobScheduler("pipeline-daily", { pattern: "0 0 2 * * *", tz: "UTC" }, { name: "tick", data: {} });
    replicas = [await replica(), await replica()];
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    for (const l of limits) await l.close();
    await queue?.close();
    redis.disconnect();
    await deleteRedisPrefix(prefix);
    await schema?.close();
  });

  const basic = (key: string) => `Basic ${Buffer.from(`ops-alice:${key}`).toString("base64")}`;

  it("limits failed admin requests per client address across replicas: 429 with Retry-After", async () => {
    const from = { "x-forwarded-for": "203.0.113.7" };
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${replicas[i % 2]}/admin/queues/api/queues`, { headers: { ...from, authorization: basic("wrong-key-wrong-key") } });
      expect(res.status).toBe(401);
    }
    const blocked = await fetch(`${replicas[1]}/admin/queues/api/queues`, { headers: { ...from, authorization: basic(ADMIN_KEY) } });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await blocked.json()) as { error: string }).error).toBe("rate_limited");
    // Another address is not affected, and successful requests are not counted.
    for (let i = 0; i < 5; i++) {
      const ok = await fetch(`${replicas[0]}/admin/queues/api/queues`, { headers: { "x-forwarded-for": "198.51.100.9", authorization: basic(ADMIN_KEY) } });
      expect(ok.status).toBe(200);
    }
  });

  it("limits unpaid quotes per client address; paid requests are not counted", async () => {
    const from = { "x-forwarded-for": "192.0.2.44" };
    expect((await fetch(`${replicas[0]}/api/premium`, { headers: from })).status).not.toBe(429);
    expect((await fetch(`${replicas[1]}/api/premium`, { headers: from })).status).not.toBe(429);
    const third = await fetch(`${replicas[0]}/api/premium`, { headers: from });
    expect(third.status).toBe(429);
    expect(third.headers.get("retry-after")).toBe("60");
    const paid = await fetch(`${replicas[0]}/api/premium`, { headers: { ...from, "payment-signature": "eyJ4NDAyVmVyc2lvbiI6Mn0=" } });
    expect(paid.status).not.toBe(429);
    expect((await fetch(`${replicas[0]}/api/premium`, { headers: { "x-forwarded-for": "192.0.2.45" } })).status).not.toBe(429);
  });

  it("refuses state-changing admin requests a browser marks cross-site or from another origin, and framing", async () => {
    const auth = { authorization: `Bearer ${ADMIN_KEY}`, "x-forwarded-for": "198.51.100.20" };
    const crossSite = await fetch(`${replicas[0]}/x402/admin/resync/${WALLET}`, { method: "POST", headers: { ...auth, "sec-fetch-site": "cross-site" } });
    expect(crossSite.status).toBe(403);
    expect(((await crossSite.json()) as { error: string }).error).toBe("cross_site_request");
    const otherOrigin = await fetch(`${replicas[0]}/admin/queues/api/queues/${PIPELINE_QUEUE}/pause`, { method: "PUT", headers: { ...auth, origin: "https://evil.example" } });
    expect(otherOrigin.status).toBe(403);
    const sameOrigin = await fetch(`${replicas[0]}/x402/admin/resync/${WALLET}`, { method: "POST", headers: { ...auth, origin: replicas[0]!, "sec-fetch-site": "same-origin" } });
    expect(sameOrigin.status).not.toBe(403);
    const page = await fetch(`${replicas[0]}/admin/queues`, { headers: auth });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toBe("frame-ancestors 'none'");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
  });

  it("refuses queue UI writes that would stop the money, lets retry and promote through, and logs every write", async () => {
    const auth = { authorization: basic(ADMIN_KEY), "x-forwarded-for": "198.51.100.30" };
    const job = await queue.add("run", { runId: "1" }, { delay: 60_000 });
    const api = `${replicas[0]}/admin/queues/api/queues/${PIPELINE_QUEUE}`;
    const refused: [string, string][] = [
      ["PUT", `${api}/job-schedulers/pipeline-daily/remove`],
      ["PATCH", `${api}/job-schedulers/pipeline-daily`],
      ["PUT", `${api}/obliterate`],
      ["PUT", `${api}/empty`],
      ["PUT", `${api}/clean/delayed`],
      ["POST", `${api}/add`],
      ["PATCH", `${api}/${job.id}/update-data`],
      ["PUT", `${api}/${job.id}/clean`],
    ];
    for (const [method, url] of refused) {
      const res = await fetch(url, { method, headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ name: "run", data: {}, jobData: {} }) });
      expect(res.status, `${method} ${url}`).toBe(403);
    }
    expect((await queue.getJobSchedulers()).map((s) => s.key)).toContain("pipeline-daily");
    expect(await queue.getJob(job.id!)).toBeDefined();

    const promote = await fetch(`${api}/${job.id}/promote`, { method: "PUT", headers: auth });
    expect(promote.status).toBe(204);
    expect(await (await queue.getJob(job.id!))!.getState()).toBe("waiting");
    const retry = await fetch(`${api}/retry/failed`, { method: "PUT", headers: auth });
    expect(retry.status).toBe(200);

    const audit = lines.map((l) => JSON.parse(l) as { msg: string; user?: string; method?: string; path?: string; status?: number }).filter((l) => l.msg === "queue UI write");
    expect(audit).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ user: "ops-alice", method: "PUT", path: `/admin/queues/api/queues/${PIPELINE_QUEUE}/obliterate`, status: 403 }),
        expect.objectContaining({ user: "ops-alice", method: "PUT", path: `/admin/queues/api/queues/${PIPELINE_QUEUE}/${job.id}/promote`, status: 204 }),
      ]),
    );
  });
});
