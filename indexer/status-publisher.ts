/**
 * Status publishing: the leader's in-memory status is written to indexer_state "status", which is all the
 * API process knows of the indexer (/ready, /metrics). Only a leading term publishes.
 */
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Database } from "../src/db/schema.ts";
import { describeError } from "../src/errors.ts";
import { writeStatus, type StatusTracker } from "./status.ts";

export interface StatusPublisher {
  /** Writes the current snapshot unless `term` has ended. A failure is logged; the next tick writes again. */
  publish(term: AbortSignal): Promise<void>;
}

export function createStatusPublisher(o: { db: Kysely<Database>; status: StatusTracker; logger: Logger }): StatusPublisher {
  return {
    async publish(term) {
      if (term.aborted) return;
      try {
        await writeStatus(o.db, o.status.snapshot());
      } catch (err) {
        o.logger.warn({ err: describeError(err) }, "persisting indexer status failed");
      }
    },
  };
}
