/**
 * The allocate step's condition: a day is allocated only once its ledger is reconciled. A reconciliation pass is
 * run now (it waits for one already running: they share a lock), then the ledger must be reconciled through a
 * block at or after the window's end, and no reservation made in the window may still be open (each one has
 * either landed and been completed, or can no longer land and been released). Otherwise the step is retried later.
 */
import type { Kysely } from "kysely";
import { createRevenueLedgerRepository } from "../../src/db/repositories/revenue-ledger.ts";
import { createUsageRepository } from "../../src/db/repositories/usage.ts";
import type { Database } from "../../src/db/schema.ts";
import { RetryableError } from "../../src/errors.ts";
import type { LedgerReconciler } from "./reconciler.ts";

export interface LedgerGate {
  /** Reconciles, checks the window is covered, records the slot on the run; resolves with that slot. */
  reconcileFor(run: { id: bigint; run_date: string; window_end: Date }): Promise<bigint>;
}

export function createLedgerGate(deps: { db: Kysely<Database>; reconciler: LedgerReconciler }): LedgerGate {
  const usage = createUsageRepository(deps.db);
  const ledger = createRevenueLedgerRepository(deps.db);
  return {
    async reconcileFor(run) {
      const report = await deps.reconciler.reconcile();
      if (report.throughBlockTime === null || report.throughBlockTime < run.window_end) {
        const through = report.throughBlockTime?.toISOString() ?? "an unknown time";
        throw new RetryableError("unavailable", `ledger reconciled through slot ${report.throughSlot} (${through}), before the end of ${run.run_date}`, {
          code: "ledger_not_reconciled",
        });
      }
      const open = await usage.openReservations(run.window_end);
      if (open.length > 0) {
        throw new RetryableError("unavailable", `${open.length} payment reservation(s) of ${run.run_date} or before are still settling (outcome not yet on chain)`, {
          code: "ledger_reservations_open",
        });
      }
      await ledger.setRunReconciledSlot(run.id, report.throughSlot);
      return report.throughSlot;
    },
  };
}
