/**
 * Misconfigured feeds, made loud: Helius deliveries whose elements carry no `transaction` are the enhanced
 * webhook format, not the raw one the indexer reads (the likely cause: the webhook was created as
 * "enhanced" by hand, or changed in the Helius dashboard). They are counted here, shown on /ready's details,
 * the admin page and /metrics (kamiyo_api_webhook_enhanced_elements_total), and warned about in the log.
 */
import { Counter, Gauge, type Registry } from "prom-client";

export const ENHANCED_FORMAT_CAUSE =
  "the Helius webhook sends the enhanced format (no `transaction` field); the indexer needs type raw (rawDevnet on devnet): run `kamiyo-stake webhooks sync`";

export interface FeedHealthSnapshot {
  enhancedDeliveries: number;
  enhancedElements: number;
  lastEnhancedAt: string | null;
}

export interface FeedHealth {
  /** Counts one delivery with `elements` elements lacking a transaction. */
  recordEnhanced(elements: number, at?: Date): void;
  snapshot(): FeedHealthSnapshot;
}

/** Elements of a delivery that carry no `transaction` (what the enhanced format looks like). */
export function elementsWithoutTransaction(body: readonly unknown[]): number {
  return body.filter((e) => typeof e !== "object" || e === null || (e as { transaction?: unknown }).transaction == null).length;
}

export function createFeedHealth(registry?: Registry): FeedHealth {
  const registers = registry ? [registry] : [];
  const deliveries = new Counter({ name: "kamiyo_api_webhook_enhanced_deliveries_total", help: "Helius deliveries in the enhanced format (elements without `transaction`): the webhook is misconfigured", registers });
  const elements = new Counter({ name: "kamiyo_api_webhook_enhanced_elements_total", help: "Elements without `transaction` in Helius deliveries (enhanced format)", registers });
  const last = new Gauge({ name: "kamiyo_api_webhook_last_enhanced_timestamp_seconds", help: "When the last enhanced-format delivery arrived (0: never)", registers });
  last.set(0);
  const state: FeedHealthSnapshot = { enhancedDeliveries: 0, enhancedElements: 0, lastEnhancedAt: null };
  return {
    recordEnhanced(n, at = new Date()) {
      state.enhancedDeliveries += 1;
      state.enhancedElements += n;
      state.lastEnhancedAt = at.toISOString();
      deliveries.inc();
      elements.inc(n);
      last.set(at.getTime() / 1000);
    },
    snapshot: () => ({ ...state }),
  };
}
