/**
 * The revenue pipeline's tables: pipeline_runs, pipeline_transactions and the ledger rows a run leaves
 * (staking_revenue_allocations, kamiyo_buybacks, staking_pool_fundings). Every status change is a
 * compare-and-set (`UPDATE ... WHERE status IN (...)`): the caller learns whether it won, and a loser
 * reloads the row instead of acting twice. Amounts are bigint (NUMERIC(20,0)).
 */
import { sql, type Kysely, type Selectable, type Transaction } from "kysely";
import { checkMove, RUN_TRANSITIONS, TERMINAL_STATUSES } from "../../domain/run-states.ts";
import type {
  Database,
  JsonValue,
  PipelineRunsTable,
  PipelineStatus,
  PipelineTransactionsTable,
  PipelineTxPurpose,
  PipelineTxStatus,
} from "../schema.ts";
import { SETTLED } from "./usage.ts";

export type RunRow = Omit<Selectable<PipelineRunsTable>, "run_date"> & { run_date: string };
export type StoredTx = Selectable<PipelineTransactionsTable>;

const UNIQUE_VIOLATION = "23505";
const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === UNIQUE_VIOLATION;

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

export interface NewTx {
  runId: bigint;
  purpose: PipelineTxPurpose;
  signature: string;
  raw: Uint8Array;
  blockhash: string;
  lastValidBlockHeight: bigint;
  quote?: { [key: string]: JsonValue };
}

export interface BuybackRecord {
  usdcSpent: bigint;
  kamiyoBought: bigint;
  averagePrice: bigint;
  quotedOut: bigint;
  slippageBps: number;
}

export function createRunsRepository(db: Kysely<Database>) {
  const getRun = (id: bigint) => runColumns(db).where("id", "=", id).executeTakeFirst() as Promise<RunRow | undefined>;

  /**
   * CAS of the run's status inside `trx`, only along edges of the run-state table (a move the table
   * refuses is a bug and throws before any SQL); true when this caller made the change.
   */
  async function moveRun(
    trx: Transaction<Database>,
    id: bigint,
    from: readonly PipelineStatus[],
    to: PipelineStatus,
    patch: Partial<Omit<PipelineRunsTable, "id" | "run_date" | "window_start" | "window_end" | "created_at" | "updated_at" | "status">> = {},
  ): Promise<boolean> {
    checkMove(from, to);
    const result = await trx
      .updateTable("pipeline_runs")
      .set({ ...patch, status: to, updated_at: sql`now()` })
      .where("id", "=", id)
      .where("status", "in", [...from])
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

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

    /** The step's transaction that may still land, if any. */
    pendingTx(runId: bigint, purpose: PipelineTxPurpose): Promise<StoredTx | undefined> {
      return db
        .selectFrom("pipeline_transactions")
        .selectAll()
        .where("run_id", "=", runId)
        .where("purpose", "=", purpose)
        .where("status", "=", "pending")
        .executeTakeFirst();
    },

    listTxs(runId: bigint): Promise<StoredTx[]> {
      return db.selectFrom("pipeline_transactions").selectAll().where("run_id", "=", runId).orderBy("id").execute();
    },

    /**
     * Stores a signed transaction before its first send, moving the run to the step's signed status.
     * "race" when the run is no longer in one of `from` or another transaction of the step is still pending
     * (another worker got there first); "duplicate" when this exact transaction was stored before (the
     * same message and blockhash as an earlier one). Either way the caller must not send it.
     */
    async storeTx(tx: NewTx, from: readonly PipelineStatus[], signedStatus: PipelineStatus): Promise<StoredTx | "race" | "duplicate"> {
      try {
        return await db.transaction().execute(async (trx) => {
          if (!(await moveRun(trx, tx.runId, from, signedStatus))) return "race" as const;
          return trx
            .insertInto("pipeline_transactions")
            .values({
              run_id: tx.runId,
              purpose: tx.purpose,
              signature: tx.signature,
              raw: Buffer.from(tx.raw),
              blockhash: tx.blockhash,
              last_valid_block_height: tx.lastValidBlockHeight,
              status: "pending",
              quote: tx.quote ? JSON.stringify(tx.quote) : null,
            })
            .returningAll()
            .executeTakeFirstOrThrow();
        });
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        return (err as { constraint?: string }).constraint === "pipeline_transactions_signature_key" ? "duplicate" : "race";
      }
    },

    /** pending -> failed | expired. False when it was no longer pending. */
    async closeTx(id: bigint, status: Exclude<PipelineTxStatus, "pending" | "landed">, err: JsonValue | null = null): Promise<boolean> {
      const r = await db
        .updateTable("pipeline_transactions")
        .set({ status, err: err === null ? null : JSON.stringify(err), updated_at: sql`now()` })
        .where("id", "=", id)
        .where("status", "=", "pending")
        .executeTakeFirst();
      return r.numUpdatedRows === 1n;
    },

    /** The swap landed: the transaction, the buyback row and swap_signed -> swapped, all or nothing. */
    async recordBuyback(run: RunRow, tx: StoredTx, b: BuybackRecord): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const moved = await moveRun(trx, run.id, RUN_TRANSITIONS.swapLanded.from, RUN_TRANSITIONS.swapLanded.to, {
          usdc_spent: b.usdcSpent,
          kamiyo_bought: b.kamiyoBought,
        });
        if (!moved) return false;
        await markLanded(trx, tx.id);
        const allocationId = await allocationOf(trx, run.id);
        await trx
          .insertInto("kamiyo_buybacks")
          .values({
            allocation_id: allocationId,
            run_id: run.id,
            usdc_amount: b.usdcSpent,
            kamiyo_amount: b.kamiyoBought,
            average_price_micro_usdc: b.averagePrice,
            quoted_out_amount: b.quotedOut,
            slippage_bps: b.slippageBps,
            dex: "jupiter",
            tx_hash: tx.signature,
          })
          .execute();
        return true;
      });
    },

    /** The funding landed: the transaction, the funding row and fund_signed -> funded, all or nothing. */
    async recordFunding(run: RunRow, tx: StoredTx, f: { amount: bigint; pool: string; vault: string }): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        if (!(await moveRun(trx, run.id, RUN_TRANSITIONS.fundLanded.from, RUN_TRANSITIONS.fundLanded.to, { kamiyo_funded: f.amount }))) return false;
        await markLanded(trx, tx.id);
        const allocationId = await allocationOf(trx, run.id);
        await trx
          .insertInto("staking_pool_fundings")
          .values({
            allocation_id: allocationId,
            run_id: run.id,
            kamiyo_amount: f.amount,
            tx_hash: tx.signature,
            pool_address: f.pool,
            vault_address: f.vault,
          })
          .execute();
        return true;
      });
    },

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

/** The allocation row of a run (it exists from `allocated` on). */
async function allocationOf(trx: Transaction<Database>, runId: bigint): Promise<bigint> {
  const row = await trx
    .selectFrom("staking_revenue_allocations")
    .select("id")
    .where("run_id", "=", runId)
    .executeTakeFirstOrThrow();
  return row.id;
}

async function markLanded(trx: Transaction<Database>, txId: bigint): Promise<void> {
  // pending (first sighting) or failed/expired never happen here: a landed signature was pending when stored.
  await trx
    .updateTable("pipeline_transactions")
    .set({ status: "landed", err: null, updated_at: sql`now()` })
    .where("id", "=", txId)
    .execute();
}

export type RunsRepository = ReturnType<typeof createRunsRepository>;
