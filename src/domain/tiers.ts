/**
 * Discount tiers: which effective stake earns which discount. Pure; amounts are KAMIYO base units.
 * The program's own stored `tier` byte is never consulted (it uses different thresholds).
 */

export type Priority = "standard" | "priority" | "premium";

export interface DiscountTier {
  name: string;
  /** Minimum effective stake, KAMIYO base units (9 decimals), inclusive. */
  minStake: bigint;
  /** Discount in basis points (1000 = 10 %). */
  discountBps: number;
  priority: Priority;
}

export interface TierMatch {
  name: string;
  discountBps: number;
  priority: Priority;
}

export const NO_TIER: TierMatch = Object.freeze({ name: "none", discountBps: 0, priority: "standard" });

const KAMIYO = 10n ** 9n;

export const DEFAULT_TIERS: readonly DiscountTier[] = Object.freeze([
  { name: "silver", minStake: 100_000n * KAMIYO, discountBps: 1000, priority: "priority" },
  { name: "gold", minStake: 500_000n * KAMIYO, discountBps: 2000, priority: "priority" },
  { name: "platinum", minStake: 1_000_000n * KAMIYO, discountBps: 3000, priority: "premium" },
]);

/** What each priority level is entitled to (from the integration plan). */
export const PRIORITY_BENEFITS: Readonly<Record<Priority, readonly string[]>> = Object.freeze({
  standard: [],
  priority: ["5 concurrent escrow slots", "36 hour negotiation timeout", "Priority support"],
  premium: ["10 concurrent escrow slots", "48 hour negotiation timeout", "Auto-mediation", "Dedicated support"],
});

export interface StakeAmounts {
  stakedAmount: bigint;
  cooldownAmount: bigint;
  /** Unix seconds; null when no cooldown is active. */
  cooldownEnd: bigint | null;
  closed?: boolean;
}

/** What a stake account holds, as read from the chain or stored for it. */
export interface Holdings {
  stakedAmount: bigint;
  cooldownAmount: bigint;
  cooldownEnd: bigint | null;
  effectiveStake: bigint;
}

/** The one definition of "closed means zero": a closed account holds nothing, whatever was last read or stored for it. */
export const CLOSED_HOLDINGS: Readonly<Holdings> = Object.freeze({ stakedAmount: 0n, cooldownAmount: 0n, cooldownEnd: null, effectiveStake: 0n });

/**
 * What a stored account holds: `s` as it is, or, once the account is closed, with every holding it carries
 * replaced by CLOSED_HOLDINGS'.
 */
export function heldStake<T extends Partial<Holdings> & { closed: boolean }>(s: T): T {
  if (!s.closed) return s;
  const held: Partial<Record<keyof Holdings, unknown>> = { ...s };
  for (const key of Object.keys(CLOSED_HOLDINGS) as (keyof Holdings)[]) if (key in held) held[key] = CLOSED_HOLDINGS[key];
  return held as T;
}

/**
 * The stake that earns a discount. `unstake` does not lower `staked_amount`, it starts a cooldown,
 * and the program's own comment says the user loses tier benefits at once; a closed account holds CLOSED_HOLDINGS.
 */
export function effectiveStake(s: StakeAmounts): bigint {
  if (s.closed) return CLOSED_HOLDINGS.effectiveStake;
  if (s.cooldownEnd === null) return s.stakedAmount;
  const remaining = s.stakedAmount - s.cooldownAmount;
  return remaining > 0n ? remaining : 0n;
}

/** Validates a tier table: names unique, thresholds strictly increasing, discounts in (0, 10000]. */
export function validateTiers(tiers: readonly DiscountTier[]): string | null {
  const names = new Set<string>();
  for (let i = 0; i < tiers.length; i++) {
    const t = tiers[i]!;
    if (!t.name || t.name === NO_TIER.name) return `tier ${i}: name must be non-empty and not "${NO_TIER.name}"`;
    if (names.has(t.name)) return `tier ${i}: duplicate name "${t.name}"`;
    names.add(t.name);
    if (t.minStake <= 0n) return `tier "${t.name}": minStake must be positive`;
    if (!Number.isInteger(t.discountBps) || t.discountBps <= 0 || t.discountBps > 10_000) {
      return `tier "${t.name}": discountBps must be an integer in 1..10000`;
    }
    const prev = tiers[i - 1];
    if (prev && prev.minStake >= t.minStake) return `tier "${t.name}": minStake must be above "${prev.name}"'s`;
    if (prev && prev.discountBps > t.discountBps) return `tier "${t.name}": discount must not be below "${prev.name}"'s`;
  }
  return null;
}

/** The highest tier whose threshold the effective stake reaches. `tiers` is sorted ascending. */
export function tierFor(effective: bigint, tiers: readonly DiscountTier[]): TierMatch {
  let match: TierMatch = NO_TIER;
  for (const t of tiers) {
    if (effective >= t.minStake) match = { name: t.name, discountBps: t.discountBps, priority: t.priority };
  }
  return match;
}

/** A tier table as stored and sent (JSON): minStake as a decimal string of KAMIYO base units. */
export type TierTableJson = Array<{ name: string; minStake: string; discountBps: number; priority: Priority }>;

export function tierTableToJson(tiers: readonly DiscountTier[]): TierTableJson {
  return tiers.map((t) => ({ name: t.name, minStake: t.minStake.toString(), discountBps: t.discountBps, priority: t.priority }));
}

const PRIORITIES: readonly string[] = ["standard", "priority", "premium"];

/** The table in `json`, or null when it is not a valid tier table (a reader then keeps what it has). */
export function tierTableFromJson(json: unknown): DiscountTier[] | null {
  if (!Array.isArray(json)) return null;
  const tiers: DiscountTier[] = [];
  for (const t of json as unknown[]) {
    const r = t as Record<string, unknown> | null;
    if (typeof r !== "object" || r === null) return null;
    if (typeof r.name !== "string" || typeof r.minStake !== "string" || !/^\d{1,20}$/.test(r.minStake)) return null;
    if (typeof r.discountBps !== "number" || typeof r.priority !== "string" || !PRIORITIES.includes(r.priority)) return null;
    tiers.push({ name: r.name, minStake: BigInt(r.minStake), discountBps: r.discountBps, priority: r.priority as Priority });
  }
  return validateTiers(tiers) === null ? tiers : null;
}

/** Whether two tables give every stake the same tier. */
export function sameTierTable(a: readonly DiscountTier[], b: readonly DiscountTier[]): boolean {
  return JSON.stringify(tierTableToJson(a)) === JSON.stringify(tierTableToJson(b));
}
