/**
 * The indexer's status snapshot (indexer_state key "status"), read by /ready and /metrics. Another process
 * writes it; this side trusts only fields of the expected shape and treats the rest as unknown.
 */
import type { IndexerStatusSnapshot } from "../indexer/contracts.ts";

export { readStoredStatus as readIndexerStatus, STATUS_KEY, type StoredStatus } from "../indexer/status.ts";

/** The highest slot the indexer has applied from any source, or null when none. */
export function highestAppliedSlot(s: IndexerStatusSnapshot): bigint | null {
  let max: bigint | null = null;
  for (const slot of Object.values(s.lastSlotBySource)) {
    const n = BigInt(slot);
    if (max === null || n > max) max = n;
  }
  return max;
}
