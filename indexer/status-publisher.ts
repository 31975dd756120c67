/**
 * Status publishing: the leader's in-memory status is written to indexer_state "status", which is all the
 * API process knows of the indexer (/ready, /metrics). Only a leading term publishes.
 *
 * The leader's heartbeat (a NOTIFY on INDEXER_HEARTBEAT_CHANNEL with its newest applied slot) is its proof
 * of life for the tier cache: it is sent through the write queue, behind the stake writes, so it arrives only
 * while the leader's writes get through. A leader that cannot write says so in the log once per episode.
 */
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { publishHeartbeat } from "../src/db/repositories/indexer-state.ts";
import type { Database } from "../src/db/schema.ts";
import { describeError } from "../src/errors.ts";
import { writeStatus, type StatusTracker } from "./status.ts";
import type { WriteQueue } from "./write-queue.ts";

export interface StatusPublisher {
  /** Writes the current snapshot unless `term` has ended. A failure is logged; the next tick writes again. */
  publish(term: AbortSignal): Promise<void>;
  /** Sends a heartbeat through `writes` unless one is still queued or `term` has ended. */
  heartbeat(term: AbortSignal, pool: string, writes: WriteQueue): Promise<void>;
  /** When writes started failing without a success since, or null while they get through. */
  failingSince(): number | null;
}

/** A leader whose writes have failed for this long reports it as an error (once per episode). */
const CANNOT_WRITE_AFTER_MS = 3_000;

export function createStatusPublisher(o: { db: Kysely<Database>; status: StatusTracker; logger: Logger }): StatusPublisher {
  let failingSince: number | null = null;
  let reported = false;
  let beatQueued = false;

  const succeeded = () => {
    if (failingSince !== null && reported) o.logger.info({ afterMs: Date.now() - failingSince }, "indexer leader writes to the database again");
    failingSince = null;
    reported = false;
  };
  const failed = (what: string, err: unknown) => {
    const now = Date.now();
    failingSince ??= now;
    if (!reported && now - failingSince >= CANNOT_WRITE_AFTER_MS) {
      reported = true;
      o.logger.error(
        { err: describeError(err), forMs: now - failingSince },
        "indexer leader cannot write to the database: discounts are suspended (full prices) until it can",
      );
    } else {
      o.logger.warn({ err: describeError(err) }, `${what} failed`);
    }
  };

  return {
    async publish(term) {
      if (term.aborted) return;
      try {
        await writeStatus(o.db, o.status.snapshot());
        succeeded();
      } catch (err) {
        failed("persisting indexer status", err);
      }
    },
    async heartbeat(term, pool, writes) {
      if (term.aborted || beatQueued) return;
      beatQueued = true;
      try {
        // Only a heartbeat that reached the database ends a "cannot write" episode; one skipped because the
        // term ended proves nothing.
        const sent = await writes.run(async () => {
          if (term.aborted) return false;
          const slots = Object.values(o.status.snapshot().lastSlotBySource).map((s) => BigInt(s));
          const newest = slots.length > 0 ? slots.reduce((a, b) => (b > a ? b : a)) : null;
          await publishHeartbeat(o.db, { pool, slot: newest?.toString() ?? null, at: new Date().toISOString() });
          return true;
        });
        if (sent) succeeded();
      } catch (err) {
        failed("indexer heartbeat", err);
      } finally {
        beatQueued = false;
      }
    },
    failingSince: () => failingSince,
  };
}
