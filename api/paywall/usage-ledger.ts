/**
 * The x402_usage ledger as the paywall writes it: a reservation keyed by the payment before settlement
 * (insert-or-abort, so one payment settles once across every API instance), completed with the settlement
 * signature after, deleted when the facilitator refused the settlement (kept when its outcome is unknown).
 *
 * Exactly once, whatever crashes: the chain is the reference. A completion that cannot be written while the
 * database is unavailable is retried from memory as a fast path only; what this process never writes (it was
 * killed, the memory bound was reached, the row was refused) is written by the ledger reconciler
 * (jobs/ledger/reconciler.ts) from the payTo account's history. Both writes are keyed by the payment key (and the
 * signature, both unique), and a settled row is never changed, so whichever comes first makes the one row and
 * the other changes nothing.
 */
import type { Kysely } from "kysely";
import { createUsageRepository, type SettledUsage, type UsageRecord } from "../../src/db/repositories/usage.ts";
import type { Database } from "../../src/db/schema.ts";
import { describeError, isRetryable } from "../../src/errors.ts";
import type { Logger } from "../../src/log.ts";
import { createDelayedCompletions } from "./delayed-completions.ts";

export type { SettledUsage, UsageRecord };

/**
 * "unavailable": the database cannot be reached now (retrying can help), so the payment may settle unreserved;
 * "failed": the reservation was refused for another reason, so it must not settle.
 */
export type ReserveOutcome = "reserved" | "duplicate" | "unavailable" | "failed";

export interface UsageLedgerOptions {
  db: Kysely<Database>;
  logger: Logger;
  /** Completions kept while the database is unreachable; past this the oldest is dropped (and logged). */
  maxPending?: number;
  retryIntervalMs?: number;
}

export interface UsageLedger {
  /** Inserts the reservation; "duplicate" when this payment already has a row (settled or settling). */
  reserve(r: UsageRecord): Promise<ReserveOutcome>;
  /** Whether the payment already settled (a row with a signature), or null when the database cannot say. */
  isSettled(paymentKey: string): Promise<boolean | null>;
  /** Records the settlement (completing the reservation, or inserting the row when there was none). */
  complete(s: SettledUsage): Promise<void>;
  /** Deletes an unsettled reservation after a failed settlement. */
  release(paymentKey: string): Promise<void>;
  pendingCompletions(): number;
  /** Tries to write the completions kept while the database was unreachable. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export function createUsageLedger(o: UsageLedgerOptions): UsageLedger {
  const usage = createUsageRepository(o.db);
  const delayed = createDelayedCompletions({ write: (s) => usage.complete(s), logger: o.logger, maxPending: o.maxPending ?? 10_000 });
  const timer = setInterval(() => {
    if (delayed.size > 0) void delayed.flush();
  }, o.retryIntervalMs ?? 5_000);
  timer.unref();

  return {
    async reserve(r) {
      try {
        return (await usage.reserve(r)) ? "reserved" : "duplicate";
      } catch (err) {
        o.logger.error({ err: describeError(err) }, "x402 usage: cannot reserve the payment in the ledger");
        return isRetryable(err) ? "unavailable" : "failed";
      }
    },
    async isSettled(paymentKey) {
      try {
        return await usage.isSettled(paymentKey);
      } catch {
        return null;
      }
    },
    async complete(s) {
      try {
        await usage.complete(s);
      } catch (err) {
        delayed.failed(s, err);
      }
    },
    async release(paymentKey) {
      try {
        void (await usage.release(paymentKey));
      } catch (err) {
        // The reservation stays and blocks this payment from settling again, which fails closed.
        o.logger.error({ err: describeError(err), paymentKey }, "x402 usage: cannot release a failed payment's reservation");
      }
    },
    pendingCompletions: () => delayed.size,
    flush: () => delayed.flush(),
    async close() {
      clearInterval(timer);
      if (delayed.size > 0) await delayed.flush();
      delayed.abandon();
    },
  };
}
