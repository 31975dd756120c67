import type { StakeChangeNotice } from "../../src/db/repositories/stakes.ts";
import { NO_TIER, tierFor, type DiscountTier, type TierMatch } from "../../src/domain/tiers.ts";

interface Entry {
  slot: bigint;
  tier: TierMatch;
}

/**
 * The in-memory owner -> tier map of one pool. Later slots win; a notice for a slot already reflected
 * changes nothing. While a load runs, notices are kept and applied on top of the snapshot once it is in.
 */
export function createTierTable(pool: string, configured: readonly DiscountTier[]) {
  let entries = new Map<string, Entry>();
  let pending: StakeChangeNotice[] | null = null;
  // The published table once read (see src/db/repositories/tier-table.ts); the configured one until then.
  let tiers: readonly DiscountTier[] = configured;
  const tierOf = (effective: bigint): TierMatch => {
    const t = tierFor(effective, tiers);
    return t.discountBps === 0 ? NO_TIER : t;
  };
  const apply = (map: Map<string, Entry>, owner: string, slot: bigint, effective: bigint) => {
    const current = map.get(owner);
    if (current && current.slot > slot) return;
    map.set(owner, { slot, tier: tierOf(effective) });
  };
  return {
    tiers: () => tiers,
    tier: (owner: string): TierMatch => entries.get(owner)?.tier ?? NO_TIER,
    has: (owner: string) => entries.has(owner),
    get size() {
      return entries.size;
    },
    notice(n: StakeChangeNotice): void {
      if (n.pool !== pool) return;
      if (pending) pending.push(n);
      else apply(entries, n.owner, BigInt(n.slot), BigInt(n.effectiveStake));
    },
    /**
     * Replaces the map with `read()`'s rows plus the notices that arrived meanwhile, unless `current()` says
     * the source was replaced. False when it did not replace it (or a load was already running).
     */
    async load(
      read: () => Promise<Array<{ owner: string; slot: bigint; effectiveStake: bigint }>>,
      current: () => boolean,
      published: () => Promise<readonly DiscountTier[] | null>,
    ): Promise<boolean> {
      if (pending) return false;
      pending = [];
      const before = tiers;
      try {
        const table = (await published()) ?? configured;
        if (!current()) return false;
        tiers = table;
        const fresh = new Map<string, Entry>();
        for (const r of await read()) apply(fresh, r.owner, r.slot, r.effectiveStake);
        for (const n of pending) apply(fresh, n.owner, BigInt(n.slot), BigInt(n.effectiveStake));
        if (!current()) {
          tiers = before;
          return false;
        }
        entries = fresh;
        return true;
      } finally {
        pending = null;
      }
    },
  };
}
