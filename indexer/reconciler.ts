/**
 * Reconciliation within one leadership term: at most one run at a time (asking during a run joins it), the
 * drift mirrored into metrics and status, and the webhook inbox pruned after each run. The periodic tick
 * runs only once a backfill exists to reconcile against; a failed tick waits for the next one.
 */
import type { Kysely } from "kysely";
import type pg from "pg";
import type { Logger } from "pino";
import type { Commitment } from "../src/config.ts";
import type { Database } from "../src/db/schema.ts";
import { describeError, StoppedError } from "../src/errors.ts";
import type { IndexerMetrics } from "./metrics.ts";
import { runReconcile, type ReconcileReport } from "./reconcile.ts";
import type { RpcClient } from "./rpc-client.ts";
import type { PoolTarget } from "./stake-accounts.ts";
import type { StatusTracker } from "./status.ts";
import { pruneInbox } from "./webhook-inbox.ts";
import type { SourcedRead } from "./write-path.ts";

export interface Reconciler {
  /** Runs a reconciliation now, or joins the running one. */
  run(): Promise<ReconcileReport>;
  /** The periodic run: skipped while one runs or before the first backfill; failures are logged. */
  tick(): void;
  readonly running: Promise<ReconcileReport> | null;
}

export interface ReconcilerOptions {
  rpc: RpcClient;
  db: Kysely<Database>;
  /** Reconciliation borrows a client of its own (it keeps a temporary table). */
  pool: pg.Pool;
  target: PoolTarget;
  /** Of the snapshot (finalized: it is the check on what confirmed reads said). */
  commitment: Commitment;
  batchSize: number;
  webhookRetentionDays: number;
  apply(reads: SourcedRead[]): Promise<unknown>;
  metrics: IndexerMetrics;
  status: StatusTracker;
  logger: Logger;
  signal: AbortSignal;
}

export function createReconciler(o: ReconcilerOptions): Reconciler {
  const log = o.logger;
  let running: Promise<ReconcileReport> | null = null;

  function record(report: ReconcileReport): void {
    o.metrics.reconciliations.inc({ result: "ok" });
    for (const kind of ["missing", "differing", "extra"] as const) {
      o.metrics.reconciliationDrift.set({ kind }, report[kind]);
      o.metrics.reconciliationDriftTotal.inc({ kind }, report[kind]);
    }
    o.status.recordDrift(report.drift);
    o.status.recordReconciliation();
    (report.drift > 0 ? log.warn : log.info).call(
      log,
      { ...report, slot: report.slot.toString() },
      report.drift > 0 ? "reconciliation repaired drift" : "reconciliation found no drift",
    );
  }

  async function reconcileOnce(): Promise<ReconcileReport> {
    try {
      const report = await runReconcile({
        rpc: o.rpc,
        pool: o.pool,
        target: o.target,
        commitment: o.commitment,
        batchSize: o.batchSize,
        apply: o.apply,
        signal: o.signal,
      });
      record(report);
      await pruneInbox(o.db, o.webhookRetentionDays).catch((err) =>
        log.warn({ err: describeError(err) }, "pruning the webhook inbox failed"),
      );
      return report;
    } catch (err) {
      o.metrics.reconciliations.inc({ result: "error" });
      throw err;
    }
  }

  function run(): Promise<ReconcileReport> {
    running ??= reconcileOnce().finally(() => {
      running = null;
    });
    return running;
  }

  return {
    run,
    tick() {
      // Only once a backfill exists to reconcile against, and never two at once.
      if (o.status.snapshot().backfillCompletedAt === null || running) return;
      run().catch((err) => {
        if (!(err instanceof StoppedError)) log.warn({ err: describeError(err) }, "reconciliation failed; next run will retry");
      });
    },
    get running() {
      return running;
    },
  };
}
