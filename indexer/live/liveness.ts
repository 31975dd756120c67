/**
 * Liveness across the connections of one live source (websocket or gRPC): slot progress (the highest slot
 * ever seen), the stall bound, and the failure count that drives the reconnect backoff. A connection that
 * shows no slot progress for `stallTimeoutMs` (a stalled node, a proxy that stopped forwarding, a server that
 * accepted and never answered) is dead, whatever its transport says.
 */
import type { Backoff } from "../../src/retry.ts";

export interface Liveness {
  /** A new connection: the stall bound starts now, as a server that accepts and then says nothing is dead. */
  opened(): void;
  /** Whether `slot` is progress; progress on a subscribed connection means it recovered: the backoff starts over. */
  progress(slot: bigint, subscribed: boolean): boolean;
  stalled(): boolean;
  /** How often the watchdog asks: a few times per stall bound. */
  readonly checkEveryMs: number;
  /** Counts a lost connection; returns the failures in a row and the wait before the next one. */
  failed(): { failures: number; delayMs: number };
}

export function createLiveness(o: { stallTimeoutMs: number; backoff: Backoff }): Liveness {
  let highestSlot = -1n;
  let lastProgressAt = 0;
  let failures = 0;
  return {
    opened() {
      lastProgressAt = Date.now();
    },
    progress(slot, subscribed) {
      if (slot <= highestSlot) return false;
      highestSlot = slot;
      lastProgressAt = Date.now();
      if (subscribed) failures = 0;
      return true;
    },
    stalled: () => Date.now() - lastProgressAt > o.stallTimeoutMs,
    checkEveryMs: Math.max(50, Math.min(1000, Math.floor(o.stallTimeoutMs / 4))),
    failed() {
      failures++;
      return { failures, delayMs: o.backoff.delay(failures) };
    },
  };
}
