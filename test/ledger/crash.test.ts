/**
 * Crash test of the revenue ledger: the API process is SIGKILLed at every settlement boundary (after the
 * reservation, after the settlement transaction is sent, after it lands, before the completion is written), and
 * its Postgres is cut during settlement (with a reservation, and before any reservation) and the process then
 * killed with the unwritten completion in its memory. After a restart and one reconciliation, x402_usage holds
 * exactly one settled row per payment that reached payTo, their sum equals payTo's on-chain increase to the
 * micro-USDC, and the day's allocation equals 30 % of it (floored), reconciled through a recorded slot.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLedgerGate } from "../../jobs/ledger/gate.ts";
import { createRunStore } from "../../jobs/runs.ts";
import { createAllocateStep } from "../../jobs/steps/allocate.ts";
import { utcDayOf, utcDayWindow } from "../../src/domain/utc-day.ts";
import { createLogger } from "../../src/log.ts";
import { testConfig } from "../api/harness.ts";
import { TEST_DATABASE_URL, withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { startTestLocalnet, type SeededTestLocalnet } from "../kit/localnet.ts";
import { createStakeSeeder } from "../kit/stakes.ts";
import { chainIncreases, killApi, payingFetch, payToBalance, spawnApi, testReconciler, type ApiChild } from "./helpers.ts";

const PRICE = 100_000n;

describe("the API killed at every settlement boundary, and its database cut during settlement", () => {
  let chain: SeededTestLocalnet;
  let schema: FreshSchema;
  let env: Record<string, string>;
  const children: ApiChild[] = [];
  let startSlot: bigint;
  let balanceBefore: bigint;
  const outcomes: Record<string, number | string> = {};

  beforeAll(async () => {
    chain = await startTestLocalnet({ slotMs: 100, logger: createLogger({ level: "silent" }) });
    schema = await withFreshSchema();
    env = {
      SOLANA_RPC_URL: chain.httpUrl,
      SOLANA_WS_URL: chain.wsUrl,
      X402_FACILITATOR_KEYPAIR: join(chain.seed.walletsDir, "facilitator.json"),
      TEST_DATABASE_URL,
      TEST_SCHEMA: schema.schema,
    };
    const config = testConfig(env);
    const seeder = createStakeSeeder({ db: schema.db, programId: chain.seed.programId, tiers: config.tiers });
    await seeder.put(...chain.seed.wallets.filter((w) => w.staked > 0n).map((w) => ({ owner: w.address, pool: chain.seed.pool, staked: w.staked, slot: 10n })));
  }, 120_000);

  afterAll(async () => {
    for (const c of children) await killApi(c);
    await schema?.close();
    await chain?.close();
  });

  const pay = async (child: ApiChild, wallet: string, hint = false): Promise<number | string> => {
    const config = testConfig(env);
    const f = await payingFetch(chain.seed, config, chain.httpUrl, wallet);
    const w = chain.seed.wallets.find((x) => x.name === wallet)!;
    try {
      const res = await f(`${child.url}/api/premium`, hint ? { headers: { "x-wallet-address": w.address } } : {});
      await res.body?.cancel();
      return res.status;
    } catch (err) {
      return `no answer (${(err as Error).message})`;
    }
  };

  it("loses nothing and counts nothing twice", async () => {
    const config = testConfig(env);
    startSlot = BigInt(await chain.call<number>("getSlot", [{ commitment: "finalized" }]));
    balanceBefore = await payToBalance(chain.httpUrl, config);

    for (const [boundary, wallet, hint] of [
      ["reserved", "silver", false],
      ["sent", "gold", true],
      ["landed", "platinum", true],
      ["beforeComplete", "nonstaker", false],
    ] as const) {
      const child = await spawnApi({ ...env, CRASH_AT: boundary });
      children.push(child);
      outcomes[boundary] = await pay(child, wallet, hint);
      process.stderr.write(`[crash test] ${boundary}: ${outcomes[boundary]}\n`);
      const { signal } = await child.exited;
      expect(signal, `${boundary}: ${child.output()}`).toBe("SIGKILL");
      expect(child.output()).toContain(`crash at ${boundary}`);
    }
    for (const cut of ["settle", "verify"] as const) {
      const child = await spawnApi({ ...env, DB_CUT: cut });
      children.push(child);
      // The paid content is served (the payment settled), with its row unwritten; the process is then killed.
      outcomes[`db cut at ${cut}`] = await pay(child, cut === "settle" ? "small" : "cooldown");
      process.stderr.write(`[crash test] cut ${cut}: ${outcomes[`db cut at ${cut}`]} ${child.output()}\n`);
      expect(outcomes[`db cut at ${cut}`]).toBe(200);
      await killApi(child);
    }

    const restarted = await spawnApi(env);
    children.push(restarted);
    outcomes.restarted = await pay(restarted, "gold", true);
    expect(outcomes.restarted).toBe(200);

    // Blockhashes of the payment that was reserved but never sent expire.
    const slot = BigInt(await chain.call<number>("getSlot", [{ commitment: "processed" }]));
    chain.chain.timeTravel({ absoluteSlot: slot + 400n });

    const reconciler = testReconciler(schema.db, config, chain.httpUrl);
    const report = await reconciler.reconcile();
    // sent, landed, beforeComplete and the cut during settle were reservations completed from the chain; the cut
    // before verification had no row and was inserted; the reservation never sent was released.
    expect({ completed: report.completed, inserted: report.inserted, released: report.released }).toEqual({ completed: 4, inserted: 1, released: 1 });

    const onChain = await chainIncreases(chain.httpUrl, config, startSlot);
    const rows = await schema.db.selectFrom("x402_usage").selectAll().orderBy("id").execute();
    expect(rows.every((r) => r.settlement_signature !== null)).toBe(true);
    expect(rows.map((r) => r.settlement_signature).sort()).toEqual([...onChain.keys()].sort());
    for (const r of rows) expect(BigInt(r.amount_charged)).toBe(onChain.get(r.settlement_signature!));
    const sum = rows.reduce((s, r) => s + BigInt(r.amount_charged), 0n);
    const increase = (await payToBalance(chain.httpUrl, config)) - balanceBefore;
    expect(sum).toBe(increase);
    expect(rows).toHaveLength(6);
    // The payment settled with no reservation is recovered with its tier derived from the route's price.
    expect(rows.filter((r) => r.source !== "paywall").map((r) => [r.source, BigInt(r.amount_charged), r.discount_tier])).toEqual([["recovered_derived", PRICE, null]]);

    const again = await reconciler.reconcile();
    expect({ completed: again.completed, inserted: again.inserted, released: again.released, unexplained: again.unexplained }).toEqual({ completed: 0, inserted: 0, released: 0, unexplained: 0 });

    // The day's run: allocated only through a reconciliation that reaches past the window's end.
    const day = utcDayOf(rows[0]!.created_at);
    const window = utcDayWindow(day);
    const store = createRunStore(schema.db);
    await store.ensureRuns([{ day, ...window }]);
    const run = (await store.getRunByDate(day))!;
    const allocate = createAllocateStep({
      store,
      allocationBps: config.jobs.allocationBps,
      now: () => new Date(window.end.getTime() + 3_600_000),
      logger: createLogger({ level: "silent" }),
      ledgerGate: createLedgerGate({ db: schema.db, reconciler }),
    });
    await expect(allocate(run)).rejects.toThrow(/before the end of/);
    chain.chain.timeTravel({ absoluteTimestamp: BigInt(window.end.getTime() + 60_000) });
    chain.chain.advanceSlots(2);
    await allocate(run);
    const allocated = (await store.getRun(run.id))!;
    expect(allocated.status).toBe("allocated");
    expect(allocated.revenue_micro_usdc).toBe(increase);
    expect(allocated.allocation_micro_usdc).toBe((increase * 3000n) / 10_000n);
    const recorded = await schema.db.selectFrom("pipeline_runs").select("ledger_reconciled_slot").where("id", "=", run.id).executeTakeFirstOrThrow();
    expect(BigInt(recorded.ledger_reconciled_slot ?? 0n)).toBeGreaterThan(startSlot);
    console.info(
      `ledger crash test: outcomes ${JSON.stringify(outcomes)}; repaired completed=${report.completed} inserted=${report.inserted} released=${report.released}; ` +
        `rows ${rows.length}, sum ${sum} = payTo increase ${increase} micro-USDC; allocation ${allocated.allocation_micro_usdc} reconciled through slot ${recorded.ledger_reconciled_slot}`,
    );
  }, 300_000);
});
