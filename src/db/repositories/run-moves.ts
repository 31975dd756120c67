import { sql, type Transaction } from "kysely";
import { checkMove } from "../../domain/run-states.ts";
import type { Database, PipelineRunsTable, PipelineStatus } from "../schema.ts";

/**
 * CAS of the run's status inside `trx`, only along edges of the run-state table (a move the table
 * refuses is a bug and throws before any SQL); true when this caller made the change.
 */
export async function moveRun(
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
