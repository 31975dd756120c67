/** Prometheus series for ledger drift: what the reconciler repaired, what it could not explain, how far it got. */
import { Counter, Gauge, type Registry } from "prom-client";

export type RepairKind = "completed" | "inserted" | "released";

export interface LedgerMetrics {
  /** Rows repaired by kind: reservations completed, settled payments inserted, dead reservations released. */
  repaired: Counter<"kind">;
  /** Incoming USDC transfers to payTo that are not x402 payments (recorded, never revenue). */
  unexplained: Counter;
  /** Settled rows that arrived for an already allocated day. */
  lateRows: Counter;
  /** The chain slot the ledger was last reconciled through. */
  lastReconciledSlot: Gauge;
  /** Reconciliation passes by outcome (ok, failed). */
  passes: Counter<"outcome">;
}

export function createLedgerMetrics(registry: Registry): LedgerMetrics {
  const registers = [registry];
  return {
    repaired: new Counter({ name: "kamiyo_ledger_rows_repaired_total", help: "x402_usage rows repaired from the chain, by kind", labelNames: ["kind"] as const, registers }),
    unexplained: new Counter({ name: "kamiyo_ledger_unexplained_transfers_total", help: "Incoming USDC transfers to payTo that are not x402 payments", registers }),
    lateRows: new Counter({ name: "kamiyo_ledger_late_rows_total", help: "Settled payments recorded for a day already allocated", registers }),
    lastReconciledSlot: new Gauge({ name: "kamiyo_ledger_last_reconciled_slot", help: "Chain slot the revenue ledger was last reconciled through", registers }),
    passes: new Counter({ name: "kamiyo_ledger_reconciliations_total", help: "Ledger reconciliation passes by outcome", labelNames: ["outcome"] as const, registers }),
  };
}
