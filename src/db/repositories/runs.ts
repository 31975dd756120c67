/**
 * The revenue pipeline's tables: pipeline_runs, pipeline_transactions and the ledger rows a run leaves
 * (staking_revenue_allocations, kamiyo_buybacks, staking_pool_fundings). Every status change is a
 * compare-and-set (`UPDATE ... WHERE status IN (...)`): the caller learns whether it won, and a loser
 * reloads the row instead of acting twice. Amounts are bigint (NUMERIC(20,0)). Transactions and the ledger
 * rows they leave are written by pipeline-transactions.ts, whose repository this one includes.
 */
import { sql, type Kysely, type Selectable, type Transaction } from "kysely";
import { RUN_TRANSITIONS, TERMINAL_STATUSES } from "../../domain/run-states.ts";
import type { Database, PipelineRunsTable } from "../schema.ts";
import { createPipelineTransactionsRepository } from "./pipeline-transactions.ts";
import { moveRun } from "./run-moves.ts";
import { SETTLED } from "./usage.ts";

export type { BuybackRecord, NewTx, StoredTx } from "./pipeline-transactions.ts";

export type RunRow = Omit<Selectable<PipelineRunsTable>, "run_date"> & { run_date: string };

function runColumns(db: Kysely<Database> | Transaction<Database>) {
  return db
    .selectFrom("pipeline_runs")
    .select([
      "id",
      sql<string>`to_char(run_date, 'YYYY-MM-DD')`.as("run_date"),
      "status",
      "window_start",
      "window_end",
      "allocation_bps",
      "revenue_micro_usdc",
      "allocation_micro_usdc",
      "usdc_spent",
      "kamiyo_bought",
      "kamiyo_funded",
      "failed_from",
      "error",
      "created_at",
      "updated_at",
    ]);
}

export interface AllocationInput {
  revenue: bigint;
  requestCount: bigint;
  allocationBps: number;
  allocation: bigint;
}

export function createRunsRepository(db: Kysely<Database>) {
  const getRun = (id: bigint) => runColumns(db).where("id", "=", id).executeTakeFirst() as Promise<RunRow | undefined>;
  return {
    getRun,

    getRunByDate(day: string): Promise<RunRow | undefined> {
      return runColumns(db).where("run_date", "=", sql<string>`${day}::date`).executeTakeFirst() as Promise<RunRow | undefined>;
    },

    /** Newest first. */
    listRuns(limit = 100): Promise<RunRow[]> {
      return runColumns(db).orderBy("run_date", "desc").limit(limit).execute() as Promise<RunRow[]>;
    },

    /** Runs that are not done, skipped or failed, oldest day first. */
    openRuns(): Promise<RunRow[]> {
      return runColumns(db)
        .where("status", "not in", [...TERMINAL_STATUSES])
        .orderBy("run_date", "asc")
        .execute() as Promise<RunRow[]>;
    },

    /**
     * Creates the runs of these days that do not exist yet; returns how many it created. The unique day
     * key makes this safe to repeat from any number of schedulers: a day never gets a second run.
     */
    async ensureRuns(days: readonly { day: string; start: Date; end: Date }[]): Promise<number> {
      if (days.length === 0) return 0;
      const inserted = await db
        .insertInto("pipeline_runs")
        .values(days.map((d) => ({ run_date: d.day, status: "scheduled" as const, window_start: d.start, window_end: d.end })))
        .onConflict((oc) => oc.column("run_date").doNothing())
        .returning("id")
        .execute();
      return inserted.length;
    },

    /** The earliest day with an x402 payment or a run, as YYYY-MM-DD, or null when there is neither. */
    async firstActivityDay(): Promise<string | null> {
      const row = await sql<{ day: string | null }>`
        SELECT to_char(least(
          (SELECT min(run_date) FROM pipeline_runs),
          (SELECT (min(created_at) AT TIME ZONE 'UTC')::date FROM x402_usage WHERE ${SETTLED})
        ), 'YYYY-MM-DD') AS day
      `.execute(db);
      return row.rows[0]?.day ?? null;
    },

    /**
     * Freezes the allocation: scheduled -> allocated (with its allocation row) or -> skipped when there is
     * nothing to allocate. False when the run had already left `scheduled`.
     */
    async allocate(run: RunRow, a: AllocationInput): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const skip = a.allocation === 0n;
        const move = skip ? RUN_TRANSITIONS.skip : RUN_TRANSITIONS.allocate;
        const moved = await moveRun(trx, run.id, move.from, move.to, {
          revenue_micro_usdc: a.revenue,
          allocation_bps: a.allocationBps,
          allocation_micro_usdc: a.allocation,
        });
        if (!moved) return false;
        await trx
          .insertInto("staking_revenue_allocations")
          .values({
            run_id: run.id,
            period_start: run.window_start,
            period_end: run.window_end,
            revenue_usdc: a.revenue,
            allocation_usdc: a.allocation,
            allocation_bps: a.allocationBps,
            request_count: a.requestCount,
            ...(skip ? { processed_at: new Date() } : {}),
          })
          .execute();
        return true;
      });
    },

    ...createPipelineTransactionsRepository(db),

    /** funded -> done, closing the allocation with the funding transaction. */
    async finish(run: RunRow): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        if (!(await moveRun(trx, run.id, RUN_TRANSITIONS.finish.from, RUN_TRANSITIONS.finish.to))) return false;
        const funding = await trx
          .selectFrom("staking_pool_fundings")
          .select("tx_hash")
          .where("run_id", "=", run.id)
          .executeTakeFirstOrThrow();
        await trx
          .updateTable("staking_revenue_allocations")
          .set({ tx_hash: funding.tx_hash, processed_at: sql`now()` })
          .where("run_id", "=", run.id)
          .execute();
        return true;
      });
    },

    /** Any open status -> failed, remembering where it stopped. False when the run was already terminal. */
    async fail(run: RunRow, error: string): Promise<boolean> {
      if (TERMINAL_STATUSES.includes(run.status)) return false;
      return db.transaction().execute((trx) =>
        moveRun(trx, run.id, [run.status], "failed", { failed_from: run.status, error: error.slice(0, 2000) }),
      );
    },

    /** failed -> the status it failed in. False when the run was not failed. */
    async resume(run: RunRow): Promise<boolean> {
      if (run.status !== "failed" || run.failed_from === null) return false;
      return db.transaction().execute((trx) => moveRun(trx, run.id, ["failed"], run.failed_from!, { failed_from: null, error: null }));
    },
  };
}

export type RunsRepository = ReturnType<typeof createRunsRepository>;
