/**
 * Operations: schedulers set up twice (two replicas) and firing every second make one run per day,
 * caught up oldest first; bull-board behind the admin key, where retrying, re-adding or editing a completed
 * run's job spends nothing; the analytics dashboard.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createJobsPlugin } from "../../jobs/plugin.ts";
import { createJobsRuntime, type JobsRuntime, type JobsRuntimeDeps } from "../../jobs/runtime.ts";
import { JOB, runJobId } from "../../jobs/queue.ts";
import { tick } from "../../jobs/scheduler.ts";
import { addUtcDays } from "../../src/domain/utc-day.ts";
import { createLogger } from "../../src/log.ts";
import { ADMIN_KEY, startTestApi, type TestApi } from "../api/harness.ts";
import { now, PRICE, REDIS_URL, startHarness, YESTERDAY, type Harness } from "./harness.ts";
import { waitFor } from "../kit/wait-for.ts";

const logger = createLogger({ level: "silent" });

function runtimeFor(h: Harness, extra: Partial<JobsRuntimeDeps> = {}): Promise<JobsRuntime> {
  return createJobsRuntime({ db: h.schema.db, redisUrl: REDIS_URL, prefix: h.prefix, config: h.config, logger, pollMs: 20, resendMs: 200, lockDurationMs: 5_000, stalledIntervalMs: 2_000, now, ...extra });
}

describe("scheduling", () => {
  let h: Harness;
  const runtimes: JobsRuntime[] = [];
  beforeEach(async () => {
    h = await startHarness({ env: { PIPELINE_CRON: "* * * * * *" } });
  });
  afterEach(async () => {
    for (const rt of runtimes.splice(0)) await rt.close(5_000);
    await h.close();
  });

  it("makes one run per day however often and from however many replicas the scheduler fires, oldest day first", { timeout: 60_000 }, async () => {
    const days = [addUtcDays(YESTERDAY, -3), addUtcDays(YESTERDAY, -2), addUtcDays(YESTERDAY, -1), YESTERDAY];
    await h.addRevenue(days[0]!, [400_000n]);
    await h.addRevenue(days[2]!, [500_000n]);
    await h.addRevenue(days[3]!, [600_000n]);
    // Two replicas, each setting the schedule up (a deploy, then a restart) and ticking by hand too.
    for (let i = 0; i < 2; i++) {
      const rt = await runtimeFor(h);
      runtimes.push(rt);
      await rt.setup();
      await rt.setup();
    }
    const [a, b] = runtimes as [JobsRuntime, JobsRuntime];
    await Promise.all([tick({ store: a.store, queue: a.queue, logger, now }), tick({ store: b.store, queue: b.queue, logger, now })]);
    expect((await a.queue.getJobSchedulers()).map((s) => s.key).sort()).toEqual(["apy-snapshot", "ledger-reconcile", "pipeline-daily"]);

    await waitFor("all runs finished", async () => (await a.store.openRuns()).length === 0 && (await a.store.listRuns()).length === 4, { timeoutMs: 40_000 });
    // Let the every-second cron fire a few more times over finished runs.
    const firedBefore = (await a.queue.getJobCounts("completed")).completed ?? 0;
    await waitFor("more ticks", async () => ((await a.queue.getJobCounts("completed")).completed ?? 0) >= firedBefore + 3, { timeoutMs: 10_000 });

    const runs = (await a.store.listRuns()).reverse();
    expect(runs.map((r) => [r.run_date, r.status])).toEqual([
      [days[0], "done"],
      [days[1], "skipped"],
      [days[2], "done"],
      [days[3], "done"],
    ]);
    expect((await h.landed(h.liquidityUsdc)).ok).toHaveLength(3);
    expect((await h.landed(h.rewardVault)).ok).toHaveLength(3);
    // Caught up in day order: allocations were made oldest first.
    const allocations = await h.schema.db.selectFrom("staking_revenue_allocations").select(["id", "period_start"]).orderBy("id").execute();
    expect(allocations.map((x) => x.period_start.toISOString().slice(0, 10))).toEqual(days);
    // One job per run, under its deterministic id.
    const runJobs = (await a.queue.getJobs(["completed", "failed", "waiting", "active", "delayed"])).filter((j) => j.name === JOB.run);
    expect(runJobs.map((j) => j.id).sort()).toEqual(runs.map((r) => runJobId(r.id)).sort());
  });
});

describe("the queue UI and the dashboard", () => {
  let h: Harness;
  let rt: JobsRuntime;
  let api: TestApi;
  beforeEach(async () => {
    h = await startHarness();
    rt = await runtimeFor(h);
    api = await startTestApi({ schema: h.schema, env: { LOG_LEVEL: "silent" }, plugins: [createJobsPlugin({ db: h.schema.db, adminKey: ADMIN_KEY, queue: rt.queue, now })] });
  });
  afterEach(async () => {
    await api.close();
    await rt.close(5_000);
    await h.close();
  });

  const bearer = { authorization: `Bearer ${ADMIN_KEY}` };
  const basic = { authorization: `Basic ${Buffer.from(`ops:${ADMIN_KEY}`).toString("base64")}` };

  it("is behind the admin key: Bearer, x-admin-key and Basic with the key as password", async () => {
    const anonymous = await fetch(`${api.url}/admin/queues`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Basic /);
    expect((await fetch(`${api.url}/admin/queues`, { headers: { authorization: `Basic ${Buffer.from("ops:wrong-key-0000000").toString("base64")}` } })).status).toBe(401);
    const page = await fetch(`${api.url}/admin/queues`, { headers: basic });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<html");
    const queues = await fetch(`${api.url}/admin/queues/api/queues`, { headers: bearer });
    expect(queues.status).toBe(200);
    expect(JSON.stringify(await queues.json())).toContain("revenue-pipeline");
    expect((await fetch(`${api.url}/x402/analytics/dashboard`)).status).toBe(401);
    expect((await fetch(`${api.url}/x402/analytics/dashboard`, { headers: { "x-admin-key": ADMIN_KEY } })).status).toBe(200);
  });

  it("spends nothing when an operator retries, re-adds or edits a completed run's job", { timeout: 60_000 }, async () => {
    await h.addRevenue(YESTERDAY, [1_000_000n]);
    await tick({ store: rt.store, queue: rt.queue, logger, now });
    const run = (await rt.store.getRunByDate(YESTERDAY))!;
    await waitFor("run done", async () => (await rt.store.getRun(run.id))!.status === "done", { timeoutMs: 30_000 });
    const jobId = runJobId(run.id);
    await waitFor("job completed", async () => (await rt.queue.getJob(jobId))?.finishedOn, { timeoutMs: 30_000 });
    const before = { swaps: await h.landed(h.liquidityUsdc), fundings: await h.landed(h.rewardVault), vault: await h.tokenBalance(h.rewardVault), usdc: await h.tokenBalance(h.adminUsdc), run: await rt.store.getRun(run.id), txs: await rt.store.listTxs(run.id) };
    const base = `${api.url}/admin/queues/api/queues/revenue-pipeline`;

    // Retry the completed job.
    const firstFinish = (await rt.queue.getJob(jobId))!.finishedOn!;
    const retry = await fetch(`${base}/${jobId}/retry`, { method: "PUT", headers: bearer });
    expect(retry.status).toBe(204);
    await waitFor("retried job completed", async () => {
      const j = await rt.queue.getJob(jobId);
      return j && (await j.getState()) === "completed" && j.finishedOn! > firstFinish;
    }, { timeoutMs: 30_000 });
    expect((await rt.queue.getJob(jobId))!.returnvalue).toEqual({ status: "done" });

    // Re-adding a job and editing job data are refused by the queue UI (issue 14: it cannot stop or change the
    // money); the job is left as it was.
    const added = await fetch(`${base}/add`, { method: "POST", headers: { ...bearer, "content-type": "application/json" }, body: JSON.stringify({ name: "run", data: { runId: run.id.toString() }, options: {} }) });
    expect(added.status).toBe(403);
    const edited = await fetch(`${base}/${jobId}/update-data`, { method: "PATCH", headers: { ...bearer, "content-type": "application/json" }, body: JSON.stringify({ jobData: { runId: run.id.toString(), amount: "999999999" } }) });
    expect(edited.status).toBe(403);
    expect((await rt.queue.getJob(jobId))!.data).not.toHaveProperty("amount");

    expect(await h.landed(h.liquidityUsdc)).toEqual(before.swaps);
    expect(await h.landed(h.rewardVault)).toEqual(before.fundings);
    expect(await h.tokenBalance(h.rewardVault)).toBe(before.vault);
    expect(await h.tokenBalance(h.adminUsdc)).toBe(before.usdc);
    expect(await rt.store.getRun(run.id)).toEqual(before.run);
    expect(await rt.store.listTxs(run.id)).toEqual(before.txs);
    expect(h.net.jupiter!.stats().swaps).toBe(1);
  });

  it("reports revenue, discounts by tier, staking totals and APY history", { timeout: 60_000 }, async () => {
    await h.addRevenue(YESTERDAY, [900_000n, 450_000n], "gold");
    await h.addRevenue(YESTERDAY, [1_000_000n]);
    await tick({ store: rt.store, queue: rt.queue, logger, now });
    const run = (await rt.store.getRunByDate(YESTERDAY))!;
    await waitFor("run done", async () => (await rt.store.getRun(run.id))!.status === "done", { timeoutMs: 30_000 });
    await rt.queue.add(JOB.apy, {});
    await waitFor("apy snapshot", async () => (await h.schema.db.selectFrom("staking_apy_history").select("id").execute()).length === 1, { timeoutMs: 30_000 });

    const res = await fetch(`${api.url}/x402/analytics/dashboard`, { headers: bearer });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>;
    const allocation = (2_350_000n * 3000n) / 10_000n;
    const bought = (allocation * 10n ** 9n) / PRICE;
    expect(body.revenue).toMatchObject({
      totalRevenue: "2350000",
      revenueWithoutDiscounts: (1_000_000n + 1_000_000n + 500_000n).toString(),
      totalDiscountsGiven: "150000",
      requests: "3",
      allocatedToStaking: allocation.toString(),
    });
    expect(body.discounts).toEqual([{ tier: "gold", usageCount: "2", uniquePayers: "2", revenue: "1350000", totalSavings: "150000" }]);
    const totalStaked = h.net.seed!.wallets.reduce((s, w) => s + w.staked, 0n);
    expect(body.staking).toMatchObject({
      totalStaked: totalStaked.toString(),
      rewardVaultBalance: bought.toString(),
      kamiyoBought: bought.toString(),
      kamiyoFunded: bought.toString(),
      usdcSpentOnBuybacks: allocation.toString(),
      runs: { done: "1" },
    });
    expect(body.apy).toHaveLength(1);
    expect(body.apy[0]).toMatchObject({ totalStaked: totalStaked.toString(), monthlyRevenue: "2350000", kamiyoPriceMicroUsdc: PRICE.toString() });
    expect(BigInt(body.apy[0].apyBps)).toBeGreaterThan(0n);
  });
});
