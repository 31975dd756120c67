/**
 * What a Yellowstone server keeps for `fromSlot`: the updates of the last `windowSlots` slots, per commitment
 * level, in the order they were sent. A subscriber asking for a slot older than the oldest one held is refused
 * (as the Geyser plugin does, with OUT_OF_RANGE). The log is also bounded in entries, so a burst of writes
 * cannot grow it without limit: dropping entries moves the first available slot past them.
 */
export interface LogEntry<T> {
  slot: bigint;
  update: T;
}

export interface ReplayLog<T> {
  append(slot: bigint, update: T): void;
  /** The oldest slot whose updates are all held, or null before anything was logged. */
  firstAvailable(): bigint | null;
  /** Held entries with slot >= from, oldest first. */
  since(from: bigint): LogEntry<T>[];
  /** Drops entries of slots older than `tip - windowSlots + 1`. */
  trim(tip: bigint): void;
}

export function createReplayLog<T>(o: { windowSlots: number; maxEntries: number; startSlot: bigint }): ReplayLog<T> {
  let entries: LogEntry<T>[] = [];
  let head = 0;
  // Nothing before the server started was logged: replay cannot reach behind it.
  let first = o.startSlot;

  const compact = () => {
    if (head > 1024 && head * 2 > entries.length) {
      entries = entries.slice(head);
      head = 0;
    }
  };
  const dropBefore = (slot: bigint) => {
    while (head < entries.length && entries[head]!.slot < slot) head++;
    if (slot > first) first = slot;
  };

  return {
    append(slot, update) {
      entries.push({ slot, update });
      if (entries.length - head > o.maxEntries) {
        // Drop whole slots: a slot is either replayable entirely or not at all.
        const dropped = entries[head]!.slot;
        dropBefore(dropped + 1n);
      }
      compact();
    },
    firstAvailable: () => first,
    since(from) {
      let lo = head;
      let hi = entries.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (entries[mid]!.slot < from) lo = mid + 1;
        else hi = mid;
      }
      return entries.slice(lo);
    },
    trim(tip) {
      const oldest = tip - BigInt(o.windowSlots) + 1n;
      if (oldest > first) dropBefore(oldest);
      compact();
    },
  };
}
