/**
 * The write path's batched form, for backfill and resync batches (thousands of accounts at a time): the reads
 * are decoded exactly as the write path decodes them (toStakeChange), one per address (the newest slot), and
 * written with the repository's COPY + set-based upsert (src/db/repositories/stakes-bulk.ts): the same slot
 * guard and state comparison, events for changed rows (not for new rows of an initial fill), and one
 * notification per batch that listeners expand. Results have the write path's shape, so status, metrics and
 * same-slot re-reads treat both alike.
 *
 * A batch is staged as it is read: each account becomes its staging row at once, written into buffers outside
 * the JS heap (StagingRows), and the decoded objects are garbage before the next chunk of the response
 * arrives. A later read of an address already in the batch goes into the next batch: the slot guard orders
 * the two whichever commits first (a batch holds one row per address).
 */
import type pg from "pg";
import type { Logger } from "pino";
import { StagingRows, writeStagedStakes } from "../src/db/repositories/stakes-bulk.ts";
import type { StakeEventSource } from "../src/db/schema.ts";
import { toStakeChange, type PoolTarget } from "./stake-accounts.ts";
import type { SourcedRead, WriteResult } from "./write-path.ts";

/** Accounts staged for one bulk write. */
export interface StagedBatch {
  /** Staging rows, one per address. */
  readonly rows: StagingRows;
  readonly undecodable: WriteResult["undecodable"];
}

/** Collects reads into batches of one row per address. */
export interface Staging {
  add(read: SourcedRead): void;
  /** Rows in the batch being staged. */
  readonly size: number;
  /** Hands out the batch being staged; the next one starts with the reads that could not join it. */
  take(): StagedBatch;
}

/**
 * Writes what `staging` holds, batch after batch (an address read twice starts a new batch), and returns each
 * batch's result. At least one batch is written, so that reads which were all undecodable are still reported.
 */
export async function writeAllStaged<T>(staging: Staging, write: (batch: StagedBatch) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  do {
    results.push(await write(staging.take()));
  } while (staging.size > 0);
  return results;
}

export interface BulkWritePath {
  staging(): Staging;
  write(batch: StagedBatch, source: StakeEventSource, opts: { initialFill: boolean }): Promise<WriteResult>;
  /** Stages `reads` and writes them, in as many batches as addresses repeat. */
  apply(reads: readonly SourcedRead[], source: StakeEventSource, opts: { initialFill: boolean }): Promise<WriteResult>;
}

export function createBulkWritePath(o: { pool: pg.Pool; target: PoolTarget; logger: Logger; onWrite?: (result: WriteResult) => void }): BulkWritePath {
  function staging(): Staging {
    let rows = new StagingRows();
    /** Address -> slot of its staged row. */
    let staged = new Map<string, bigint>();
    let undecodable: WriteResult["undecodable"] = [];
    /** Newer reads of addresses already in this batch. */
    let next: SourcedRead[] = [];
    const add = (read: SourcedRead) => {
      const change = toStakeChange(read, o.target, read.commitment, read.signature ?? null);
      if (change.kind === "undecodable") {
        o.logger.warn({ address: change.address, reason: change.reason }, "account not decodable; skipped");
        undecodable.push({ address: change.address, reason: change.reason });
        return;
      }
      const slot = staged.get(change.address);
      if (slot === undefined) {
        staged.set(change.address, change.slot);
        rows.add(change);
      } else if (slot <= change.slot) next.push(read);
    };
    return {
      add,
      get size() {
        return rows.count + next.length;
      },
      take() {
        const batch = { rows, undecodable };
        const carried = next;
        rows = new StagingRows();
        staged = new Map();
        undecodable = [];
        next = [];
        for (const read of carried) add(read);
        return batch;
      },
    };
  }

  async function write(batch: StagedBatch, source: StakeEventSource, { initialFill }: { initialFill: boolean }): Promise<WriteResult> {
    const rows = batch.rows.count;
    const written =
      rows > 0
        ? await writeStagedStakes(o.pool, batch.rows, { source, initialFill, pool: o.target.pool })
        : { applied: 0, changed: 0, newestSlot: null, sameSlotConflicts: [] };
    const result: WriteResult = { source, ...written, refused: rows - written.applied, undecodable: batch.undecodable };
    o.onWrite?.(result);
    return result;
  }

  return {
    staging,
    write,
    async apply(reads, source, opts) {
      const s = staging();
      for (const read of reads) s.add(read);
      const total: WriteResult = { source, applied: 0, changed: 0, refused: 0, newestSlot: null, sameSlotConflicts: [], undecodable: [] };
      for (const r of await writeAllStaged(s, (batch) => write(batch, source, opts))) {
        total.applied += r.applied;
        total.changed += r.changed;
        total.refused += r.refused;
        if (r.newestSlot !== null && (total.newestSlot === null || r.newestSlot > total.newestSlot)) total.newestSlot = r.newestSlot;
        total.sameSlotConflicts.push(...r.sameSlotConflicts);
        total.undecodable.push(...r.undecodable);
      }
      return total;
    },
  };
}
