/**
 * The write path's batched form, for backfill and resync batches (thousands of accounts at a time): the reads
 * are decoded exactly as the write path decodes them (toStakeChange), one per address (the newest slot), and
 * written with the repository's COPY + set-based upsert (src/db/repositories/stakes-bulk.ts): the same slot
 * guard and state comparison, events for changed rows (not for new rows of an initial fill), and one
 * notification per batch that listeners expand. Results have the write path's shape, so status, metrics and
 * same-slot re-reads treat both alike.
 */
import type pg from "pg";
import type { Logger } from "pino";
import { writeStakeBatchBulk } from "../src/db/repositories/stakes-bulk.ts";
import type { StakeEventSource } from "../src/db/schema.ts";
import { toStakeChange, type PoolTarget, type StakeChange } from "./stake-accounts.ts";
import type { SourcedRead, WriteResult } from "./write-path.ts";

export interface BulkWritePath {
  apply(reads: readonly SourcedRead[], source: StakeEventSource, opts: { initialFill: boolean }): Promise<WriteResult>;
}

export function createBulkWritePath(o: { pool: pg.Pool; target: PoolTarget; logger: Logger; onWrite?: (result: WriteResult) => void }): BulkWritePath {
  return {
    async apply(reads, source, { initialFill }) {
      const byAddress = new Map<string, StakeChange>();
      const undecodable: WriteResult["undecodable"] = [];
      for (const read of reads) {
        const change = toStakeChange(read, o.target, read.commitment, read.signature ?? null);
        if (change.kind === "undecodable") {
          o.logger.warn({ address: change.address, reason: change.reason, source }, "account not decodable; skipped");
          undecodable.push({ address: change.address, reason: change.reason });
          continue;
        }
        const held = byAddress.get(change.address);
        if (!held || held.slot <= change.slot) byAddress.set(change.address, change);
      }
      const changes = [...byAddress.values()];
      const written =
        changes.length > 0
          ? await writeStakeBatchBulk(o.pool, changes, { source, initialFill, pool: o.target.pool })
          : { applied: 0, changed: 0, newestSlot: null, sameSlotConflicts: [] };
      const result: WriteResult = { source, ...written, refused: changes.length - written.applied, undecodable };
      o.onWrite?.(result);
      return result;
    },
  };
}
