/**
 * The admin key signs only what it understands (issue 14): a Jupiter double turned hostile returns swap
 * instructions that drain the admin (extra USDC, a route that takes more than the allocation, its KAMIYO
 * account handed over, a spending approval, SOL through a program that is not allow-listed). Each is refused before anything is stored or sent, the run
 * fails and alerts, and no balance, delegate or owner of the admin changes.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AccountLayout } from "@solana/spl-token";
import { createAlerter } from "../../jobs/alerts.ts";
import { enqueueRun } from "../../jobs/queue.ts";
import { createJobsRuntime, type JobsRuntime } from "../../jobs/runtime.ts";
import type { DrainKind } from "../../localnet/jupiter-double.ts";
import { utcDayWindow } from "../../src/domain/utc-day.ts";
import { createLogger } from "../../src/log.ts";
import { now, REDIS_URL, startAlertSink, startHarness, YESTERDAY, type Harness } from "./harness.ts";
import { waitFor } from "../kit/wait-for.ts";

const logger = createLogger({ level: "silent" });

describe("a hostile Jupiter API", () => {
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

  const cases: [DrainKind, RegExp][] = [
    ["usdc", /refused to sign the swap: instruction \d+ is a SPL Token instruction/],
    // The aggregator's own instruction takes more than the allocation: only the simulation can tell.
    ["route", /refused to sign the swap: the admin's USDC would go down by 1300000, more than the allocation 300000/],
    ["authority", /refused to sign the swap: instruction \d+ is a Token-2022 instruction/],
    ["approve", /refused to sign the swap: instruction \d+ is a SPL Token instruction/],
    ["sol", /refused to sign the swap: instruction \d+ calls 11111111111111111111111111111111, which is not an allow-listed program/],
  ];

  it.each(cases)("draining with %s is refused, alerts and spends nothing", async (how, reason) => {
    const sink = await startAlertSink();
    try {
      await h.addRevenue(YESTERDAY, [1_000_000n]);
      h.net.jupiter!.drainNextSwaps(10, how);
      rt = await createJobsRuntime({
        db: h.schema.db,
        redisUrl: REDIS_URL,
        prefix: h.prefix,
        config: h.config,
        logger,
        pollMs: 20,
        resendMs: 200,
        now,
        alerter: createAlerter({ webhookUrl: sink.url, logger }),
      });
      const adminKamiyoAccount = h.adminKamiyo;
      const before = {
        sol: await h.connection.getBalance(h.admin),
        usdc: await h.tokenBalance(h.adminUsdc),
        usdcAccount: (await h.connection.getAccountInfo(h.adminUsdc))!.data,
        kamiyoAccount: (await h.connection.getAccountInfo(adminKamiyoAccount))?.data ?? null,
        transactions: h.net.chain.transactionCount(),
      };
      await rt.store.ensureRuns([{ day: YESTERDAY, ...utcDayWindow(YESTERDAY) }]);
      const run = (await rt.store.getRunByDate(YESTERDAY))!;
      await enqueueRun(rt.queue, run.id, { attempts: 1 });
      await waitFor("run failed", async () => (await rt!.store.getRun(run.id))!.status === "failed", { timeoutMs: 30_000 });

      const failed = (await rt.store.getRun(run.id))!;
      expect(failed.failed_from).toBe("allocated");
      expect(failed.error).toMatch(reason);
      await waitFor("alert", async () => sink.bodies.length === 1, { timeoutMs: 30_000 });
      expect((sink.bodies[0] as { text: string }).text).toMatch(/refused to sign the swap/);
      // Nothing stored, nothing sent, nothing changed on the admin's accounts.
      expect(await rt.store.listTxs(run.id)).toEqual([]);
      expect(h.net.chain.transactionCount()).toBe(before.transactions);
      expect(await h.connection.getBalance(h.admin)).toBe(before.sol);
      expect(await h.tokenBalance(h.adminUsdc)).toBe(before.usdc);
      const usdcAfter = (await h.connection.getAccountInfo(h.adminUsdc))!.data;
      expect(AccountLayout.decode(usdcAfter).delegateOption).toBe(AccountLayout.decode(before.usdcAccount).delegateOption);
      expect((await h.connection.getAccountInfo(adminKamiyoAccount))?.data ?? null).toEqual(before.kamiyoAccount);
      expect(h.net.jupiter!.stats().swaps).toBe(1);
    } finally {
      await sink.close();
    }
  });
});
