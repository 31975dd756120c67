/**
 * Allocation: once the run's UTC day has closed and its ledger is reconciled with the chain (jobs/ledger/gate.ts:
 * a pass through a block past the window's end, no reservation of the window still open, the slot recorded on
 * the run), its settled x402 revenue and the allocation share are frozen on the run (scheduled -> allocated, or
 * -> skipped when there is nothing to allocate). A row that still arrives for the day afterwards changes nothing
 * here: it is recorded in ledger_late_rows and alerted (migration 140, jobs/ledger/reconciler.ts).
 */
import { allocationOf } from "../../src/domain/allocation.ts";
import type { Logger } from "../../src/log.ts";
import { PipelineHalt } from "../errors.ts";
import type { LedgerGate } from "../ledger/gate.ts";
import type { RunRow, RunStore } from "../runs.ts";
import { SILENT_REPORT, type RunReport } from "./report.ts";

export interface AllocateDeps {
  store: RunStore;
  allocationBps: number;
  now: () => Date;
  logger: Logger;
  /** Reconciles the ledger of the run's window first; without it the ledger is taken as it is (tests of the steps alone). */
  ledgerGate?: LedgerGate | undefined;
}

export function createAllocateStep(deps: AllocateDeps) {
  const { store, allocationBps } = deps;
  return async function allocate(run: RunRow, report: RunReport = SILENT_REPORT): Promise<void> {
    if (deps.now() < run.window_end) throw new PipelineHalt("window_open", `the window of ${run.run_date} closes at ${run.window_end.toISOString()}`);
    const reconciledSlot = deps.ledgerGate ? await deps.ledgerGate.reconcileFor(run) : null;
    const { revenue, requests } = await store.revenueBetween(run.window_start, run.window_end);
    const allocation = allocationOf(revenue, allocationBps);
    if (await store.allocate(run, { revenue, requestCount: requests, allocationBps, allocation })) {
      deps.logger.info(
        { day: run.run_date, revenue: revenue.toString(), allocation: allocation.toString(), requests: requests.toString(), reconciledSlot: reconciledSlot?.toString() ?? null },
        allocation === 0n ? "nothing to allocate: run skipped" : "allocation frozen",
      );
      await report.log(
        `allocate: ${requests} settled payments, revenue ${revenue} micro-USDC, ${allocationBps} bps -> allocation ${allocation} micro-USDC` +
          (allocation === 0n ? " (nothing to allocate: run skipped)" : ""),
      );
    }
  };
}
