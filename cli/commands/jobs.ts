/** `kamiyo-stake jobs run --date YYYY-MM-DD` and `kamiyo-stake jobs status`. */
import { lastClosedUtcDay, parseUtcDay, utcDayWindow } from "../../src/domain/utc-day.ts";
import { formatUnits, KAMIYO_DECIMALS, USDC_DECIMALS } from "../../src/domain/units.ts";
import { createDatabase } from "../../src/db/database.ts";
import { createPipelineQueue, createRedis, enqueueRun, redisAnswers } from "../../jobs/queue.ts";
import { createRunStore, TERMINAL_STATUSES, type RunRow, type StoredTx } from "../../jobs/runs.ts";
import { UsageError, type CommandModule } from "../command.ts";

const usdc = (v: bigint | null) => (v === null ? "-" : `${formatUnits(v, USDC_DECIMALS)} USDC`);
const kamiyo = (v: bigint | null) => (v === null ? "-" : `${formatUnits(v, KAMIYO_DECIMALS)} KAMIYO`);

/** One line per run. */
export function runLine(r: RunRow, signatures: { swap?: string; fund?: string } = {}): string {
  const parts = [
    r.run_date,
    r.status.padEnd(11),
    `revenue ${usdc(r.revenue_micro_usdc)}`,
    `allocation ${usdc(r.allocation_micro_usdc)}`,
    `spent ${usdc(r.usdc_spent)}`,
    `bought ${kamiyo(r.kamiyo_bought)}`,
    `funded ${kamiyo(r.kamiyo_funded)}`,
  ];
  if (signatures.swap) parts.push(`swap ${signatures.swap}`);
  if (signatures.fund) parts.push(`fund ${signatures.fund}`);
  if (r.status === "failed") parts.push(`failed at ${r.failed_from}: ${r.error ?? ""}`);
  return parts.join("  ");
}

const HAPPY_PATH = ["scheduled", "allocated", "swap_signed", "swapped", "fund_signed", "funded", "done"] as const;

/** The statuses a run went through from `from` to `to` (exclusive, inclusive) along the happy path; else just `to`. */
export function stepsBetween(from: string, to: RunRow["status"]): RunRow["status"][] {
  const a = HAPPY_PATH.indexOf(from as (typeof HAPPY_PATH)[number]);
  const b = HAPPY_PATH.indexOf(to as (typeof HAPPY_PATH)[number]);
  return a >= 0 && b > a ? HAPPY_PATH.slice(a + 1, b + 1) : [to];
}

/** One line per step a run completes: "2026-11-27 allocated: revenue 0.41 USDC, allocation 0.123 USDC". */
export function stepLine(r: RunRow, txs: readonly StoredTx[] = []): string {
  const tx = (purpose: "swap" | "fund") => txs.filter((t) => t.purpose === purpose).at(-1)?.signature ?? "?";
  const what: Record<string, string> = {
    scheduled: "waiting for its window to close",
    allocated: `revenue ${usdc(r.revenue_micro_usdc)}, allocation ${usdc(r.allocation_micro_usdc)}`,
    swap_signed: `swap ${tx("swap")} signed and sent`,
    swapped: `spent ${usdc(r.usdc_spent)}, bought ${kamiyo(r.kamiyo_bought)}`,
    fund_signed: `fund_pool ${tx("fund")} signed and sent`,
    funded: `funded ${kamiyo(r.kamiyo_funded)} into the reward vault`,
    done: "run complete",
    skipped: `nothing to allocate (revenue ${usdc(r.revenue_micro_usdc)})`,
    failed: `halted at ${r.failed_from ?? "?"}: ${r.error ?? ""}`,
  };
  return `${new Date().toISOString().slice(11, 19)} ${r.run_date} ${r.status}: ${what[r.status] ?? ""}`;
}

export default {
  usage: `Usage: kamiyo-stake jobs run --date YYYY-MM-DD [--wait]
       kamiyo-stake jobs status [--limit N]

run     creates the run of that UTC day if it has none (a failed run is resumed where it stopped) and
        queues it for the worker; with --wait, waits until it is done, skipped or failed
status  one line per run, newest first

Options:
  --date YYYY-MM-DD  the day whose revenue to allocate (a closed UTC day)
  --wait             wait for the run to finish (exit 1 if it fails)
  --limit N          number of runs to list (default 30)
  -h, --help         show this help`,
  positionals: true,
  options: { date: { type: "string" }, wait: { type: "boolean" }, limit: { type: "string" } },
  async run(args, ctx) {
    const sub = args.positionals[0];
    if (sub !== "run" && sub !== "status") throw new UsageError("expected a subcommand: run or status");
    if (args.positionals.length > 1) throw new UsageError(`unexpected argument '${args.positionals[1]}'`);
    const config = ctx.config();
    const { db, close } = createDatabase({ url: config.databaseUrl, max: 2, applicationName: "kamiyo-stake jobs" });
    const store = createRunStore(db);
    try {
      if (sub === "status") {
        const limit = Number(args.values.limit ?? "30");
        if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UsageError("--limit must be an integer in 1..10000");
        const runs = await store.listRuns(limit);
        if (runs.length === 0) ctx.stdout.write("no runs yet\n");
        for (const r of runs) {
          const landed = (await store.listTxs(r.id)).filter((t) => t.status === "landed");
          const sigs = {
            ...(landed.find((t) => t.purpose === "swap") ? { swap: landed.find((t) => t.purpose === "swap")!.signature } : {}),
            ...(landed.find((t) => t.purpose === "fund") ? { fund: landed.find((t) => t.purpose === "fund")!.signature } : {}),
          };
          ctx.stdout.write(`${runLine(r, sigs)}\n`);
        }
        return 0;
      }
      if (typeof args.values.date !== "string") throw new UsageError("--date YYYY-MM-DD is required");
      let day: string;
      try {
        day = parseUtcDay(args.values.date);
      } catch (err) {
        throw new UsageError(`--date: ${(err as Error).message}`);
      }
      if (day > lastClosedUtcDay(new Date())) throw new UsageError(`--date ${day} has not closed yet (UTC)`);
      await store.ensureRuns([{ day, ...utcDayWindow(day) }]);
      const run = (await store.getRunByDate(day))!;
      const redis = createRedis(config.redisUrl);
      const queue = createPipelineQueue(redis, config.jobs.queuePrefix);
      // A Redis that is down or silent fails this command within seconds, in one line.
      await redisAnswers(redis, 5_000).catch((err: unknown) => {
        redis.disconnect();
        throw err;
      });
      try {
        // A failed run's job is failed too: enqueueRun retries it, and the worker resumes the run.
        await enqueueRun(queue, run.id);
      } finally {
        await queue.close();
        redis.disconnect();
      }
      ctx.stdout.write(`queued run ${run.id} for ${day} (${run.status})\n`);
      if (args.values.wait !== true) return 0;
      let shown: string = run.status;
      for (;;) {
        const current = (await store.getRun(run.id))!;
        if (current.status !== shown) {
          // Each step as it completes, with what it did (the run row and its stored transactions); steps
          // passed between two polls are printed too, in order.
          const txs = await store.listTxs(current.id);
          for (const status of stepsBetween(shown, current.status)) ctx.stdout.write(`${stepLine({ ...current, status }, txs)}\n`);
          shown = current.status;
        }
        if (TERMINAL_STATUSES.includes(current.status)) {
          ctx.stdout.write(`${runLine(current)}\n`);
          return current.status === "failed" ? 1 : 0;
        }
        if (ctx.signal.aborted) return 130;
        await new Promise((r) => setTimeout(r, 1000));
      }
    } finally {
      await close();
    }
  },
} satisfies CommandModule;
