/**
 * The single write path for stake state. Every source (websocket, webhook, backfill, reconcile, resync)
 * hands it account reads; it decodes them, and applies them in batches through the stakes repository's one
 * slot-guarded statement (src/db/repositories/stakes.ts): a row moves only to a newer slot, a gone account
 * closes its row, and a changed row gets its stake_events row and its notification in the same transaction.
 *
 * A read with a newer slot but the same state still advances the row's slot (without an event): a delayed
 * read from between the two slots must not be able to overwrite it afterwards.
 */
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Commitment } from "../src/config.ts";
import { createStakesRepository } from "../src/db/repositories/stakes.ts";
import type { Database, StakeEventSource } from "../src/db/schema.ts";
import type { AccountRead } from "./rpc-client.ts";
import { toStakeChange, type PoolTarget, type StakeChange } from "./stake-accounts.ts";

/** Rows per statement: large enough to amortise the round trip, small enough to keep locks and memory short. */
export const WRITE_BATCH_ROWS = 5000;

export interface SourcedRead extends AccountRead {
  commitment: Commitment;
  /** The transaction that caused this read (webhook), if known. */
  signature?: string | null;
}

export interface WriteResult {
  source: StakeEventSource;
  /** Rows written (their slot advanced). */
  applied: number;
  /** Of those, rows whose state changed: each has a stake_events row and a notification. */
  changed: number;
  /** Highest slot among the rows written, or null when none was. */
  newestSlot: bigint | null;
  /**
   * Refused reads whose slot equals the stored one but whose state differs: one of the two was read while
   * that slot was still taking transactions. Re-reading the account at a later slot settles it.
   */
  sameSlotConflicts: { address: string; slot: bigint }[];
  /** Reads that were not applied (older or same slot and same state, or a gone account without a row). */
  refused: number;
  undecodable: { address: string; reason: string }[];
}

export interface WritePath {
  apply(reads: readonly SourcedRead[], source: StakeEventSource): Promise<WriteResult>;
}

export interface WritePathOptions {
  db: Kysely<Database>;
  target: PoolTarget;
  logger: Logger;
  batchRows?: number;
  /** Called after every committed batch (status, metrics). */
  onWrite?: (result: WriteResult) => void;
}

/**
 * Keeps one read per address (the highest slot; among equal slots the one that arrived last), sorted by
 * address: index insertions in key order touch fewer pages, and every writer locks rows in the same order.
 */
function latestPerAddress(reads: readonly SourcedRead[]): SourcedRead[] {
  const byAddress = new Map<string, SourcedRead>();
  for (const r of reads) {
    const held = byAddress.get(r.address);
    if (!held || held.slot <= r.slot) byAddress.set(r.address, r);
  }
  return [...byAddress.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

export function createWritePath(options: WritePathOptions): WritePath {
  const batchRows = options.batchRows ?? WRITE_BATCH_ROWS;
  const stakes = createStakesRepository(options.db);
  return {
    async apply(reads, source) {
      const result: WriteResult = {
        source,
        applied: 0,
        changed: 0,
        newestSlot: null,
        sameSlotConflicts: [],
        refused: 0,
        undecodable: [],
      };
      const changes: StakeChange[] = [];
      for (const read of latestPerAddress(reads)) {
        const change = toStakeChange(read, options.target, read.commitment, read.signature ?? null);
        if (change.kind === "undecodable") {
          // A UserStake-shaped account that Anchor cannot decode: keep the stored row rather than guess.
          options.logger.warn({ address: change.address, reason: change.reason, source }, "account not decodable; skipped");
          result.undecodable.push({ address: change.address, reason: change.reason });
        } else changes.push(change);
      }
      for (let i = 0; i < changes.length || (i === 0 && result.undecodable.length > 0); i += batchRows) {
        const batch = changes.slice(i, i + batchRows);
        const written = batch.length > 0 ? await stakes.writeBatch(batch, source) : null;
        const part: WriteResult = {
          source,
          applied: written?.applied ?? 0,
          changed: written?.changed ?? 0,
          newestSlot: written?.newestSlot ?? null,
          sameSlotConflicts: written?.sameSlotConflicts ?? [],
          refused: 0,
          // Reported with the first batch only.
          undecodable: i === 0 ? result.undecodable : [],
        };
        part.refused = batch.length - part.applied;
        options.onWrite?.(part);
        result.applied += part.applied;
        result.changed += part.changed;
        if (part.newestSlot !== null && (result.newestSlot === null || part.newestSlot > result.newestSlot)) {
          result.newestSlot = part.newestSlot;
        }
        for (const c of part.sameSlotConflicts) result.sameSlotConflicts.push(c);
        result.refused += part.refused;
      }
      return result;
    },
  };
}
