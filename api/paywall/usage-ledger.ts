/**
 * The x402_usage ledger as the paywall writes it: a reservation keyed by the payment before settlement
 * (insert-or-abort, so one payment settles once across every API instance), completed with the settlement
 * signature after, deleted when settlement fails. A completion that cannot be written while the database is
 * unavailable (isRetryable) is kept in memory and retried, so a settled payment still ends up as exactly one
 * row; one refused for any other reason is logged for reconciliation from the chain, not retried.
 */
import type { Kysely } from "kysely";
import { createUsageRepository, type SettledUsage, type UsageRecord } from "../../src/db/repositories/usage.ts";
import type { Database } from "../../src/db/schema.ts";
import { describeError, isRetryable } from "../../src/errors.ts";
import type { Logger } from "../../src/log.ts";

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
  const maxPending = o.maxPending ?? 10_000;
  const pending = new Map<string, SettledUsage>();
  let flushing: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (pending.size > 0) void flush();
  }, o.retryIntervalMs ?? 5_000);
  timer.unref();

  const usage = createUsageRepository(o.db);
  const write = (s: SettledUsage) => usage.complete(s);
  const unrecordable = (s: SettledUsage, err: unknown) =>
    o.logger.error(
      { err: describeError(err), paymentKey: s.paymentKey, signature: s.settlementSignature, payer: s.payer, amount: s.amountCharged.toString() },
      "x402 usage: settled payment refused by the ledger (retrying cannot help); reconcile it from the chain",
    );

  async function flush(): Promise<void> {
    if (flushing) return flushing;
    flushing = (async () => {
      for (const [key, s] of pending) {
        try {
          await write(s);
          pending.delete(key);
        } catch (err) {
          if (isRetryable(err)) {
            o.logger.warn({ err: describeError(err), pending: pending.size }, "x402 usage: ledger still unavailable");
            return;
          }
          pending.delete(key);
          unrecordable(s, err);
        }
      }
      o.logger.info("x402 usage: delayed ledger rows written");
    })().finally(() => {
      flushing = null;
    });
    return flushing;
  }

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
        await write(s);
      } catch (err) {
        if (!isRetryable(err)) return unrecordable(s, err);
        if (pending.size >= maxPending) {
          const [oldestKey, oldest] = pending.entries().next().value!;
          pending.delete(oldestKey);
          o.logger.error(
            { paymentKey: oldestKey, signature: oldest.settlementSignature, payer: oldest.payer, amount: oldest.amountCharged.toString() },
            "x402 usage: dropped a delayed ledger row (too many pending); reconcile it from the chain",
          );
        }
        pending.set(s.paymentKey, s);
        o.logger.error(
          { err: describeError(err), paymentKey: s.paymentKey, signature: s.settlementSignature, pending: pending.size },
          "x402 usage: settled payment not yet recorded; will retry",
        );
      }
    },
    async release(paymentKey) {
      try {
        await usage.release(paymentKey);
      } catch (err) {
        // The reservation stays and blocks this payment from settling again, which fails closed.
        o.logger.error({ err: describeError(err), paymentKey }, "x402 usage: cannot release a failed payment's reservation");
      }
    },
    pendingCompletions: () => pending.size,
    flush,
    async close() {
      clearInterval(timer);
      if (pending.size > 0) await flush();
      if (pending.size > 0) {
        for (const s of pending.values()) {
          o.logger.error(
            { paymentKey: s.paymentKey, signature: s.settlementSignature, payer: s.payer, amount: s.amountCharged.toString() },
            "x402 usage: settled payment never recorded (database unavailable at shutdown); reconcile it from the chain",
          );
        }
      }
    },
  };
}
