/**
 * Settled payments whose ledger row could not be written while the database was unavailable, kept in memory
 * (oldest first, bounded) and written again by `flush`. Only failures that isRetryable says may pass are
 * kept; a row the database refuses for any other reason is logged.
 *
 * Memory is not where these rows are safe: it only spares the reconciler work. Every settled payment is on
 * chain, and the ledger reconciler (jobs/ledger/reconciler.ts) inserts or completes its row from there; a write
 * from here after the reconciler's (or the reverse) changes nothing (usage.complete keeps a settled row as it
 * is). A row dropped here, abandoned at shutdown or lost with the process therefore still appears exactly once.
 */
import { describeError, isRetryable } from "../../src/errors.ts";
import type { Logger } from "../../src/log.ts";
import type { SettledUsage } from "../../src/db/repositories/usage.ts";

export interface DelayedCompletions {
  /** After a failed write of `s`: keeps it for `flush` when retrying can help, else logs it. */
  failed(s: SettledUsage, err: unknown): void;
  /** Writes the kept rows in order; stops at the first retryable failure (the database is still away). */
  flush(): Promise<void>;
  readonly size: number;
  /** Logs each row still kept (at shutdown), for reconciliation from the chain. */
  abandon(): void;
}

const identify = (s: SettledUsage) => ({ paymentKey: s.paymentKey, signature: s.settlementSignature, payer: s.payer, amount: s.amountCharged.toString() });

export function createDelayedCompletions(o: { write: (s: SettledUsage) => Promise<unknown>; logger: Logger; maxPending: number }): DelayedCompletions {
  const pending = new Map<string, SettledUsage>();
  let flushing: Promise<void> | null = null;
  const unrecordable = (s: SettledUsage, err: unknown) =>
    o.logger.error({ err: describeError(err), ...identify(s) }, "x402 usage: settled payment refused by the ledger (retrying cannot help); reconcile it from the chain");

  async function writeAll(): Promise<void> {
    for (const [key, s] of pending) {
      try {
        await o.write(s);
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
  }

  return {
    failed(s, err) {
      if (!isRetryable(err)) return unrecordable(s, err);
      if (pending.size >= o.maxPending) {
        const [oldestKey, oldest] = pending.entries().next().value!;
        pending.delete(oldestKey);
        o.logger.error(identify(oldest), "x402 usage: dropped a delayed ledger row (too many pending); reconcile it from the chain");
      }
      pending.set(s.paymentKey, s);
      o.logger.error(
        { err: describeError(err), paymentKey: s.paymentKey, signature: s.settlementSignature, pending: pending.size },
        "x402 usage: settled payment not yet recorded; will retry",
      );
    },
    flush() {
      flushing ??= writeAll().finally(() => {
        flushing = null;
      });
      return flushing;
    },
    get size() {
      return pending.size;
    },
    abandon() {
      for (const s of pending.values()) {
        o.logger.error(identify(s), "x402 usage: settled payment never recorded (database unavailable at shutdown); reconcile it from the chain");
      }
    },
  };
}
