/**
 * The leader's status: kept in memory, mirrored into metrics, and persisted as indexer_state "status"
 * (IndexerStatusSnapshot) so the API process can serve /ready and /metrics without talking to the indexer.
 */
import { sql, type Kysely } from "kysely";
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
    adopt(previous) {
      if (!previous) return;
      backfillCompletedAt ??= previous.backfillCompletedAt;
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
        updatedAt: new Date().toISOString(),
      };
    },
  };
}

export async function readStatus(db: Kysely<Database>): Promise<IndexerStatusSnapshot | null> {
  const row = await db.selectFrom("indexer_state").select("value").where("key", "=", STATUS_KEY).executeTakeFirst();
  if (!row || typeof row.value !== "object" || Array.isArray(row.value)) return null;
  const v = row.value as Record<string, unknown>;
  const str = (x: unknown) => (typeof x === "string" ? x : null);
  const slots: Record<string, string> = {};
  if (typeof v.lastSlotBySource === "object" && v.lastSlotBySource !== null) {
    for (const [k, s] of Object.entries(v.lastSlotBySource)) if (typeof s === "string") slots[k] = s;
  }
  return {
    backfillCompletedAt: str(v.backfillCompletedAt),
    backfillSlot: str(v.backfillSlot),
    lastSlotBySource: slots,
    chainSlot: str(v.chainSlot),
    lastEventAt: str(v.lastEventAt),
    reconnects: typeof v.reconnects === "number" ? v.reconnects : 0,
    reconciliationDrift: typeof v.reconciliationDrift === "number" ? v.reconciliationDrift : 0,
    updatedAt: str(v.updatedAt) ?? new Date(0).toISOString(),
  };
}

export async function writeStatus(db: Kysely<Database>, snapshot: IndexerStatusSnapshot): Promise<void> {
  await sql`
    INSERT INTO indexer_state (key, value, updated_at) VALUES (${STATUS_KEY}, ${JSON.stringify(snapshot)}::jsonb, now())
    ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()
  `.execute(db);
}
