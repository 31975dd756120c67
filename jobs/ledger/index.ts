/**
 * The revenue ledger reconciler from configuration, and its periodic job in the worker's queue.
 */
import type { Queue } from "bullmq";
import type { Kysely } from "kysely";
import type { Config } from "../../src/config.ts";
import type { Database } from "../../src/db/schema.ts";
import type { Logger } from "../../src/log.ts";
import type { Alerter } from "../alerts.ts";
import { createChainHistory } from "./chain-history.ts";
import type { LedgerMetrics } from "./metrics.ts";
import { createLedgerReconciler, type LedgerReconciler } from "./reconciler.ts";

export { createLedgerGate, type LedgerGate } from "./gate.ts";
export { createLedgerMetrics, type LedgerMetrics } from "./metrics.ts";
export { createLedgerReconciler, payToUsdcAccount, type LedgerReconciler, type ReconcileReport } from "./reconciler.ts";

/** The BullMQ job name of a reconciliation pass. */
export const LEDGER_JOB = "ledger-reconcile";

export function ledgerReconcilerFromConfig(o: { config: Config; db: Kysely<Database>; logger: Logger; metrics?: LedgerMetrics | null; alerter?: Alerter | null }): LedgerReconciler {
  const { config } = o;
  return createLedgerReconciler({
    db: o.db,
    history: createChainHistory({ rpcUrl: config.solana.rpcUrl }),
    payTo: config.x402.payTo,
    usdcMint: config.solana.usdcMint,
    network: config.x402.network,
    routes: config.x402.routes,
    tiers: config.tiers,
    logger: o.logger,
    metrics: o.metrics ?? null,
    alerter: o.alerter ?? null,
  });
}

/** Runs a pass every `everySeconds` from the worker's queue (safe to repeat; passes take turns on a lock). */
export async function scheduleLedgerReconciliation(queue: Queue, everySeconds: number): Promise<void> {
  await queue.upsertJobScheduler(LEDGER_JOB, { every: everySeconds * 1000 }, { name: LEDGER_JOB, opts: { removeOnComplete: 50, removeOnFail: 50, attempts: 1 } });
}

/** What a pass job returns to BullMQ (its result in the queue UI). */
export async function runLedgerJob(reconciler: LedgerReconciler): Promise<Record<string, string | number>> {
  const r = await reconciler.reconcile();
  return { throughSlot: r.throughSlot.toString(), read: r.transactionsRead, completed: r.completed, inserted: r.inserted, released: r.released, unexplained: r.unexplained, lateRows: r.lateRows };
}
