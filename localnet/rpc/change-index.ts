/**
 * The slot each account last changed at (transactions and cheatcodes), for getProgramAccountsV2's
 * `changedSinceSlot`. One index per chain, started by the first program-account read or by the gRPC server;
 * an account that has not changed since the index started may have changed at any earlier slot, so a query
 * reaching behind the start is answered with every account (never with too few).
 */
import type { AccountChange, ChainApi } from "../types.ts";

export interface ChangeIndex {
  /** The slot from which changes are known. */
  readonly since: bigint;
  /** Accounts whose last change was at or after `slot` (only meaningful when slot >= since). */
  changedSince(slot: bigint): string[];
}

const indexes = new WeakMap<ChainApi, ChangeIndex>();

export function changeIndex(chain: ChainApi): ChangeIndex {
  const held = indexes.get(chain);
  if (held) return held;
  const lastChange = new Map<string, bigint>();
  const since = chain.slot("processed");
  chain.on("account", (c: AccountChange) => {
    // Re-inserted so that iteration order is change order: the newest changes sit at the end.
    lastChange.delete(c.pubkey);
    lastChange.set(c.pubkey, c.slot);
  });
  const index: ChangeIndex = {
    since,
    changedSince(slot) {
      const out: string[] = [];
      for (const [pubkey, at] of lastChange) if (at >= slot) out.push(pubkey);
      return out;
    },
  };
  indexes.set(chain, index);
  return index;
}
