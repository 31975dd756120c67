/**
 * Progress of a long backfill for people: accounts, accounts per second, elapsed time and, when the total
 * is known, a percentage. On a terminal one line on stderr is rewritten in place; otherwise (a log
 * collector, a pipe) it is a log line every `everyMs`.
 */
import type { Logger } from "../src/log.ts";

export interface BackfillProgress {
  accounts: number;
  elapsedMs: number;
  /** Accounts expected in all, when someone knows. */
  total?: number;
  /** The snapshot's context slot. */
  slot: bigint;
}

export interface ProgressSink {
  /** Where a terminal line goes (stderr). */
  stream: { write(text: string): unknown; isTTY?: boolean };
  logger: Logger;
  /** Between two log lines (not on a terminal). Default 5 s. */
  everyMs?: number;
  now?: () => number;
}

/** "12,345 accounts, 4,115 accounts/s, 3.0 s elapsed, 45.1 %" */
export function describeProgress(p: BackfillProgress): string {
  const group = (n: number) => String(Math.floor(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const rate = p.elapsedMs > 0 ? Math.floor((p.accounts * 1000) / p.elapsedMs) : 0;
  const parts = [`${group(p.accounts)} accounts`, `${group(rate)} accounts/s`, `${(p.elapsedMs / 1000).toFixed(1)} s elapsed`];
  if (p.total !== undefined && p.total > 0) parts.push(`${Math.min(100, Math.floor((p.accounts * 1000) / p.total) / 10).toFixed(1)} %`);
  return parts.join(", ");
}

export interface ProgressReporter {
  (p: BackfillProgress): void;
  /** The final line (always shown). */
  done(p: BackfillProgress): void;
}

export function createProgressReporter(sink: ProgressSink): ProgressReporter {
  const tty = sink.stream.isTTY === true;
  const everyMs = sink.everyMs ?? 5000;
  const now = sink.now ?? Date.now;
  let last = Number.NEGATIVE_INFINITY;
  const report = ((p: BackfillProgress) => {
    if (tty) {
      sink.stream.write(`\rbackfill: ${describeProgress(p)}\u001b[K`);
      return;
    }
    const at = now();
    if (at - last < everyMs) return;
    last = at;
    sink.logger.info({ accounts: p.accounts, elapsedMs: p.elapsedMs, ...(p.total !== undefined ? { total: p.total } : {}) }, `backfill progress: ${describeProgress(p)}`);
  }) as ProgressReporter;
  report.done = (p) => {
    if (tty) sink.stream.write(`\rbackfill: ${describeProgress(p)} (done)\u001b[K\n`);
    else sink.logger.info({ accounts: p.accounts, elapsedMs: p.elapsedMs }, `backfill done: ${describeProgress(p)}`);
  };
  return report;
}
