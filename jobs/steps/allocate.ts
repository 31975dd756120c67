/**
 * Allocation: once the run's UTC day has closed, its settled x402 revenue and the allocation share are
 * frozen on the run (scheduled -> allocated, or -> skipped when there is nothing to allocate). Late rows
 * change nothing afterwards.
 */
import { allocationOf } from "../../src/domain/allocation.ts";
import type { Logger } from "../../src/log.ts";
import { PipelineHalt } from "../errors.ts";
import type { RunRow, RunStore } from "../runs.ts";
import { SILENT_REPORT, type RunReport } from "./report.ts";

export interface AllocateDeps {
  store: RunStore;
  allocationBps: number;
  now: () => Date;
  logger: Logger;
}

export function createAllocateStep(deps: AllocateDeps) {
  const { store, allocationBps } = deps;
  return async function allocate(run: RunRow, report: RunReport = SILENT_REPORT): Promise<void> {
    if (deps.now() < run.window_end) throw new PipelineHalt("window_open", `the window of ${run.run_date} closes at ${run.window_end.toISOString()}`);
    const { revenue, requests } = await store.revenueBetween(run.window_start, run.window_end);
    const allocation = allocationOf(revenue, allocationBps);
    if (await store.allocate(run, { revenue, requestCount: requests, allocationBps, allocation })) {
      deps.logger.info(
        { day: run.run_date, revenue: revenue.toString(), allocation: allocation.toString(), requests: requests.toString() },
        allocation === 0n ? "nothing to allocate: run skipped" : "allocation frozen",
      );
      await report.log(
        `allocate: ${requests} settled payments, revenue ${revenue} micro-USDC, ${allocationBps} bps -> allocation ${allocation} micro-USDC` +
          (allocation === 0n ? " (nothing to allocate: run skipped)" : ""),
      );
    }
  };
}
