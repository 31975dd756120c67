/** Parsers of the payloads the tier cache hears: stake change notices, batch notices and indexer heartbeats. */
import type { StakeChangeNotice } from "../../src/db/repositories/stakes.ts";

const DIGITS = /^\d{1,20}$/;

/** A notice's fields, or null when the payload is not a StakeChangeNotice. */
export function parseNotice(payload: string | undefined): StakeChangeNotice | null {
  if (!payload) return null;
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return null;
  }
  if (typeof v !== "object" || v === null) return null;
  const n = v as Record<string, unknown>;
  if (typeof n.owner !== "string" || typeof n.pool !== "string") return null;
  if (typeof n.effectiveStake !== "string" || !DIGITS.test(n.effectiveStake)) return null;
  if (typeof n.slot !== "string" || !DIGITS.test(n.slot)) return null;
  return v as StakeChangeNotice;
}

/** A batch notice's id (the indexer's batched writes announce a batch, not rows), or null. */
export function parseBatchNotice(payload: string | undefined): string | null {
  try {
    const v = JSON.parse(payload ?? "") as { batch?: unknown };
    return typeof v.batch === "string" && DIGITS.test(v.batch) ? v.batch : null;
  } catch {
    return null;
  }
}

/**
 * Parses a heartbeat payload: its slot for `pool`, undefined when it is not a heartbeat of this pool's
 * indexer writing to `schema` (the schema this cache reads).
 */
export function heartbeatSlot(payload: string | undefined, pool: string, schema: string | null): string | null | undefined {
  try {
    const v = JSON.parse(payload ?? "") as { pool?: unknown; slot?: unknown; schema?: unknown };
    if (v.pool !== pool || schema === null || v.schema !== schema) return undefined;
    return typeof v.slot === "string" && DIGITS.test(v.slot) ? v.slot : null;
  } catch {
    return undefined;
  }
}
