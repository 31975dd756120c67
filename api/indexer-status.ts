/**
 * The indexer's status snapshot (indexer_state key "status"), read by /ready and /metrics. Another process
 * writes it; this side trusts only fields of the expected shape and treats the rest as unknown.
 */
import type { Kysely } from "kysely";
import type { IndexerStatusSnapshot } from "../indexer/contracts.ts";
import type { Database } from "../src/db/schema.ts";

export const STATUS_KEY = "status";

/** The snapshot as last written plus when it was written, or null when the indexer has never written one. */
export interface StoredStatus {
  snapshot: IndexerStatusSnapshot;
  writtenAt: Date;
}

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/** Normalises a stored JSON value into a snapshot; missing or ill-typed fields become null / 0 / {}. */
export function toSnapshot(value: unknown, fallbackUpdatedAt: Date): IndexerStatusSnapshot {
  const v = (value !== null && typeof value === "object" && !Array.isArray(value) ? value : {}) as Record<string, unknown>;
  const slots: Record<string, string> = {};
  const rawSlots = v.lastSlotBySource;
  if (rawSlots !== null && typeof rawSlots === "object" && !Array.isArray(rawSlots)) {
    for (const [source, slot] of Object.entries(rawSlots as Record<string, unknown>)) {
      if (typeof slot === "string" && /^\d+$/.test(slot)) slots[source] = slot;
    }
  }
  return {
    backfillCompletedAt: str(v.backfillCompletedAt),
    backfillSlot: str(v.backfillSlot),
    lastSlotBySource: slots,
    chainSlot: str(v.chainSlot),
    lastEventAt: str(v.lastEventAt),
    reconnects: num(v.reconnects),
    reconciliationDrift: num(v.reconciliationDrift),
    updatedAt: str(v.updatedAt) ?? fallbackUpdatedAt.toISOString(),
  };
}

export async function readIndexerStatus(db: Kysely<Database>): Promise<StoredStatus | null> {
  const row = await db
    .selectFrom("indexer_state")
    .select(["value", "updated_at"])
    .where("key", "=", STATUS_KEY)
    .executeTakeFirst();
  if (!row) return null;
  return { snapshot: toSnapshot(row.value, row.updated_at), writtenAt: row.updated_at };
}

/** The highest slot the indexer has applied from any source, or null when none. */
export function highestAppliedSlot(s: IndexerStatusSnapshot): bigint | null {
  let max: bigint | null = null;
  for (const slot of Object.values(s.lastSlotBySource)) {
    const n = BigInt(slot);
    if (max === null || n > max) max = n;
  }
  return max;
}
