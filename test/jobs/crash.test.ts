/**
 * Crash test: for every step boundary of both money steps (before send, after send before record, after
 * confirm before record), a worker process exits right there; a new worker process picks the stalled job
 * up and finishes the run. Across all of them exactly one swap and one funding per day land on the local
 * chain, and the ledger matches the chain.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Boundary } from "../../jobs/pipeline.ts";
import { createPipelineQueue, createRedis, enqueueRun } from "../../jobs/queue.ts";
import { createRunStore } from "../../jobs/runs.ts";
import { addUtcDays, utcDayWindow } from "../../src/domain/utc-day.ts";
import { PRICE, REDIS_URL, startHarness, TEST_NOW, YESTERDAY, type Harness } from "./harness.ts";
import { waitFor } from "../kit/wait-for.ts";

const CHILD = fileURLToPath(new URL("./fixtures/worker-child.ts", import.meta.url));
const CRASH_EXIT_CODE = 75;
const BOUNDARIES: readonly [Boundary, string][] = [
  ["swap.beforeSend", "swap_signed"],
  ["swap.afterSend", "swap_signed"],
  ["swap.afterConfirm", "swap_signed"],
  ["fund.beforeSend", "fund_signed"],
  ["fund.afterSend", "fund_signed"],
  ["fund.afterConfirm", "fund_signed"],
];

interface Child {
  proc: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}

function spawnWorker(h: Harness, crashAt?: Boundary): Promise<Child> {
  const proc = spawn(process.execPath, [CHILD], {
    env: { ...process.env, ...h.env, TEST_SCHEMA: h.schema.schema, QUEUE_PREFIX: h.prefix, TEST_NOW: TEST_NOW.toISOString(), ...(crashAt ? { CRASH_AT: crashAt } : {}) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start: ${out}`)), 30_000);
    proc.stdout!.on("data", () => {
      if (out.includes("ready\n")) {
        clearTimeout(timer);
        resolve({ proc, exited, output: () => out });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      if (!out.includes("ready\n")) reject(new Error(`worker exited (${code}) before it was ready: ${out}`));
    });
  });
}

async function stop(child: Child): Promise<void> {
  if (child.proc.exitCode !== null) return;
  child.proc.kill("SIGTERM");
  const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 10_000));
  if ((await Promise.race([child.exited, timeout])) === "timeout") {
    child.proc.kill("SIGKILL");
    await child.exited;
  }
}

describe("a worker killed at every step boundary", () => {
  let h: Harness;
  const children: Child[] = [];
  const days = BOUNDARIES.map((_, i) => addUtcDays(YESTERDAY, i - BOUNDARIES.length + 1));

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    for (const c of children) await stop(c);
    await h?.close();
  });

  it("lands exactly one swap and one funding per day, and the ledger matches the chain", { timeout: 240_000 }, async () => {
    const store = createRunStore(h.schema.db);
    const redis = createRedis(REDIS_URL);
    const queue = createPipelineQueue(redis, h.prefix);
    try {
      const revenue = new Map<string, bigint>();
      for (const [i, day] of days.entries()) {
        const amounts = [1_000_000n + BigInt(i) * 137_777n, 250_003n];
        revenue.set(day, amounts.reduce((a, b) => a + b, 0n));
        await h.addRevenue(day, amounts);
      }
      await store.ensureRuns(days.map((day) => ({ day, ...utcDayWindow(day) })));
      const usdcBefore = await h.tokenBalance(h.adminUsdc);

      for (const [i, [boundary, statusAtCrash]] of BOUNDARIES.entries()) {
        const run = (await store.getRunByDate(days[i]!))!;
        const doomed = await spawnWorker(h, boundary);
        children.push(doomed);
        await enqueueRun(queue, run.id, { attempts: 5, backoff: { type: "fixed", delay: 200 } });
        expect(await doomed.exited, doomed.output()).toBe(CRASH_EXIT_CODE);
        expect(doomed.output()).toContain(`crash at ${boundary}`);
        expect((await store.getRun(run.id))!.status).toBe(statusAtCrash);

        const rescuer = await spawnWorker(h);
        children.push(rescuer);
        await waitFor(`run ${days[i]} done after a crash at ${boundary}`, async () => (await store.getRun(run.id))!.status === "done", { timeoutMs: 60_000 });
        await stop(rescuer);
      }

      // The chain: one successful swap per day into the liquidity account, one funding per day into the vault.
      const swaps = await h.landed(h.liquidityUsdc);
      const fundings = await h.landed(h.rewardVault);
      expect(swaps.ok).toHaveLength(days.length);
      expect(swaps.failed).toHaveLength(0);
      expect(fundings.ok).toHaveLength(days.length);
      expect(fundings.failed).toHaveLength(0);

      // The ledger: the same signatures, and amounts equal to the chain's balances.
      const buybacks = await h.schema.db.selectFrom("kamiyo_buybacks").selectAll().orderBy("run_id").execute();
      const funded = await h.schema.db.selectFrom("staking_pool_fundings").selectAll().orderBy("run_id").execute();
      expect(new Set(buybacks.map((b) => b.tx_hash))).toEqual(new Set(swaps.ok));
      expect(new Set(funded.map((f) => f.tx_hash))).toEqual(new Set(fundings.ok));
      let spent = 0n;
      let bought = 0n;
      for (const [i, day] of days.entries()) {
        const run = (await store.getRunByDate(day))!;
        const allocation = (revenue.get(day)! * 3000n) / 10_000n;
        const expectedKamiyo = (allocation * 10n ** 9n) / PRICE;
        expect(run, `day ${i}`).toMatchObject({ status: "done", allocation_micro_usdc: allocation, usdc_spent: allocation, kamiyo_bought: expectedKamiyo, kamiyo_funded: expectedKamiyo });
        const txs = await store.listTxs(run.id);
        // Each boundary's crash left one stored transaction per step that was later recorded, never re-signed.
        expect(txs.map((t) => [t.purpose, t.status])).toEqual([
          ["swap", "landed"],
          ["fund", "landed"],
        ]);
        spent += allocation;
        bought += expectedKamiyo;
      }
      expect(buybacks.reduce((s, b) => s + b.usdc_amount, 0n)).toBe(spent);
      expect(funded.reduce((s, f) => s + f.kamiyo_amount, 0n)).toBe(bought);
      expect(await h.tokenBalance(h.rewardVault)).toBe(bought);
      expect(await h.tokenBalance(h.adminUsdc)).toBe(usdcBefore - spent);
      expect(await h.tokenBalance(h.adminKamiyo)).toBe(0n);
    } finally {
      await queue.close();
      redis.disconnect();
    }
  });
});
