import { describe, expect, it } from "vitest";
import { formatUnits, KAMIYO_DECIMALS, parseInteger, parseUnits, U64_MAX, USDC_DECIMALS } from "../../src/domain/units.ts";

describe("parseUnits", () => {
  it.each([
    ["0.10", 6, 100_000n],
    ["0.1", 6, 100_000n],
    ["1", 6, 1_000_000n],
    ["0", 6, 0n],
    ["0.000001", 6, 1n],
    ["123.456789", 6, 123_456_789n],
    ["1000000", 9, 10n ** 15n],
    ["18446744073.709551615", 9, U64_MAX],
    ["5", 0, 5n],
  ])("%s with %i decimals", (text, decimals, expected) => {
    expect(parseUnits(text, decimals)).toBe(expected);
  });

  it.each(["1e3", "-1", "0.1234567", "", " ", ".5", "1.", "01", "+1", "1,5", "0x10", "Infinity", "NaN", "1 000"])(
    "refuses %j for 6 decimals",
    (text) => {
      expect(() => parseUnits(text, USDC_DECIMALS)).toThrow(RangeError);
    },
  );

  it("names the problem in one line", () => {
    expect(() => parseUnits("0.1234567", 6)).toThrow('"0.1234567" has more than 6 decimal places');
    expect(() => parseUnits("1e3", 6)).toThrow('not a non-negative decimal amount: "1e3"');
  });
});

describe("formatUnits", () => {
  it.each([
    [100_000n, 6, "0.1"],
    [1n, 6, "0.000001"],
    [0n, 6, "0"],
    [1_000_000n, 6, "1"],
    [U64_MAX, 9, "18446744073.709551615"],
    [-1_500_000n, 6, "-1.5"],
  ])("%s with %i decimals is %s", (amount, decimals, text) => {
    expect(formatUnits(amount, decimals)).toBe(text);
  });

  it.each([0n, 1n, 9n, 10n, 99_999n, 100_000n, 123_456_789n, 10n ** 15n, U64_MAX])("round-trips %s", (amount) => {
    for (const decimals of [USDC_DECIMALS, KAMIYO_DECIMALS]) {
      expect(parseUnits(formatUnits(amount, decimals), decimals)).toBe(amount);
    }
  });

  it.each(["0.1", "1", "0.000001", "42.5"])("parse then format returns the canonical text %s", (text) => {
    expect(formatUnits(parseUnits(text, USDC_DECIMALS), USDC_DECIMALS)).toBe(text);
  });
});

describe("parseInteger", () => {
  it("reads NUMERIC and JSON u64 strings exactly", () => {
    expect(parseInteger("18446744073709551615")).toBe(U64_MAX);
    expect(parseInteger("-42")).toBe(-42n);
  });

  it.each(["1.0", "1e3", "", "abc", " 1"])("refuses %j", (text) => {
    expect(() => parseInteger(text)).toThrow(RangeError);
  });
});
