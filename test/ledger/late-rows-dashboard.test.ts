/**
 * Late rows shown to ops: a payment that settles for a day already allocated lands in ledger_late_rows (by the
 * migration's trigger) and appears in both JSON answers operators read, the analytics dashboard
 * (/x402/analytics/dashboard) and the admin page's figures (/admin/api/overview), over real HTTP on a fresh
 * Postgres schema (the jobs plugin gets a real BullMQ queue on a fresh prefix; its queue UI is not mounted).
 */
import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createAdminPagePlugin } from "../../api/admin-page/plugin.ts";
import { errorHandler, notFoundHandler } from "../../api/errors.ts";
import { createJobsPlugin, DASHBOARD_PATH } from "../../jobs/plugin.ts";
import { createPipelineQueue } from "../../jobs/queue.ts";
import { createRunStore } from "../../jobs/runs.ts";
import { createUsageRepository } from "../../src/db/repositories/usage.ts";
import { utcDayOf, utcDayWindow } from "../../src/domain/utc-day.ts";
import { createLogger } from "../../src/log.ts";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { REDIS_URL } from "../jobs/harness.ts";

const ADMIN_KEY = "late-rows-admin-key-0123456789abcdef";
const PAYER = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin";
const PAY_TO = "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T";

let schema: FreshSchema;
let redis: Redis;
let queue: ReturnType<typeof createPipelineQueue>;
let server: Server;
let url: string;

beforeAll(async () => {
  schema = await withFreshSchema();
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  queue = createPipelineQueue(redis, `late-${randomBytes(4).toString("hex")}`);
  const logger = createLogger({ level: "silent" });
  const app = express();
  createAdminPagePlugin({ db: schema.db, pool: PAY_TO, cluster: "localnet", rpcUrl: "http://127.0.0.1:8899", adminKey: ADMIN_KEY, feed: () => ({ enhancedDeliveries: 0, enhancedElements: 0, lastEnhancedAt: null }) })(app);
  createJobsPlugin({ db: schema.db, adminKey: ADMIN_KEY, queue, logger, queueUi: false })(app);
  app.use(notFoundHandler());
  app.use(errorHandler(logger));
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await queue?.obliterate({ force: true }).catch(() => undefined);
  await queue?.close();
  redis?.disconnect();
  await schema?.close();
});

async function getJson(path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  const body = (await res.json()) as Record<string, unknown>;
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
}

it("shows a payment settled for an already allocated day in the analytics dashboard and the admin overview", async () => {
  const usage = createUsageRepository(schema.db);
  const record = (key: string, amount: bigint) => ({
    paymentKey: key,
    payer: PAYER,
    endpoint: "/api/premium",
    method: "GET",
    statusCode: 200,
    amountCharged: amount,
    originalAmount: amount,
    discountTier: null,
    discountBps: 0,
    savings: 0n,
    network: "solana:localnet",
    asset: "usdc-mint",
    payTo: PAY_TO,
  });
  // A payment settled before the run allocated its day: counted, never late.
  expect(await usage.reserve(record("on-time", 100_000n))).toBe(true);
  await usage.complete({ ...record("on-time", 100_000n), settlementSignature: "on-time-signature", responseTimeMs: 1, settledAt: new Date() });

  // Before anything is late both answers say so (zero, no rows), so the figures below come from the late row.
  const emptyDashboard = (await getJson(DASHBOARD_PATH)).lateRows as { count: string; newest: unknown[] };
  expect(emptyDashboard).toMatchObject({ count: "0", amount: "0", newest: [] });
  const emptyOverview = (await getJson("/admin/api/overview")).ledger as { lateRows: string; late: unknown[] };
  expect(emptyOverview).toMatchObject({ lateRows: "0", lateAmount: "0", late: [] });

  const day = utcDayOf(new Date());
  const store = createRunStore(schema.db);
  await store.ensureRuns([{ day, ...utcDayWindow(day) }]);
  const run = (await store.getRunByDate(day))!;
  expect(await store.allocate(run, { revenue: 100_000n, requestCount: 1n, allocationBps: 3000, allocation: 30_000n })).toBe(true);

  // Reserved before, settled after the allocation: the trigger records it as late.
  expect(await usage.reserve(record("late", 70_000n))).toBe(true);
  await usage.complete({ ...record("late", 70_000n), settlementSignature: "late-signature", responseTimeMs: 1, settledAt: new Date() });

  const dashboard = (await getJson(DASHBOARD_PATH)).lateRows as { count: string; amount: string; unit: string; newest: Array<Record<string, unknown>> };
  expect(dashboard.count).toBe("1");
  expect(dashboard.amount).toBe("70000");
  expect(dashboard.newest).toHaveLength(1);
  expect(dashboard.newest[0]).toMatchObject({ day, runId: run.id.toString(), amount: "70000", signature: "late-signature", alertedAt: null });

  const overview = (await getJson("/admin/api/overview")).ledger as { lateRows: string; lateAmount: string; late: Array<Record<string, unknown>> };
  expect(overview.lateRows).toBe("1");
  expect(overview.lateAmount).toBe("70000");
  expect(overview.late).toHaveLength(1);
  expect(overview.late[0]).toMatchObject({ day, amount: "70000", signature: "late-signature", alerted: false });
  expect(overview.late[0]!.url).toMatch(/^https:\/\/explorer\.solana\.com\/tx\/late-signature\?cluster=custom/);
}, 60_000);
