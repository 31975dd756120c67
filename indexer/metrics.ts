/** The indexer's Prometheus metrics, registered on the registry it is given (names prefixed kamiyo_indexer_). */
import { Counter, Gauge, type Registry } from "prom-client";
import { STAKE_EVENT_SOURCES } from "../src/db/schema.ts";

export interface IndexerMetrics {
  /** Chain slot minus the newest slot applied from that source, as of that source's last write. */
  sourceLag: Gauge<"source">;
  lastEventAge: Gauge;
  chainSlot: Gauge;
  reconnects: Counter;
  resyncs: Counter;
  rowsApplied: Counter<"source" | "changed">;
  sameSlotRereads: Counter;
  reconciliationDrift: Gauge<"kind">;
  reconciliationDriftTotal: Counter<"kind">;
  reconciliations: Counter<"result">;
  webhookElements: Counter<"outcome">;
  webhookDeliveries: Counter<"result">;
  leader: Gauge;
  backfillAccounts: Gauge;
  backfillSeconds: Gauge;
}

export function createIndexerMetrics(registry: Registry, lastEventAt: () => number | null): IndexerMetrics {
  const registers = [registry];
  const m: IndexerMetrics = {
    sourceLag: new Gauge({
      name: "kamiyo_indexer_source_lag_slots",
      help: "Chain slot minus the newest slot applied from the source, measured at the source's last write",
      labelNames: ["source"],
      registers,
    }),
    lastEventAge: new Gauge({
      name: "kamiyo_indexer_last_event_age_seconds",
      help: "Seconds since the last stake change was applied (-1 before the first)",
      registers,
      collect() {
        const at = lastEventAt();
        this.set(at === null ? -1 : (Date.now() - at) / 1000);
      },
    }),
    chainSlot: new Gauge({ name: "kamiyo_indexer_chain_slot", help: "Newest slot seen on the live feed", registers }),
    reconnects: new Counter({
      name: "kamiyo_indexer_ws_reconnects_total",
      help: "Live feed sockets given up (closed, errored or stalled) and replaced",
      registers,
    }),
    resyncs: new Counter({ name: "kamiyo_indexer_resyncs_total", help: "Full backfills run (the first and one per reconnect)", registers }),
    rowsApplied: new Counter({
      name: "kamiyo_indexer_rows_applied_total",
      help: "Rows written to stakes, by source; changed=false when only the slot advanced",
      labelNames: ["source", "changed"],
      registers,
    }),
    sameSlotRereads: new Counter({
      name: "kamiyo_indexer_same_slot_rereads_total",
      help: "Accounts re-read because two reads of the same slot disagreed",
      registers,
    }),
    reconciliationDrift: new Gauge({
      name: "kamiyo_indexer_reconciliation_drift",
      help: "Rows found wrong by the last reconciliation, by kind (missing, differing, extra)",
      labelNames: ["kind"],
      registers,
    }),
    reconciliationDriftTotal: new Counter({
      name: "kamiyo_indexer_reconciliation_drift_total",
      help: "Rows found wrong and repaired by reconciliation, by kind",
      labelNames: ["kind"],
      registers,
    }),
    reconciliations: new Counter({
      name: "kamiyo_indexer_reconciliations_total",
      help: "Reconciliation runs by result",
      labelNames: ["result"],
      registers,
    }),
    webhookElements: new Counter({
      name: "kamiyo_indexer_webhook_elements_total",
      help: "Webhook delivery elements processed, by outcome (applied, duplicate, failed_tx, no_transaction, invalid)",
      labelNames: ["outcome"],
      registers,
    }),
    webhookDeliveries: new Counter({
      name: "kamiyo_indexer_webhook_deliveries_total",
      help: "Webhook delivery processing attempts, by result (done, retry, failed)",
      labelNames: ["result"],
      registers,
    }),
    leader: new Gauge({ name: "kamiyo_indexer_leader", help: "1 while this process holds the indexer lock", registers }),
    backfillAccounts: new Gauge({ name: "kamiyo_indexer_backfill_accounts", help: "Accounts in the last backfill", registers }),
    backfillSeconds: new Gauge({ name: "kamiyo_indexer_backfill_seconds", help: "Duration of the last backfill", registers }),
  };
  for (const source of STAKE_EVENT_SOURCES) m.rowsApplied.inc({ source, changed: "true" }, 0);
  for (const kind of ["missing", "differing", "extra"]) m.reconciliationDrift.set({ kind }, 0);
  for (const outcome of ["applied", "duplicate", "failed_tx", "no_transaction", "invalid"]) m.webhookElements.inc({ outcome }, 0);
  return m;
}
