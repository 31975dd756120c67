/**
 * The worker's retry decision through BullMQ: an error nobody classified fails the job at once (the run is
 * marked failed and alerts; the operator's retry resumes it with the same stored bytes), while a transient
 * failure (a dropped connection) is retried with the job's attempts and the run finishes exactly once.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAlerter } from "../../jobs/alerts.ts";
import type { Boundary } from "../../jobs/pipeline.ts";
import { enqueueRun, runJobId } from "../../jobs/queue.ts";
import { createJobsRuntime, type JobsRuntime } from "../../jobs/runtime.ts";
import { tick } from "../../jobs/scheduler.ts";
import { utcDayWindow } from "../../src/domain/utc-day.ts";
import { createLogger } from "../../src/log.ts";
import { waitFor } from "../kit/wait-for.ts";
import { now, PRICE, REDIS_URL, startAlertSink, startHarness, YESTERDAY, type Harness } from "./harness.ts";

const logger = createLogger({ level: "silent" });
const QUICK_RETRIES = { attempts: 3, backoff: { type: "fixed", delay: 100 } } as const;

describe("the worker's retry decision", () => {
  let h: Harness;
  let rt: JobsRuntime | undefined;
  let sink: Awaited<ReturnType<typeof startAlertSink>>;
  beforeEach(async () => {
    h = await startHarness();
    sink = await startAlertSink();
  });
  afterEach(async () => {
    await rt?.close(5_000);
    rt = undefined;
    await sink.close();
    await h.close();
  });

  /** A runtime whose pipeline throws `fault()` once at `at`. */
  async function faultyRuntime(at: Boundary, fault: () => Error): Promise<JobsRuntime> {
    let thrown = false;
    return createJobsRuntime({
      db: h.schema.db,
      redisUrl: REDIS_URL,
      prefix: h.prefix,
      config: h.config,
      logger,
      now,
      pollMs: 20,
      resendMs: 200,
      lockDurationMs: 5_000,
      stalledIntervalMs: 2_000,
      alerter: createAlerter({ webhookUrl: sink.url, logger }),
      boundary: (name) => {
        if (name !== at || thrown) return;
        thrown = true;
        throw fault();
      },
    });
  }

  async function openRun(runtime: JobsRuntime): Promise<bigint> {
    await h.addRevenue(YESTERDAY, [1_000_000n]);
    // Created here rather than by a tick, so the test queues the run's job itself, with quick retries.
    expect(await runtime.store.ensureRuns([{ day: YESTERDAY, ...utcDayWindow(YESTERDAY) }])).toBe(1);
    return (await runtime.store.getRunByDate(YESTERDAY))!.id;
  }

  it("fails the job at once on an unclassified error, and the operator's retry finishes the run with the stored bytes", async () => {
    rt = await faultyRuntime("swap.beforeSend", () => new Error("a bug nobody classified"));
    const runId = await openRun(rt);
    await enqueueRun(rt.queue, runId, QUICK_RETRIES);
    await waitFor("job failed", async () => (await (await rt!.queue.getJob(runJobId(runId)))?.getState()) === "failed", { timeoutMs: 30_000 });
    const job = (await rt.queue.getJob(runJobId(runId)))!;
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toBe("a bug nobody classified");
    expect(await rt.store.getRun(runId)).toMatchObject({ status: "failed", failed_from: "swap_signed", error: "a bug nobody classified" });
    await waitFor("alert", () => sink.bodies.length === 1, { timeoutMs: 30_000 });
    expect((sink.bodies[0] as { text: string }).text).toMatch(new RegExp(`run ${YESTERDAY} failed at swap_signed: a bug nobody classified`));
    const [stored] = await rt.store.listTxs(runId);
    expect(stored).toMatchObject({ purpose: "swap", status: "pending" });

    await job.retry("failed");
    await waitFor("run done", async () => (await rt!.store.getRun(runId))!.status === "done", { timeoutMs: 30_000 });
    const swaps = (await rt.store.listTxs(runId)).filter((t) => t.purpose === "swap");
    expect(swaps.map((t) => [t.signature, t.status])).toEqual([[stored!.signature, "landed"]]);
    expect(h.net.jupiter!.stats().swaps).toBe(1);
  });

  it("retries a transient failure with the job's attempts and lands one funding", async () => {
    const reset = () => Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
    rt = await faultyRuntime("fund.afterSend", reset);
    const runId = await openRun(rt);
    await enqueueRun(rt.queue, runId, QUICK_RETRIES);
    await waitFor("run done", async () => (await rt!.store.getRun(runId))!.status === "done", { timeoutMs: 30_000 });
    await waitFor("job completed", async () => (await (await rt!.queue.getJob(runJobId(runId)))?.getState()) === "completed", { timeoutMs: 30_000 });
    expect((await rt.queue.getJob(runJobId(runId)))!.attemptsMade).toBe(2);
    expect((await h.landed(h.rewardVault)).ok).toHaveLength(1);
    expect(await h.tokenBalance(h.rewardVault)).toBe((300_000n * 10n ** 9n) / PRICE);
    expect(sink.bodies).toEqual([]);
    // The scheduler's next tick finds nothing left to do.
    expect(await tick({ store: rt.store, queue: rt.queue, logger, now })).toEqual({ created: 0, queued: 0 });
  });
});
