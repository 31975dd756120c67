/**
 * Prometheus series served at /metrics. The indexer usually runs in another process: it publishes a status
 * snapshot in indexer_state and the outcome of every processed webhook delivery in webhook_deliveries, and
 * each scrape reads both once. Webhook receipt counters are this process's own (it receives them).
 *
 * Names do not collide with the indexer's own in-process series (indexer/metrics.ts), so `start` can put
 * both on one registry: snapshot-derived series are kamiyo_indexer_status_*, receipt counters kamiyo_api_*.
 */
import type { Kysely } from "kysely";
import { Counter, Gauge, type Registry } from "prom-client";
import { createWebhookInboxRepository, type InboxSummary } from "../src/db/repositories/webhook-inbox.ts";
import type { Database } from "../src/db/schema.ts";
import { describeError } from "../src/errors.ts";
import type { Logger } from "../src/log.ts";
import { readIndexerStatus, type StoredStatus } from "./indexer-status.ts";

export interface ApiMetrics {
  /** Deliveries received at /webhooks/helius by result: accepted, empty, unauthorized, invalid, too_large, failed. */
  webhookDeliveries: Counter<"result">;
  /** Transactions in accepted deliveries. */
  webhookTransactions: Counter;
  /** Reads the indexer's snapshot and the inbox outcomes and updates the derived series; never throws. */
  refresh(): Promise<void>;
}

export function createApiMetrics(deps: { registry: Registry; db: Kysely<Database>; logger: Logger; now?: () => number }): ApiMetrics {
  const registers = [deps.registry];
  const now = deps.now ?? Date.now;
  const inboxRepository = createWebhookInboxRepository(deps.db);
  const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers });

  const webhookDeliveries = new Counter({
    name: "kamiyo_api_webhook_deliveries_total",
    help: "Helius webhook deliveries received by this process, by result",
    labelNames: ["result"] as const,
    registers,
  });
  const webhookTransactions = new Counter({
    name: "kamiyo_api_webhook_transactions_total",
    help: "Transactions in Helius webhook deliveries accepted by this process",
    registers,
  });

  const statusUp = gauge("kamiyo_indexer_status_up", "1 when the indexer status snapshot could be read at this scrape, else 0");
  const statusAge = gauge("kamiyo_indexer_status_age_seconds", "Seconds since the indexer last wrote its status (growing: no indexer is leading)");
  const backfillDone = gauge("kamiyo_indexer_status_backfill_completed", "1 once the indexer's first full backfill has been applied");
  const chainSlot = gauge("kamiyo_indexer_status_chain_slot", "Chain slot most recently seen by the indexer's live feed");
  const appliedSlot = gauge("kamiyo_indexer_status_applied_slot", "Highest slot applied to the stakes table, per source", ["source"]);
  const lag = gauge("kamiyo_indexer_status_lag_slots", "Chain slot minus the highest slot applied from each source", ["source"]);
  const lastEventAge = gauge("kamiyo_indexer_status_last_event_age_seconds", "Seconds since the indexer last applied a stake change");
  const reconnects = gauge("kamiyo_indexer_status_reconnects", "Live feed reconnects during the current leader's term");
  const drift = gauge("kamiyo_indexer_status_reconciliation_drift", "Rows the last reconciliation found differing from the chain (and repaired)");
  const inboxDeliveries = gauge("kamiyo_webhook_inbox_deliveries", "Webhook deliveries in the inbox, by processing status", ["status"]);
  const inboxElements = gauge(
    "kamiyo_webhook_inbox_elements",
    "Elements of processed deliveries still in the inbox (its retention window), by outcome; duplicate = signature seen before",
    ["outcome"],
  );
  const inboxUp = gauge("kamiyo_webhook_inbox_up", "1 when the webhook inbox could be read at this scrape, else 0");

  const snapshotSeries = [statusAge, backfillDone, chainSlot, appliedSlot, lag, lastEventAge, reconnects, drift];

  function setFromSnapshot(stored: StoredStatus | null): void {
    // Values from an earlier scrape must not outlive the snapshot they came from; unknown is NaN, not 0.
    for (const m of snapshotSeries) m.reset();
    for (const g of [statusAge, chainSlot, lastEventAge]) g.set(Number.NaN);
    statusUp.set(stored === null ? 0 : 1);
    if (stored === null) return;
    const s = stored.snapshot;
    const nowMs = now();
    statusAge.set(Math.max(0, (nowMs - stored.writtenAt.getTime()) / 1000));
    backfillDone.set(s.backfillCompletedAt === null ? 0 : 1);
    const chain = s.chainSlot === null ? null : BigInt(s.chainSlot);
    if (chain !== null) chainSlot.set(Number(chain));
    for (const [source, slot] of Object.entries(s.lastSlotBySource)) {
      const applied = BigInt(slot);
      appliedSlot.set({ source }, Number(applied));
      if (chain !== null) lag.set({ source }, Number(chain > applied ? chain - applied : 0n));
    }
    const at = s.lastEventAt === null ? Number.NaN : Date.parse(s.lastEventAt);
    if (Number.isFinite(at)) lastEventAge.set(Math.max(0, (nowMs - at) / 1000));
    reconnects.set(s.reconnects);
    drift.set(s.reconciliationDrift);
  }

  function setFromInbox(summary: InboxSummary | null): void {
    inboxDeliveries.reset();
    inboxElements.reset();
    inboxUp.set(summary === null ? 0 : 1);
    if (summary === null) return;
    for (const [status, n] of Object.entries(summary.deliveries)) inboxDeliveries.set({ status }, n);
    for (const [outcome, n] of Object.entries(summary.elements)) inboxElements.set({ outcome }, n);
  }

  async function refresh(): Promise<void> {
    const [status, inbox] = await Promise.allSettled([readIndexerStatus(deps.db), inboxRepository.summary()]);
    if (status.status === "rejected") deps.logger.warn({ reason: describeError(status.reason) }, "metrics: cannot read the indexer status");
    if (inbox.status === "rejected") deps.logger.warn({ reason: describeError(inbox.reason) }, "metrics: cannot read the webhook inbox");
    setFromSnapshot(status.status === "fulfilled" ? status.value : null);
    setFromInbox(inbox.status === "fulfilled" ? inbox.value : null);
  }

  return { webhookDeliveries, webhookTransactions, refresh };
}
