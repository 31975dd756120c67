/**
 * What the indexer offers the rest of the service. The API process uses these to accept webhook
 * deliveries and to resync a wallet on demand; the paywall's tier cache listens on STAKE_CHANGES_CHANNEL.
 */
import type { Kysely } from "kysely";
import type { Database } from "../src/db/schema.ts";

export { STAKE_CHANGES_CHANNEL, type StakeChangeNotice } from "../src/db/repositories/stakes.ts";

export { WEBHOOK_INBOX_CHANNEL } from "../src/db/repositories/webhook-inbox.ts";

/** Status the indexer persists (indexer_state key "status") so other processes can serve /ready and /metrics. */
export interface IndexerStatusSnapshot {
  /** Set once the first full backfill has been applied. */
  backfillCompletedAt: string | null;
  backfillSlot: string | null;
  /** Highest slot applied per source, decimal strings. */
  lastSlotBySource: Record<string, string>;
  /** Chain slot seen most recently by the live feed. */
  chainSlot: string | null;
  lastEventAt: string | null;
  reconnects: number;
  reconciliationDrift: number;
  /** When the last reconciliation completed (null before the first; snapshots written before this field read as null). */
  lastReconciliationAt: string | null;
  updatedAt: string;
}

export interface WebhookEnqueueResult {
  /** Inbox row id. */
  id: string;
  /** Elements in the delivery. */
  elements: number;
}

/** Functions the API calls; implemented in indexer/ (see webhook-inbox.ts and resync.ts). */
export interface IndexerApi {
  /** Stores a raw Helius delivery (already parsed JSON array) durably; returns before processing. */
  enqueueWebhookDelivery(db: Kysely<Database>, body: unknown[]): Promise<WebhookEnqueueResult>;
  /** Re-reads one wallet's UserStake from chain and applies it through the single write path. */
  resyncWallet(wallet: string): Promise<{ address: string; slot: string; effectiveStake: string; tier: string }>;
}
