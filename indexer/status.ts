/**
 * The leader's status: kept in memory, mirrored into metrics, and persisted as indexer_state "status"
 * (IndexerStatusSnapshot) so the API process can serve /ready and /metrics without talking to the indexer.
 */
import type { Kysely } from "kysely";
import { createIndexerStateRepository } from "../src/db/repositories/indexer-state.ts";
import type { Database } from "../src/db/schema.ts";
import type { IndexerStatusSnapshot } from "./contracts.ts";
import type { IndexerMetrics } from "./metrics.ts";
import type { WriteResult } from "./write-path.ts";

export const STATUS_KEY = "status";

export interface StatusTracker {
  recordWrite(result: WriteResult): void;
  recordSlot(slot: bigint): void;
  recordReconnect(): void;
  recordBackfill(slot: bigint): void;
  recordDrift(drift: number): void;
  /** A reconciliation completed now. */
  recordReconciliation(): void;
  /** Carries over what a previous leader established (the table stays backfilled across a failover). */
  adopt(previous: IndexerStatusSnapshot | null): void;
  lastEventAt(): number | null;
  snapshot(): IndexerStatusSnapshot;
}

export function createStatusTracker(metrics: IndexerMetrics): StatusTracker {
  let backfillCompletedAt: string | null = null;
  let backfillSlot: bigint | null = null;
  const lastSlotBySource = new Map<string, bigint>();
  let chainSlot: bigint | null = null;
  let lastEventAt: number | null = null;
  let reconnects = 0;
  let reconciliationDrift = 0;
  let lastReconciliationAt: string | null = null;

  return {
    recordWrite(result) {
      if (result.applied > 0) {
        metrics.rowsApplied.inc({ source: result.source, changed: "true" }, result.changed);
        metrics.rowsApplied.inc({ source: result.source, changed: "false" }, result.applied - result.changed);
      }
      const newest = result.newestSlot;
      if (newest === null) return;
      // A read at a slot is an observation of the chain at that slot, even before the first slot notification.
      if (chainSlot === null || newest > chainSlot) {
        chainSlot = newest;
        metrics.chainSlot.set(Number(newest));
      }
      const held = lastSlotBySource.get(result.source);
      if (held === undefined || newest > held) lastSlotBySource.set(result.source, newest);
      metrics.sourceLag.set({ source: result.source }, Number(chainSlot - newest));
      if (result.changed > 0) lastEventAt = Date.now();
    },
    recordSlot(slot) {
      if (chainSlot === null || slot > chainSlot) {
        chainSlot = slot;
        metrics.chainSlot.set(Number(slot));
      }
    },
    recordReconnect() {
      reconnects++;
      metrics.reconnects.inc();
    },
    recordBackfill(slot) {
      backfillCompletedAt = new Date().toISOString();
      backfillSlot = slot;
    },
    recordDrift(drift) {
      reconciliationDrift = drift;
    },
    recordReconciliation() {
      lastReconciliationAt = new Date().toISOString();
    },
    adopt(previous) {
      if (!previous) return;
      backfillCompletedAt ??= previous.backfillCompletedAt;
      lastReconciliationAt ??= previous.lastReconciliationAt;
      backfillSlot ??= previous.backfillSlot === null ? null : BigInt(previous.backfillSlot);
      for (const [source, slot] of Object.entries(previous.lastSlotBySource)) {
        if (!lastSlotBySource.has(source) && /^\d+$/.test(slot)) lastSlotBySource.set(source, BigInt(slot));
      }
    },
    lastEventAt: () => lastEventAt,
    snapshot() {
      return {
        backfillCompletedAt,
        backfillSlot: backfillSlot?.toString() ?? null,
        lastSlotBySource: Object.fromEntries([...lastSlotBySource].map(([k, v]) => [k, v.toString()])),
        chainSlot: chainSlot?.toString() ?? null,
        lastEventAt: lastEventAt === null ? null : new Date(lastEventAt).toISOString(),
        reconnects,
        reconciliationDrift,
        lastReconciliationAt,
        updatedAt: new Date().toISOString(),
      };
    },
  };
}

/** The snapshot as last written plus when it was written. */
export interface StoredStatus {
  snapshot: IndexerStatusSnapshot;
  writtenAt: Date;
}

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/**
 * Normalises a stored JSON value into a snapshot. Another process (or version) wrote it, so only fields of
 * the expected shape are trusted; missing or ill-typed ones become null / 0 / {}.
 */
export function parseStatusSnapshot(value: unknown, fallbackUpdatedAt: Date): IndexerStatusSnapshot {
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
    lastReconciliationAt: str(v.lastReconciliationAt),
    updatedAt: str(v.updatedAt) ?? fallbackUpdatedAt.toISOString(),
  };
}

/** Null when no indexer has written a status yet. */
export async function readStoredStatus(db: Kysely<Database>): Promise<StoredStatus | null> {
  const row = await createIndexerStateRepository(db).read(STATUS_KEY);
  if (!row) return null;
  return { snapshot: parseStatusSnapshot(row.value, row.updatedAt), writtenAt: row.updatedAt };
}

export async function readStatus(db: Kysely<Database>): Promise<IndexerStatusSnapshot | null> {
  return (await readStoredStatus(db))?.snapshot ?? null;
}

export async function writeStatus(db: Kysely<Database>, snapshot: IndexerStatusSnapshot): Promise<void> {
  await createIndexerStateRepository(db).write(STATUS_KEY, snapshot);
}
