/** Exact conversions between integer base units and decimal strings. No floats anywhere. */

export const USDC_DECIMALS = 6;
export const KAMIYO_DECIMALS = 9;
export const BPS_DENOMINATOR = 10_000n;

const DECIMAL = /^(0|[1-9]\d*)(?:\.(\d+))?$/;

/** Parses "0.10" into 100000n for 6 decimals; refuses signs, exponents and excess precision. */
export function parseUnits(text: string, decimals: number): bigint {
  const match = DECIMAL.exec(text.trim());
  if (!match) throw new RangeError(`not a non-negative decimal amount: "${text}"`);
  const whole = match[1] ?? "0";
  const fraction = match[2] ?? "";
  if (fraction.length > decimals) {
    throw new RangeError(`"${text}" has more than ${decimals} decimal places`);
  }
  return BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, "0") || "0");
}

/** Formats 100000n with 6 decimals as "0.1" (trailing zeros trimmed, at least one fraction digit kept only if non-zero). */
export function formatUnits(amount: bigint, decimals: number): string {
  const negative = amount < 0n;
  const abs = negative ? -amount : amount;
  const base = 10n ** BigInt(decimals);
  const whole = abs / base;
  const fraction = (abs % base).toString().padStart(decimals, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${fraction ? `.${fraction}` : ""}`;
}

/** Parses a base-10 integer string (as JSON and SQL NUMERIC carry u64 values) into a bigint. */
export function parseInteger(text: string): bigint {
  if (!/^-?\d+$/.test(text)) throw new RangeError(`not an integer: "${text}"`);
  return BigInt(text);
}

export const U64_MAX = (1n << 64n) - 1n;
