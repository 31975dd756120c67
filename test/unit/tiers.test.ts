import { describe, expect, it } from "vitest";
import { DEFAULT_TIERS, effectiveStake, NO_TIER, tierFor, validateTiers, type DiscountTier } from "../../src/domain/tiers.ts";
import { U64_MAX } from "../../src/domain/units.ts";

const KAMIYO = 10n ** 9n;

describe("effectiveStake", () => {
  it("is staked_amount when no cooldown is active", () => {
    expect(effectiveStake({ stakedAmount: 750_000n * KAMIYO, cooldownAmount: 0n, cooldownEnd: null })).toBe(750_000n * KAMIYO);
  });

  it("ignores a stale cooldown_amount when cooldown_end is None", () => {
    expect(effectiveStake({ stakedAmount: 10n, cooldownAmount: 7n, cooldownEnd: null })).toBe(10n);
  });

  it("drops the amount in cooldown at once, before the cooldown ends", () => {
    const s = { stakedAmount: 1_000_000n * KAMIYO, cooldownAmount: 600_000n * KAMIYO, cooldownEnd: 1_900_000_000n };
    expect(effectiveStake(s)).toBe(400_000n * KAMIYO);
  });

  it("still drops it after cooldown_end has passed but before withdraw", () => {
    expect(effectiveStake({ stakedAmount: 100n, cooldownAmount: 100n, cooldownEnd: 0n })).toBe(0n);
  });

  it("is never negative", () => {
    expect(effectiveStake({ stakedAmount: 5n, cooldownAmount: 9n, cooldownEnd: 1n })).toBe(0n);
  });

  it("is 0 for a closed account whatever its last amounts", () => {
    expect(effectiveStake({ stakedAmount: U64_MAX, cooldownAmount: 0n, cooldownEnd: null, closed: true })).toBe(0n);
  });

  it("handles u64 max exactly", () => {
    expect(effectiveStake({ stakedAmount: U64_MAX, cooldownAmount: 0n, cooldownEnd: null })).toBe(18_446_744_073_709_551_615n);
    expect(effectiveStake({ stakedAmount: U64_MAX, cooldownAmount: 1n, cooldownEnd: 5n })).toBe(U64_MAX - 1n);
  });
});

describe("tierFor with the default table", () => {
  const cases: [string, bigint, string, number][] = [
    ["zero", 0n, "none", 0],
    ["just below 100k", 100_000n * KAMIYO - 1n, "none", 0],
    ["exactly 100k", 100_000n * KAMIYO, "silver", 1000],
    ["just below 500k", 500_000n * KAMIYO - 1n, "silver", 1000],
    ["exactly 500k", 500_000n * KAMIYO, "gold", 2000],
    ["just below 1M", 1_000_000n * KAMIYO - 1n, "gold", 2000],
    ["exactly 1M", 1_000_000n * KAMIYO, "platinum", 3000],
    ["u64 max", U64_MAX, "platinum", 3000],
  ];
  it.each(cases)("%s", (_label, stake, name, bps) => {
    const t = tierFor(stake, DEFAULT_TIERS);
    expect(t.name).toBe(name);
    expect(t.discountBps).toBe(bps);
  });

  it("counts thresholds in base units: 1M KAMIYO is 10^15", () => {
    expect(DEFAULT_TIERS.map((t) => t.minStake)).toEqual([10n ** 14n, 5n * 10n ** 14n, 10n ** 15n]);
  });

  it("stays exact above 2^53, where a number would round", () => {
    const above = 2n ** 53n + 1n;
    expect(tierFor(above, DEFAULT_TIERS).name).toBe("platinum");
    expect(effectiveStake({ stakedAmount: above, cooldownAmount: 1n, cooldownEnd: 1n })).toBe(2n ** 53n);
  });

  it("prices a stake in cooldown by what remains", () => {
    const effective = effectiveStake({ stakedAmount: 1_000_000n * KAMIYO, cooldownAmount: 1n, cooldownEnd: 1n });
    expect(tierFor(effective, DEFAULT_TIERS).name).toBe("gold");
  });

  it("maps priorities: silver and gold priority, platinum premium, none standard", () => {
    expect(tierFor(0n, DEFAULT_TIERS)).toEqual(NO_TIER);
    expect(tierFor(100_000n * KAMIYO, DEFAULT_TIERS).priority).toBe("priority");
    expect(tierFor(500_000n * KAMIYO, DEFAULT_TIERS).priority).toBe("priority");
    expect(tierFor(1_000_000n * KAMIYO, DEFAULT_TIERS).priority).toBe("premium");
  });

  it("gives nothing with an empty table", () => {
    expect(tierFor(U64_MAX, [])).toEqual(NO_TIER);
  });
});

describe("validateTiers", () => {
  const t = (name: string, minStake: bigint, discountBps: number): DiscountTier => ({ name, minStake, discountBps, priority: "standard" });

  it("accepts the default table", () => {
    expect(validateTiers(DEFAULT_TIERS)).toBeNull();
  });

  it.each([
    ["unordered thresholds", [t("a", 10n, 100), t("b", 10n, 200)], /minStake must be above "a"/],
    ["decreasing discount", [t("a", 10n, 200), t("b", 20n, 100)], /discount must not be below/],
    ["zero threshold", [t("a", 0n, 100)], /minStake must be positive/],
    ["zero discount", [t("a", 1n, 0)], /1\.\.10000/],
    ["over 100 %", [t("a", 1n, 10_001)], /1\.\.10000/],
    ["fractional discount", [t("a", 1n, 10.5)], /1\.\.10000/],
    ["the reserved name", [t("none", 1n, 100)], /not "none"/],
    ["duplicate names", [t("a", 1n, 100), t("a", 2n, 200)], /duplicate name/],
  ] as const)("refuses %s", (_label, tiers, problem) => {
    expect(validateTiers(tiers)).toMatch(problem);
  });
});
