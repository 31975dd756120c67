/**
 * pipeline_transactions, and the ledger rows a landed transaction leaves (kamiyo_buybacks,
 * staking_pool_fundings), written in the same transaction as the run's status change (see runs.ts).
 */
import { sql, type Kysely, type Selectable, type Transaction } from "kysely";
import { RUN_TRANSITIONS } from "../../domain/run-states.ts";
import type { Database, JsonValue, PipelineStatus, PipelineTransactionsTable, PipelineTxPurpose, PipelineTxStatus } from "../schema.ts";
import { moveRun } from "./run-moves.ts";
import type { RunRow } from "./runs.ts";

export type StoredTx = Selectable<PipelineTransactionsTable>;

const UNIQUE_VIOLATION = "23505";
const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === UNIQUE_VIOLATION;

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

/** The transaction half of the runs repository (createRunsRepository spreads it into its own). */
export function createPipelineTransactionsRepository(db: Kysely<Database>) {
  return {
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
