/**
 * Websocket notifications on their way to the write path. Updates are coalesced per account (the newest
 * slot wins; the slot guard would refuse the older ones anyway), so the buffer holds at most one update per
 * account however fast notifications arrive or however long a write (a backfill batch ahead in the write
 * queue, a database outage) takes. A write that failed for a reason retrying can fix (isRetryable) puts back
 * what was not superseded meanwhile and is retried; any other failure drops the batch, logged as an error,
 * and leaves those rows to the next reconciliation or resync.
 */
import type { Logger } from "pino";
import { describeError, isRetryable } from "../src/errors.ts";
import { sleep, type Backoff } from "../src/retry.ts";
import type { SourcedRead } from "./write-path.ts";

export interface WsBuffer {
  push(read: SourcedRead): void;
  readonly size: number;
  /** Resolves when nothing is being flushed. */
  idle(): Promise<void>;
}

export function createWsBuffer(o: {
  write(reads: SourcedRead[]): Promise<unknown>;
  backoff: Backoff;
  logger: Logger;
  signal: AbortSignal;
}): WsBuffer {
  const pending = new Map<string, SourcedRead>();
  let flushing: Promise<void> | null = null;

  const keep = (read: SourcedRead, replaceEqual: boolean) => {
    const held = pending.get(read.address);
    if (!held || held.slot < read.slot || (replaceEqual && held.slot === read.slot)) pending.set(read.address, read);
  };

  async function flush(): Promise<void> {
    let failures = 0;
    // Let notifications that arrive together be written together.
    await new Promise((resolve) => setImmediate(resolve));
    while (pending.size > 0 && !o.signal.aborted) {
      const batch = [...pending.values()];
      pending.clear();
      try {
        await o.write(batch);
        failures = 0;
      } catch (err) {
        if (o.signal.aborted) return;
        if (!isRetryable(err)) {
          o.logger.error({ err: describeError(err), accounts: batch.length }, "writing websocket updates failed and retrying cannot help; dropped");
          continue;
        }
        // Arrived meanwhile means newer: only put back what was not superseded.
        for (const read of batch) keep(read, false);
        failures++;
        o.logger.warn({ err: describeError(err), failures }, "writing websocket updates failed; retrying");
        await sleep(o.backoff.delay(failures), o.signal).catch(() => undefined);
      }
    }
  }

  return {
    push(read) {
      // Among equal slots the later notification is the later state.
      keep(read, true);
      flushing ??= flush().finally(() => {
        flushing = null;
      });
    },
    get size() {
      return pending.size;
    },
    idle() {
      return flushing ?? Promise.resolve();
    },
  };
}
