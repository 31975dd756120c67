/**
 * The pipeline against the local chain, Postgres and Redis, in process: a full day, zero revenue, a
 * slippage failure retried with a fresh quote, resend-versus-re-sign around blockhash expiry, a failed run
 * that alerts without retrying, and the APY snapshot.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { TOKEN_PROGRAM_ID } from "@solana/spl-token";
import { Keypair, VersionedTransaction } from "@solana/web3.js";
import { QueueEvents } from "bullmq";
import { createAlerter } from "../../jobs/alerts.ts";
import { snapshotApy } from "../../jobs/apy.ts";
import { inspect } from "../../jobs/steps/money-step.ts";
import { createRedis, enqueueRun } from "../../jobs/queue.ts";
import { createJobsRuntime, type JobsRuntime, type JobsRuntimeDeps } from "../../jobs/runtime.ts";
import { tick } from "../../jobs/scheduler.ts";
import { allocationOf, impliedApy } from "../../src/domain/allocation.ts";
import { addUtcDays, utcDayWindow } from "../../src/domain/utc-day.ts";
import { createLogger } from "../../src/log.ts";
import { now, PRICE, REDIS_URL, startAlertSink, startHarness, YESTERDAY, type Harness } from "./harness.ts";
import { waitFor } from "../kit/wait-for.ts";

const logger = createLogger({ level: "silent" });

async function runtimeFor(h: Harness, extra: Partial<JobsRuntimeDeps> = {}): Promise<JobsRuntime> {
  return createJobsRuntime({
    db: h.schema.db,
    redisUrl: REDIS_URL,
    prefix: h.prefix,
    config: h.config,
    logger,
    pollMs: 20,
    resendMs: 200,
    lockDurationMs: 5_000,
    stalledIntervalMs: 2_000,
    now,
    ...extra,
  });
}

describe("the revenue pipeline", () => {
  let h: Harness;
  let rt: JobsRuntime | undefined;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await rt?.close(5_000);
    rt = undefined;
    await h.close();
  });

  it("turns a day of revenue into KAMIYO in the reward vault, from the transaction's balance changes", async () => {
    await h.addRevenue(YESTERDAY, [100_000n, 90_000n, 100_001n]);
    await h.addRevenue(addUtcDays(YESTERDAY, 1), [5_000_000n]); // today: not yet closed, not counted
    rt = await runtimeFor(h, { startWorker: false });
    const usdcBefore = await h.tokenBalance(h.adminUsdc);
    await tick({ store: rt.store, queue: rt.queue, logger, now });
    const run = (await rt.store.getRunByDate(YESTERDAY))!;
    expect(await rt.pipeline.processRun(run.id)).toBe("done");

    const done = (await rt.store.getRun(run.id))!;
    const revenue = 290_001n;
    const allocation = allocationOf(revenue, 3000);
    expect(allocation).toBe(87_000n); // floor(87000.3)
    expect(done.revenue_micro_usdc).toBe(revenue);
    expect(done.allocation_micro_usdc).toBe(allocation);
    expect(done.usdc_spent).toBe(allocation);
    const bought = (allocation * 10n ** 9n) / PRICE;
    expect(done.kamiyo_bought).toBe(bought);
    expect(done.kamiyo_funded).toBe(bought);
    expect(await h.tokenBalance(h.rewardVault)).toBe(bought);
    expect(await h.tokenBalance(h.adminUsdc)).toBe(usdcBefore - allocation);
    expect(await h.tokenBalance(h.adminKamiyo)).toBe(0n);

    const buyback = await h.schema.db.selectFrom("kamiyo_buybacks").selectAll().executeTakeFirstOrThrow();
    expect(buyback).toMatchObject({ usdc_amount: allocation, kamiyo_amount: bought, average_price_micro_usdc: PRICE, quoted_out_amount: bought, dex: "jupiter" });
    const funding = await h.schema.db.selectFrom("staking_pool_fundings").selectAll().executeTakeFirstOrThrow();
    expect(funding).toMatchObject({ kamiyo_amount: bought, vault_address: h.rewardVault.toBase58() });
    const alloc = await h.schema.db.selectFrom("staking_revenue_allocations").selectAll().executeTakeFirstOrThrow();
    expect(alloc).toMatchObject({ revenue_usdc: revenue, allocation_usdc: allocation, allocation_bps: 3000, request_count: 3n, tx_hash: funding.tx_hash });
    expect(alloc.processed_at).toBeInstanceOf(Date);
    expect((await h.landed(h.liquidityUsdc)).ok).toContain(buyback.tx_hash);
    expect((await h.landed(h.rewardVault)).ok).toEqual([funding.tx_hash]);

    // Another delivery of the same run spends nothing.
    expect(await rt.pipeline.processRun(run.id)).toBe("done");
    expect((await h.landed(h.rewardVault)).ok).toHaveLength(1);
  });

  it("gives two days with equal revenue their own swap and funding", async () => {
    const before = addUtcDays(YESTERDAY, -1);
    await h.addRevenue(before, [1_000_000n]);
    await h.addRevenue(YESTERDAY, [1_000_000n]);
    rt = await runtimeFor(h, { startWorker: false });
    await tick({ store: rt.store, queue: rt.queue, logger, now });
    for (const day of [before, YESTERDAY]) expect(await rt.pipeline.processRun((await rt.store.getRunByDate(day))!.id)).toBe("done");
    expect((await h.landed(h.liquidityUsdc)).ok).toHaveLength(2);
    expect((await h.landed(h.rewardVault)).ok).toHaveLength(2);
    expect(await h.tokenBalance(h.rewardVault)).toBe(2n * ((300_000n * 10n ** 9n) / PRICE));
  });

  it("skips a day without revenue and freezes the allocation once computed", async () => {
    rt = await runtimeFor(h, { startWorker: false });
    await tick({ store: rt.store, queue: rt.queue, logger, now });
    const run = (await rt.store.getRunByDate(YESTERDAY))!;
    expect(await rt.pipeline.processRun(run.id)).toBe("skipped");
    // A late row changes nothing: the allocation was frozen.
    await h.addRevenue(YESTERDAY, [1_000_000n]);
    expect(await rt.pipeline.processRun(run.id)).toBe("skipped");
    expect((await rt.store.getRun(run.id))!.allocation_micro_usdc).toBe(0n);
    expect(h.net.jupiter!.stats().quotes).toBe(0);
  });

  it("retries a swap that failed on slippage with a fresh quote", async () => {
    await h.addRevenue(YESTERDAY, [1_000_000n]);
    h.net.jupiter!.failNextSwaps(1);
    rt = await runtimeFor(h);
    await rt.store.ensureRuns([{ day: YESTERDAY, ...utcDayWindow(YESTERDAY) }]);
    const run = (await rt.store.getRunByDate(YESTERDAY))!;
    await enqueueRun(rt.queue, run.id, { attempts: 3, backoff: { type: "fixed", delay: 100 } });
    await waitFor("run done", async () => (await rt!.store.getRun(run.id))!.status === "done", { timeoutMs: 30_000 });

    expect(h.net.jupiter!.stats()).toEqual({ quotes: 2, swaps: 2, failedSwaps: 1 });
    const txs = await rt.store.listTxs(run.id);
    const swaps = txs.filter((t) => t.purpose === "swap");
    // The short swap failed its simulation (issue 14: every swap is simulated and checked before it is
    // stored or sent), so it was never stored, sent or paid for; the second one bought at the quoted price.
    expect(swaps.map((t) => t.status)).toEqual(["landed"]);
    const landed = await h.landed(h.liquidityUsdc);
    expect(landed.failed).toEqual([]);
    expect(landed.ok).toContain(swaps[0]!.signature);
    const allocation = 300_000n;
    expect((await rt.store.getRun(run.id))!.usdc_spent).toBe(allocation);
    expect(await h.tokenBalance(h.rewardVault)).toBe((allocation * 10n ** 9n) / PRICE);
  });

  it("fails the run and alerts once its retries are used up", async () => {
    const sink = await startAlertSink();
    try {
      await h.addRevenue(YESTERDAY, [1_000_000n]);
      h.net.jupiter!.failNextSwaps(2);
      rt = await runtimeFor(h, { alerter: createAlerter({ webhookUrl: sink.url, logger }) });
      await rt.store.ensureRuns([{ day: YESTERDAY, ...utcDayWindow(YESTERDAY) }]);
      const run = (await rt.store.getRunByDate(YESTERDAY))!;
      await enqueueRun(rt.queue, run.id, { attempts: 2, backoff: { type: "fixed", delay: 100 } });
      await waitFor("run failed", async () => (await rt!.store.getRun(run.id))!.status === "failed", { timeoutMs: 30_000 });
      expect((await rt.store.getRun(run.id))!).toMatchObject({ failed_from: "allocated" });
      expect((await rt.store.getRun(run.id))!.error).toMatch(/exceeded its slippage tolerance/);
      expect(h.net.jupiter!.stats()).toMatchObject({ quotes: 2, swaps: 2, failedSwaps: 2 });
      await waitFor("alert", async () => sink.bodies.length === 1, { timeoutMs: 30_000 });
      expect((sink.bodies[0] as { text: string }).text).toMatch(new RegExp(`run ${YESTERDAY} failed at allocated`));
      expect(await h.tokenBalance(h.rewardVault)).toBe(0n);
    } finally {
      await sink.close();
    }
  });

  it("fails a run without retrying when the admin lacks USDC, and alerts", async () => {
    const sink = await startAlertSink();
    try {
      await h.addRevenue(YESTERDAY, [1_000_000n]);
      h.setAdminUsdc(1_000n);
      rt = await runtimeFor(h, { alerter: createAlerter({ webhookUrl: sink.url, logger }) });
      const eventsRedis = createRedis(REDIS_URL);
      const events = new QueueEvents(rt.queue.name, { connection: eventsRedis, prefix: h.prefix });
      try {
        await events.waitUntilReady();
        const failed = new Promise<string>((resolve) => events.on("failed", ({ jobId }) => resolve(jobId)));
        await tick({ store: rt.store, queue: rt.queue, logger, now });
        const jobId = await failed;
        const job = (await rt.queue.getJob(jobId))!;
        expect(job.attemptsMade).toBe(1); // no retries
        expect(job.failedReason).toMatch(/insufficient_usdc/);
      } finally {
        await events.close();
        eventsRedis.disconnect();
      }
      const run = (await rt.store.getRunByDate(YESTERDAY))!;
      expect(run).toMatchObject({ status: "failed", failed_from: "allocated" });
      expect(run.error).toMatch(/insufficient_usdc/);
      await waitFor("alert", async () => sink.bodies.length > 0, { timeoutMs: 30_000 });
      expect(sink.bodies).toHaveLength(1);
      const body = sink.bodies[0] as { text: string; content: string };
      expect(body.text).toMatch(new RegExp(`run ${YESTERDAY} failed at allocated: insufficient_usdc`));
      expect(body.content).toBe(body.text);
      expect(h.net.jupiter!.stats().swaps).toBe(0);
      expect(await rt.store.listTxs(run.id)).toEqual([]);

      // Topped up, the operator's retry resumes the run where it stopped.
      h.setAdminUsdc(10_000_000n);
      const job = (await rt.queue.getJob(`run-${run.id}`))!;
      await job.retry("failed");
      await waitFor("run done", async () => (await rt!.store.getRun(run.id))!.status === "done", { timeoutMs: 30_000 });
      expect(await h.tokenBalance(h.rewardVault)).toBe((300_000n * 10n ** 9n) / PRICE);
    } finally {
      await sink.close();
    }
  });

  it("fails a run without retrying when the admin cannot pay fees", async () => {
    await h.addRevenue(YESTERDAY, [1_000_000n]);
    h.net.chain.setAccount(h.admin.toBase58(), { lamports: 1_000_000n });
    rt = await runtimeFor(h);
    await tick({ store: rt.store, queue: rt.queue, logger, now });
    const run = (await rt.store.getRunByDate(YESTERDAY))!;
    await waitFor("run failed", async () => (await rt!.store.getRun(run.id))!.status === "failed", { timeoutMs: 30_000 });
    expect((await rt.store.getRun(run.id))!.error).toMatch(/^insufficient_sol: admin wallet holds 1000000 lamports/);
    await waitFor("job failed", async () => (await (await rt!.queue.getJob(`run-${run.id}`))!.getState()) === "failed", { timeoutMs: 30_000 });
    expect((await rt.queue.getJob(`run-${run.id}`))!.attemptsMade).toBe(1);
    expect(h.net.jupiter!.stats().quotes).toBe(0);
  });

  it("fails a run at funding when fund_pool is rejected, after the buyback it recorded", async () => {
    // A wallet that holds USDC but is not the pool's admin: the swap works, fund_pool is Unauthorized (6007).
    const outsider = Keypair.fromSecretKey(Uint8Array.from(JSON.parse(await readFile(join(h.net.seed!.walletsDir, "payTo.json"), "utf8")) as number[]));
    h.net.chain.setTokenAccount(outsider.publicKey.toBase58(), h.net.seed!.usdcMint, { amount: 10_000_000n }, TOKEN_PROGRAM_ID.toBase58());
    await h.addRevenue(YESTERDAY, [1_000_000n]);
    const sink = await startAlertSink();
    try {
      rt = await runtimeFor(h, { admin: outsider, alerter: createAlerter({ webhookUrl: sink.url, logger }) });
      await tick({ store: rt.store, queue: rt.queue, logger, now });
      const run = (await rt.store.getRunByDate(YESTERDAY))!;
      await waitFor("run failed", async () => (await rt!.store.getRun(run.id))!.status === "failed", { timeoutMs: 30_000 });
      const failed = (await rt.store.getRun(run.id))!;
      expect(failed).toMatchObject({ failed_from: "swapped", usdc_spent: 300_000n });
      expect(failed.error).toMatch(/^rejected_instruction: fund_pool\(\d+\) is rejected: \{"InstructionError":\[0,\{"Custom":6007\}\]\}/);
      // Rejected in simulation: nothing was stored, sent or paid for the funding.
      expect((await rt.store.listTxs(run.id)).map((t) => t.purpose)).toEqual(["swap"]);
      expect((await h.landed(h.rewardVault)).ok).toHaveLength(0);
      await waitFor("alert", async () => sink.bodies.length === 1, { timeoutMs: 30_000 });
      expect((sink.bodies[0] as { text: string }).text).toMatch(/failed at swapped: rejected_instruction/);
    } finally {
      await sink.close();
    }
  });

  it("resends the stored bytes while the blockhash is valid", async () => {
    await h.addRevenue(YESTERDAY, [1_000_000n]);
    let crash = true;
    rt = await runtimeFor(h, {
      startWorker: false,
      boundary: (name) => {
        if (name === "swap.beforeSend" && crash) throw new Error("simulated crash before send");
      },
    });
    await tick({ store: rt.store, queue: rt.queue, logger, now });
    const run = (await rt.store.getRunByDate(YESTERDAY))!;
    await expect(rt.pipeline.processRun(run.id)).rejects.toThrow(/simulated crash/);
    const [stored] = await rt.store.listTxs(run.id);
    expect(stored).toMatchObject({ purpose: "swap", status: "pending" });
    expect(await inspect(rt.chain, stored!)).toBeNull(); // not landed, still valid

    crash = false;
    expect(await rt.pipeline.processRun(run.id)).toBe("done");
    const swaps = (await rt.store.listTxs(run.id)).filter((t) => t.purpose === "swap");
    expect(swaps.map((t) => [t.signature, t.status])).toEqual([[stored!.signature, "landed"]]);
    expect(h.net.jupiter!.stats().swaps).toBe(1);
  });

  it("signs anew only after the stored transaction's blockhash has expired", async () => {
    await h.close();
    h = await startHarness({ blockhashValidity: 20 });
    await h.addRevenue(YESTERDAY, [1_000_000n]);
    let crash = true;
    rt = await runtimeFor(h, {
      startWorker: false,
      boundary: (name) => {
        if (name === "swap.beforeSend" && crash) throw new Error("simulated crash before send");
      },
    });
    await tick({ store: rt.store, queue: rt.queue, logger, now });
    const run = (await rt.store.getRunByDate(YESTERDAY))!;
    await expect(rt.pipeline.processRun(run.id)).rejects.toThrow(/simulated crash/);
    const [stored] = await rt.store.listTxs(run.id);
    expect(await inspect(rt.chain, stored!)).toBeNull();
    await waitFor("expiry", async () => BigInt(await h.connection.getBlockHeight("finalized")) > stored!.last_valid_block_height, { timeoutMs: 10_000 });
    expect(await inspect(rt.chain, stored!)).toEqual({ kind: "expired" });

    crash = false;
    expect(await rt.pipeline.processRun(run.id)).toBe("done");
    const swaps = (await rt.store.listTxs(run.id)).filter((t) => t.purpose === "swap");
    expect(swaps.map((t) => t.status)).toEqual(["expired", "landed"]);
    expect(swaps[1]!.signature).not.toBe(stored!.signature);
    // The old bytes can no longer land.
    await h.connection.sendRawTransaction(stored!.raw, { skipPreflight: true });
    expect((await h.connection.getSignatureStatuses([stored!.signature], { searchTransactionHistory: true })).value[0]).toBeNull();
    expect((await h.landed(h.liquidityUsdc)).ok).toEqual([swaps[1]!.signature]);
    expect(h.net.jupiter!.stats().quotes).toBe(2);
    expect(VersionedTransaction.deserialize(swaps[1]!.raw).message.recentBlockhash).not.toBe(stored!.blockhash);
  });

  it("records an APY snapshot from the pool, the vault, the month's revenue and the latest buyback price", async () => {
    await h.addRevenue(YESTERDAY, [2_000_000n]);
    await h.addRevenue(addUtcDays(YESTERDAY, -3), [1_000_000n]);
    rt = await runtimeFor(h, { startWorker: false });
    await tick({ store: rt.store, queue: rt.queue, logger, now });
    for (const r of await rt.store.openRuns()) await rt.pipeline.processRun(r.id);
    const row = await snapshotApy({ store: rt.store, chain: rt.chain, programId: h.config.solana.programId, kamiyoMint: h.config.solana.kamiyoMint, allocationBps: 3000, logger, now });
    const totalStaked = h.net.seed!.wallets.reduce((s, w) => s + w.staked, 0n);
    const expected = impliedApy({ windowRevenueMicroUsdc: 3_000_000n, allocationBps: 3000, priceUsdcSpent: 600_000n, priceKamiyoBought: (600_000n * 10n ** 9n) / PRICE, totalStaked });
    expect(row).toMatchObject({
      total_staked: totalStaked,
      total_stakers: 5n,
      monthly_revenue_usdc: 3_000_000n,
      kamiyo_price_micro_usdc: PRICE,
      pool_balance: (900_000n * 10n ** 9n) / PRICE,
      calculated_apy_bps: expected.apyBps,
      reward_rate_per_second: expected.rewardRatePerSecond,
    });
    const stored = await h.schema.db.selectFrom("staking_apy_history").selectAll().execute();
    expect(stored).toHaveLength(1);
  });

  it("treats a job without a valid run id as unrecoverable", async () => {
    rt = await runtimeFor(h);
    const eventsRedis = createRedis(REDIS_URL);
    const events = new QueueEvents(rt.queue.name, { connection: eventsRedis, prefix: h.prefix });
    try {
      await events.waitUntilReady();
      const failed = new Promise<{ jobId: string; failedReason: string }>((resolve) => events.on("failed", (e) => resolve(e)));
      await rt.queue.add("run", { runId: "1", amount: "999999" }, { attempts: 5 });
      const e = await failed;
      expect(e.failedReason).toMatch(/no valid run id/);
      expect((await rt.queue.getJob(e.jobId))!.attemptsMade).toBe(1);
    } finally {
      await events.close();
      eventsRedis.disconnect();
    }
  });
});
