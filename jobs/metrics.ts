/**
 * The revenue pipeline's Prometheus series (kamiyo_pipeline_*). Figures kept in Postgres (runs by status,
 * the last success, the ledger's totals, what open runs still need) and the admin wallet's balances on chain
 * are read when the registry is collected (each scrape, bounded by `timeoutMs`); step durations and alerts
 * are counted where they happen. Under `start` these series sit on the API's registry; a worker running
 * alone serves them itself (createWorkerHttpApp, on WORKER_METRICS_PORT).
 *
 * Amounts are exported in base units (micro-USDC, lamports, KAMIYO base units) as Prometheus floats: exact
 * below 2^53, approximate above. Money is never read back from here.
 */
import { getAssociatedTokenAddressSync, TOKEN_2022_PROGRAM_ID } from "@solana/spl-token";
import { PublicKey } from "@solana/web3.js";
import type { Queue, Worker } from "bullmq";
import express, { type Express } from "express";
import type { Kysely } from "kysely";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { createLedgerRepository } from "../src/db/repositories/ledger.ts";
import { createOpsRepository } from "../src/db/repositories/ops.ts";
import { createUsageRepository } from "../src/db/repositories/usage.ts";
import type { Database } from "../src/db/schema.ts";
import { allocationOf } from "../src/domain/allocation.ts";
import { RUN_STATUSES } from "../src/domain/run-states.ts";
import { utcDayOf, utcDayWindow } from "../src/domain/utc-day.ts";
import { describeError } from "../src/errors.ts";
import type { Logger } from "../src/log.ts";
import type { Alerter } from "./alerts.ts";
import type { ChainGateway } from "./chain.ts";
import { SCHEDULER } from "./queue.ts";

export type StepName = "allocate" | "buyback" | "fund" | "finish";

export interface PipelineMetricsDeps {
  registry: Registry;
  db: Kysely<Database>;
  logger: Logger;
  /** The admin wallet whose balances are exported; without it the balance series stay empty. */
  admin?: { chain: ChainGateway; address: string; kamiyoMint: string; usdcMint: string };
  allocationBps: number;
  /** SOL the pipeline requires before it signs anything (lamports). */
  minSolLamports: bigint;
  /** Per-collection budget for the database and chain reads. Default 3 s. */
  timeoutMs?: number;
  now?: () => Date;
}

export interface PipelineMetrics {
  /** Times one step of a run. */
  timeStep<T>(step: StepName, fn: () => Promise<T>): Promise<T>;
  /** The alerter, counting each alert it sends (by reason). */
  countingAlerter(alerter: Alerter): Alerter;
}

const withTimeout = async <T>(what: string, ms: number, p: Promise<T>): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
};

export function createPipelineMetrics(deps: PipelineMetricsDeps): PipelineMetrics {
  const registers = [deps.registry];
  const timeoutMs = deps.timeoutMs ?? 3000;
  const now = deps.now ?? (() => new Date());
  const ops = createOpsRepository(deps.db);
  const ledger = createLedgerRepository(deps.db);
  const usage = createUsageRepository(deps.db);
  const log = deps.logger.child({ component: "pipeline-metrics" });

  // Every series read from the tables or the chain collects through the one shared read per scrape.
  const gauge = (name: string, help: string, labelNames: string[] = []) =>
    new Gauge({ name, help, labelNames, registers, collect: collectOnce });
  const up = gauge("kamiyo_pipeline_up", "1 when the pipeline's tables could be read at this scrape, else 0");
  const runs = gauge("kamiyo_pipeline_runs", "Pipeline runs by status (failed = halted, waiting for an operator)", ["status"]);
  const lastSuccessDay = gauge("kamiyo_pipeline_last_success_day_timestamp_seconds", "Start (UTC midnight) of the newest day whose run ended done or skipped");
  const lastSuccessAt = gauge("kamiyo_pipeline_last_success_timestamp_seconds", "When the newest successful (done or skipped) run ended");
  const spent = gauge("kamiyo_pipeline_usdc_spent_micro", "micro-USDC spent on KAMIYO buybacks, all runs");
  const bought = gauge("kamiyo_pipeline_kamiyo_bought_base_units", "KAMIYO base units bought, all runs");
  const funded = gauge("kamiyo_pipeline_kamiyo_funded_base_units", "KAMIYO base units moved into the reward vault, all runs");
  const needs = gauge(
    "kamiyo_pipeline_next_run_needs",
    "What the admin wallet must hold for the open runs and today's run (asset: sol in lamports, usdc in micro-USDC, kamiyo in base units)",
    ["asset"],
  );
  const balance = gauge("kamiyo_pipeline_admin_balance", "The admin wallet's balance (asset: sol in lamports, usdc in micro-USDC, kamiyo in base units)", ["asset"]);
  const balanceUp = gauge("kamiyo_pipeline_admin_balance_up", "1 when the admin wallet's balances could be read from the chain at this scrape, else 0");
  const stepSeconds = new Histogram({
    name: "kamiyo_pipeline_step_duration_seconds",
    help: "Duration of one pipeline step of a run, by step and outcome (ok or error)",
    labelNames: ["step", "outcome"] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers,
  });
  const alerts = new Counter({ name: "kamiyo_pipeline_alerts_sent_total", help: "Operator alerts raised by the pipeline, by reason", labelNames: ["reason"] as const, registers });

  let usdcAccount: PublicKey | null = null;
  async function readBalances(): Promise<{ sol: bigint; usdc: bigint; kamiyo: bigint }> {
    const a = deps.admin!;
    const owner = new PublicKey(a.address);
    if (usdcAccount === null) {
      const program = await a.chain.accountOwner(new PublicKey(a.usdcMint));
      if (!program) throw new Error(`USDC mint ${a.usdcMint} does not exist`);
      usdcAccount = getAssociatedTokenAddressSync(new PublicKey(a.usdcMint), owner, false, program);
    }
    const kamiyoAccount = getAssociatedTokenAddressSync(new PublicKey(a.kamiyoMint), owner, false, TOKEN_2022_PROGRAM_ID);
    const [sol, usdc, kamiyo] = await Promise.all([a.chain.lamports(owner), a.chain.tokenBalance(usdcAccount), a.chain.tokenBalance(kamiyoAccount)]);
    return { sol, usdc, kamiyo };
  }

  async function readTables() {
    const [byStatus, totals, health] = await Promise.all([ledger.runsByStatus(), ledger.ledgerTotals(), ops.pipelineHealth()]);
    // Today's run will allocate from today's revenue so far; scheduled runs from their closed windows.
    const windows = [...health.unallocatedWindows, utcDayWindow(utcDayOf(now()))];
    const revenues = await Promise.all(windows.map((w) => usage.settledRevenue(w)));
    const usdcNeed = health.openUsdcToSpend + revenues.reduce((s, r) => s + allocationOf(r.revenue, deps.allocationBps), 0n);
    return { byStatus, totals, health, usdcNeed };
  }

  async function collect(): Promise<void> {
    const [tables, balances] = await Promise.allSettled([
      withTimeout("reading the pipeline tables", timeoutMs, readTables()),
      deps.admin ? withTimeout("reading the admin balances", timeoutMs, readBalances()) : Promise.resolve(null),
    ]);
    for (const g of [runs, needs, balance]) g.reset();
    for (const g of [lastSuccessDay, lastSuccessAt, spent, bought, funded]) g.set(Number.NaN);
    if (tables.status === "fulfilled") {
      const t = tables.value;
      up.set(1);
      for (const s of RUN_STATUSES) runs.set({ status: s }, 0);
      for (const r of t.byStatus) runs.set({ status: r.status }, Number(r.count));
      if (t.health.lastSuccess) {
        lastSuccessDay.set(utcDayWindow(t.health.lastSuccess.day).start.getTime() / 1000);
        lastSuccessAt.set(t.health.lastSuccess.at.getTime() / 1000);
      }
      spent.set(Number(t.totals.spent));
      bought.set(Number(t.totals.bought));
      funded.set(Number(t.totals.funded));
      needs.set({ asset: "sol" }, Number(deps.minSolLamports));
      needs.set({ asset: "usdc" }, Number(t.usdcNeed));
      needs.set({ asset: "kamiyo" }, Number(t.health.openKamiyoToFund));
    } else {
      up.set(0);
      log.warn({ reason: describeError(tables.reason) }, "metrics: cannot read the pipeline tables");
    }
    if (balances.status === "fulfilled" && balances.value !== null) {
      balanceUp.set(1);
      for (const [asset, v] of Object.entries(balances.value)) balance.set({ asset }, Number(v));
    } else {
      balanceUp.set(0);
      if (balances.status === "rejected") log.warn({ reason: describeError(balances.reason) }, "metrics: cannot read the admin balances");
    }
  }

  // One read per scrape, shared by every series that needs it: prom-client collects all metrics at once
  // (async collect hooks awaited together), so they join the read in flight.
  let pending: Promise<void> | null = null;
  async function collectOnce(): Promise<void> {
    pending ??= collect().finally(() => (pending = null));
    await pending;
  }

  return {
    async timeStep(step, fn) {
      const end = stepSeconds.startTimer({ step });
      try {
        const out = await fn();
        end({ outcome: "ok" });
        return out;
      } catch (err) {
        end({ outcome: "error" });
        throw err;
      }
    },
    countingAlerter(alerter) {
      return {
        async alert(text, fields = {}) {
          alerts.inc({ reason: typeof fields.reason === "string" ? fields.reason : "other" });
          await alerter.alert(text, fields);
        },
      };
    },
  };
}

/**
 * The worker's own HTTP surface when it runs alone: GET /health (200 while the BullMQ worker runs and Redis
 * answers, else 503 with the reason) and GET /metrics (the process's registry, kamiyo_pipeline_* included).
 */
export function createWorkerHttpApp(deps: { registry: Registry; health: () => Promise<{ ok: boolean; reason?: string }> }): Express {
  const app = express();
  app.disable("x-powered-by");
  app.get("/health", async (_req, res) => {
    const h = await deps.health().catch((err: unknown) => ({ ok: false, reason: describeError(err) }));
    res.status(h.ok ? 200 : 503).set("Cache-Control", "no-store").json(h.ok ? { status: "ok" } : { status: "unavailable", reason: h.reason });
  });
  app.get("/metrics", async (_req, res) => {
    const text = await deps.registry.metrics();
    res.set("Content-Type", deps.registry.contentType).set("Cache-Control", "no-store").send(text);
  });
  app.use((_req, res) => {
    res.status(404).json({ error: "not_found", message: "the worker serves /health and /metrics only" });
  });
  return app;
}

/** The worker's health: its BullMQ worker is running and the queue answers a read from Redis within `timeoutMs`. */
export async function workerHealth(runtime: { worker: Worker | null; queue: Queue } | null, timeoutMs = 2000): Promise<{ ok: boolean; reason?: string }> {
  if (runtime?.worker == null || !runtime.worker.isRunning()) return { ok: false, reason: "the pipeline worker is not running" };
  try {
    await withTimeout("reading the queue", timeoutMs, runtime.queue.getJobCounts("active"));
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: `Redis does not answer: ${describeError(err)}` };
  }
}

/** When the daily pipeline scheduler fires next (null when it is not set up, or Redis does not answer within `timeoutMs`). */
export async function nextScheduledRun(queue: Queue, timeoutMs = 2000): Promise<Date | null> {
  const scheduler = await withTimeout("reading the job scheduler", timeoutMs, queue.getJobScheduler(SCHEDULER.daily)).catch(() => undefined);
  return scheduler?.next === undefined ? null : new Date(scheduler.next);
}
