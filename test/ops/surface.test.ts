/**
 * The ops surface of the `start` composition over the local chain: the OpenAPI document against the routes
 * the app really mounted, /.well-known/x402 and /docs; the kamiyo_pipeline_* families on the API's /metrics
 * (one registry under start) and on the worker's own port when it runs alone; the Grafana dashboard's and
 * alert rules' metric names against /metrics and promtool; Helius enhanced-format deliveries counted and
 * shown; a 402 an x402 v1 client can read as a refusal.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import type { Express } from "express";
import { Redis } from "ioredis";
import { PaymentRequiredV1Schema } from "@x402/core/schemas";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workerHttpService } from "../../cli/commands/worker.ts";
import { composeServices, createCompositionState } from "../../cli/compose.ts";
import { startServices } from "../../cli/services.ts";
import { enqueueRun } from "../../jobs/queue.ts";
import { createRunStore, TERMINAL_STATUSES } from "../../jobs/runs.ts";
import { createLogger } from "../../src/log.ts";
import { utcDayWindow } from "../../src/domain/utc-day.ts";
import { startTestStack, type TestStack } from "../api/local-stack.ts";
import { waitFor } from "../kit/wait-for.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
let stack: TestStack;
let admin: Record<string, string>;

beforeAll(async () => {
  stack = await startTestStack();
  admin = { authorization: `Bearer ${stack.state.config.adminApiKey}` };
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${stack.apiUrl}${path}`, { headers });
const metricsText = async () => (await get("/metrics")).text();
/** Sample lines of one family: `name{labels} value`. */
const samples = (text: string, name: string) => text.split("\n").filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
const value = (text: string, name: string, labels = "") => {
  const line = samples(text, name).find((l) => l.startsWith(`${name}${labels}`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
};

/** The routes an express app answers: "METHOD /path" for routes, "MOUNT /prefix" for sub-applications. */
function mountedRoutes(app: Express): Set<string> {
  const out = new Set<string>();
  type Layer = { route?: { path: string | string[]; methods: Record<string, boolean> }; rawPath?: string | string[]; handle: { stack?: Layer[] }; slash?: boolean };
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const p of paths) for (const m of Object.keys(layer.route.methods)) if (m !== "_all" && m !== "options" && m !== "head") out.add(`${m.toUpperCase()} ${p}`);
      } else if (typeof layer.rawPath === "string" && layer.rawPath !== "/" && !layer.slash) {
        out.add(`MOUNT ${layer.rawPath}`);
      } else if (layer.handle.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return out;
}

describe("the API describes itself", () => {
  it("documents every mounted route and invents none", async () => {
    const doc = (await (await get("/openapi.json")).json()) as { openapi: string; paths: Record<string, Record<string, { "x-mount"?: unknown }>> };
    expect(doc.openapi).toBe("3.1.0");
    const documented = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) documented.add(op["x-mount"] ? `MOUNT ${path}` : `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`);
    }
    const app = stack.state.api!.server.listeners("request")[0] as unknown as Express;
    const real = mountedRoutes(app);
    // Paid routes are served by the paywall's middleware whether or not a handler is mounted at them.
    for (const r of stack.state.config.x402.routes) real.add(`${r.method} ${r.path}`);
    expect([...documented].sort()).toEqual([...real].sort());
    expect(real.has("GET /x402/staking/info/:wallet")).toBe(true);
    expect(real.has("MOUNT /admin/queues")).toBe(true);
  });

  it("prices paid routes from the platinum price to the full price, with the 402 body's schema", async () => {
    const doc = (await (await get("/openapi.json")).json()) as { paths: Record<string, Record<string, any>> };
    const premium = doc.paths["/api/premium"]!.get;
    expect(premium["x-payment-info"]).toEqual({
      price: { mode: "range", currency: "USDC", min: "0.07", max: "0.1" },
      protocols: [{ x402: { version: 2, scheme: "exact", header: "PAYMENT-SIGNATURE" } }],
    });
    const ref = premium.responses["402"].content["application/json"].schema.$ref as string;
    expect(ref).toBe("#/components/schemas/PaymentRequired");
    const schema = (doc as unknown as { components: { schemas: Record<string, { required: string[] }> } }).components.schemas.PaymentRequired!;
    expect(schema.required).toEqual(expect.arrayContaining(["x402Version", "error", "accepts", "price", "stakingHint"]));
    // The parameters come from the schemas the routes validate with: a bad wallet is refused by the same schema.
    const info = doc.paths["/x402/staking/info/{wallet}"]!.get;
    expect(info.parameters).toEqual([expect.objectContaining({ name: "wallet", in: "path", required: true })]);
    const bad = await get("/x402/staking/info/nope");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe("invalid_wallet");
    const daily = doc.paths["/x402/revenue/daily"]!.get;
    expect(daily.parameters.map((p: { name: string }) => p.name)).toEqual(["date"]);
  });

  it("lists the paid resources at /.well-known/x402 and renders /docs", async () => {
    const known = (await (await get("/.well-known/x402")).json()) as any;
    expect(known).toMatchObject({
      x402Version: 2,
      resources: [{ resource: `${stack.state.config.publicUrl}/api/premium`, method: "GET", scheme: "exact", asset: stack.state.config.solana.usdcMint, payTo: stack.state.config.x402.payTo, price: { min: "0.07", max: "0.1" } }],
    });
    const docs = await (await get("/docs")).text();
    for (const path of ["/api/premium", "/x402/staking/info/{wallet}", "/admin", "/metrics", "/.well-known/x402"]) expect(docs).toContain(`<code>${path}</code>`);
  });
});

describe("x402 v1 clients", () => {
  it("read the 402 body as a refusal: a version other than 1, an error, nothing to pay", async () => {
    const res = await get("/api/premium");
    expect(res.status).toBe(402);
    const body = (await res.json()) as { x402Version: number; error: string; accepts: unknown[] };
    expect(body.x402Version).toBe(2);
    expect(body.accepts).toEqual([]);
    expect(body.error).toContain("x402 v2 only");
    // What a v1 client validates the body with refuses it without throwing on our other fields.
    expect(PaymentRequiredV1Schema.safeParse(body).success).toBe(false);
    const v1Payment = await fetch(`${stack.apiUrl}/api/premium`, { headers: { "x-payment": Buffer.from("{}").toString("base64") } });
    expect(v1Payment.status).toBe(402);
    expect(await v1Payment.json()).toEqual({ x402Version: 1, accepts: [], error: body.error });
  });
});

describe("misconfigured feeds", () => {
  it("counts enhanced-format Helius deliveries and shows them on /ready, /metrics and the admin overview", async () => {
    const enhanced = [{ signature: "5".repeat(88), type: "TRANSFER", description: "enhanced", nativeTransfers: [] }];
    const res = await fetch(`${stack.apiUrl}/webhooks/helius`, {
      method: "POST",
      headers: { authorization: stack.state.config.helius.webhookAuth, "content-type": "application/json" },
      body: JSON.stringify(enhanced),
    });
    expect(res.status).toBe(200);
    const ready = (await (await get("/ready")).json()) as { dependencies: { heliusWebhooks: { enhancedDeliveries: number; lastEnhancedAt: string | null } } };
    expect(ready.dependencies.heliusWebhooks).toMatchObject({ ok: true, enhancedDeliveries: 1, enhancedElements: 1 });
    expect(ready.dependencies.heliusWebhooks.lastEnhancedAt).not.toBeNull();
    expect(value(await metricsText(), "kamiyo_api_webhook_enhanced_elements_total")).toBe(1);
    const overview = (await (await get("/admin/api/overview", admin)).json()) as { webhooks: { enhancedDeliveries: number } };
    expect(overview.webhooks.enhancedDeliveries).toBe(1);
  });
});

describe("pipeline metrics", () => {
  it("exports runs by status, the last success, ledger totals, admin balances, what the next run needs and step durations", async () => {
    const db = stack.state.database!.db;
    const store = createRunStore(db);
    // A closed day without revenue: allocate freezes nothing and the run is skipped (a success).
    const day = new Date(Date.now() - 5 * 86_400_000).toISOString().slice(0, 10);
    await store.ensureRuns([{ day, ...utcDayWindow(day) }]);
    const run = (await store.getRunByDate(day))!;
    await enqueueRun(stack.state.jobs!.queue, run.id);
    await waitFor(`run ${day} to end`, async () => TERMINAL_STATUSES.includes((await store.getRun(run.id))!.status), { timeoutMs: 30_000, everyMs: 100 });

    const text = await metricsText();
    expect(value(text, "kamiyo_pipeline_up")).toBe(1);
    const statuses = (await db.selectFrom("pipeline_runs").select("status").execute()).map((r) => r.status);
    for (const status of ["done", "skipped", "failed", "scheduled"]) {
      expect(value(text, "kamiyo_pipeline_runs", `{status="${status}"}`), status).toBe(statuses.filter((s) => s === status).length);
    }
    expect(value(text, "kamiyo_pipeline_last_success_day_timestamp_seconds")).toBeGreaterThanOrEqual(utcDayWindow(day).start.getTime() / 1000);
    expect(value(text, "kamiyo_pipeline_last_success_timestamp_seconds")).toBeGreaterThan(Date.now() / 1000 - 600);
    for (const name of ["kamiyo_pipeline_usdc_spent_micro", "kamiyo_pipeline_kamiyo_bought_base_units", "kamiyo_pipeline_kamiyo_funded_base_units"]) {
      expect(value(text, name), name).toBeGreaterThanOrEqual(0);
    }
    expect(value(text, "kamiyo_pipeline_admin_balance_up")).toBe(1);
    // The demo seed funds the admin wallet with SOL and USDC.
    expect(value(text, "kamiyo_pipeline_admin_balance", '{asset="sol"}')).toBeGreaterThan(0);
    expect(value(text, "kamiyo_pipeline_admin_balance", '{asset="usdc"}')).toBeGreaterThan(0);
    expect(value(text, "kamiyo_pipeline_admin_balance", '{asset="kamiyo"}')).toBeGreaterThanOrEqual(0);
    expect(value(text, "kamiyo_pipeline_next_run_needs", '{asset="sol"}')).toBe(10_000_000);
    expect(value(text, "kamiyo_pipeline_next_run_needs", '{asset="usdc"}')).toBeGreaterThanOrEqual(0);
    expect(value(text, "kamiyo_pipeline_step_duration_seconds_count", '{step="allocate",outcome="ok"}')).toBeGreaterThanOrEqual(1);
    expect(text).toContain("# TYPE kamiyo_pipeline_alerts_sent_total counter");
  });

  it("are served on the worker's own port, with /health, when the worker runs alone", async () => {
    const state = createCompositionState(stack.state.config);
    const jobsPrefix = `test-worker-${randomBytes(6).toString("hex")}`;
    const http = workerHttpService(state, { port: 0 });
    const services = [...composeServices(state, { logger: createLogger({ level: "silent" }), roles: ["worker"], dbSchema: stack.schema.schema, jobsPrefix, schedule: false }), http];
    const running = await startServices(services, createLogger({ level: "silent" }));
    try {
      expect(running.started).toContain("worker metrics");
      const base = http.url()!;
      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(200);
      const text = await (await fetch(`${base}/metrics`)).text();
      expect(value(text, "kamiyo_pipeline_up")).toBe(1);
      expect(samples(text, "kamiyo_pipeline_runs").length).toBeGreaterThan(0);
      expect((await fetch(`${base}/admin`)).status).toBe(404);
      await state.jobs!.worker!.close();
      expect((await fetch(`${base}/health`)).status).toBe(503);
    } finally {
      await running.stop();
      const redis = new Redis(stack.state.config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        const keys = await redis.keys(`${jobsPrefix}:*`);
        if (keys.length > 0) await redis.del(...keys);
      } finally {
        redis.disconnect();
      }
    }
  }, 60_000);
});


describe("shipped Grafana dashboard and alert rules", () => {
  const dashboard = readFileSync(join(ROOT, "ops/grafana/kamiyo-stake.json"), "utf8");
  const rules = readFileSync(join(ROOT, "ops/prometheus/kamiyo-stake.rules.yml"), "utf8");
  const names = (text: string) => new Set([...text.matchAll(/\bkamiyo_[a-z0-9_]*[a-z0-9]\b/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, "")));

  it("name only series that /metrics serves", async () => {
    const served = new Set([...(await metricsText()).matchAll(/^# TYPE (kamiyo_[a-z0-9_]+) /gm)].map((m) => m[1]!));
    const wanted = new Set([...names(dashboard), ...names(rules)]);
    expect(wanted.size).toBeGreaterThan(20);
    expect([...wanted].filter((n) => !served.has(n)), "named in ops/ but not served").toEqual([]);
  });

  it("pass promtool check rules", () => {
    const out = execFileSync("promtool", ["check", "rules", join(ROOT, "ops/prometheus/kamiyo-stake.rules.yml")], { encoding: "utf8" });
    expect(out).toMatch(/SUCCESS: \d+ rules found/);
  });
});
