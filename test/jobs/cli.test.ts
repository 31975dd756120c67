/** `kamiyo-stake worker`, `jobs run --date` and `jobs status` against the local chain, Postgres and Redis. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../../cli/run.ts";
import { addUtcDays, lastClosedUtcDay } from "../../src/domain/utc-day.ts";
import { createRunStore } from "../../jobs/runs.ts";
import { startHarness, type Harness } from "./harness.ts";
import { waitFor } from "../kit/wait-for.ts";

const YESTERDAY = lastClosedUtcDay(new Date());

function io(env: Record<string, string>, signal?: AbortSignal) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) }, env, ...(signal ? { signal } : {}) },
  };
}

describe("the jobs CLI", () => {
  let h: Harness;
  let env: Record<string, string>;
  beforeEach(async () => {
    h = await startHarness();
    env = {
      ...h.env,
      DATABASE_URL: `${h.schema.url}?options=${encodeURIComponent(`-c search_path=${h.schema.schema}`)}`,
      JOBS_QUEUE_PREFIX: h.prefix,
    };
  });
  afterEach(async () => {
    await h.close();
  });

  it("refuses bad invocations", async () => {
    for (const argv of [["jobs"], ["jobs", "rerun"], ["jobs", "run"], ["jobs", "run", "--date", "2026-02-30"], ["jobs", "run", "--date", addUtcDays(YESTERDAY, 1)], ["jobs", "status", "--limit", "0"]]) {
      const c = io(env);
      expect(await runCli(argv, c.io), argv.join(" ")).toBe(2);
      expect(c.err.join("")).toMatch(/^kamiyo-stake: jobs: /);
    }
  });

  it("runs a day through the worker command and lists it", { timeout: 60_000 }, async () => {
    await h.addRevenue(addUtcDays(YESTERDAY, -1), [2_000_000n]);
    await h.addRevenue(YESTERDAY, [1_000_000n]);
    const stop = new AbortController();
    const worker = io(env, stop.signal);
    const workerDone = runCli(["worker"], worker.io);
    try {
      // The worker's set-up catches up both days on its own.
      const store = createRunStore(h.schema.db);
      await waitFor("caught up", async () => (await store.listRuns()).filter((r) => r.status === "done").length === 2, { timeoutMs: 30_000 });

      // `jobs run` for a finished day queues a job that changes nothing.
      const run = io(env);
      expect(await runCli(["jobs", "run", "--date", YESTERDAY, "--wait"], run.io), run.err.join("")).toBe(0);
      expect(run.out.join("")).toMatch(new RegExp(`queued run \\d+ for ${YESTERDAY} \\(done\\)`));
      expect(run.out.join("")).toMatch(new RegExp(`${YESTERDAY}  done\\s+revenue 1 USDC  allocation 0.3 USDC  spent 0.3 USDC  bought 15 KAMIYO  funded 15 KAMIYO`));
      expect((await h.landed(h.rewardVault)).ok).toHaveLength(2);

      const status = io(env);
      expect(await runCli(["jobs", "status"], status.io)).toBe(0);
      const lines = status.out.join("").trim().split("\n");
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(new RegExp(`^${YESTERDAY}  done .* swap \\w{80,90}  fund \\w{80,90}$`));
      expect(lines[1]).toMatch(new RegExp(`^${addUtcDays(YESTERDAY, -1)}  done .*revenue 2 USDC`));

      // `jobs run --wait` on an open day prints each step as it completes, with what it did.
      const older = addUtcDays(YESTERDAY, -2);
      await h.addRevenue(older, [1_000_000n]);
      const steps = io(env);
      expect(await runCli(["jobs", "run", "--date", older, "--wait"], steps.io), steps.err.join("")).toBe(0);
      const printed = steps.out.join("");
      const expected = ["allocated: revenue 1 USDC, allocation 0.3 USDC", "swap_signed: swap ", "swapped: spent 0.3 USDC, bought 15 KAMIYO", "fund_signed: fund_pool ", "funded: funded 15 KAMIYO into the reward vault", "done: run complete"];
      const at = expected.map((e) => printed.indexOf(`${older} ${e}`));
      expect(at.every((i) => i >= 0), printed).toBe(true);
      expect([...at].sort((x, y) => x - y)).toEqual(at);
    } finally {
      stop.abort();
      expect(await workerDone, worker.err.join("")).toBe(0);
    }
    expect(worker.out.join("")).toContain("pipeline worker running");
  });
});
