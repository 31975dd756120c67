/** Rust `Display` formatting for the values the program's `msg!` lines print. */

/**
 * Rust's `{}` for f64: the shortest digits that round-trip (as JavaScript picks them), but never in
 * exponent form, and no trailing ".0" for whole numbers.
 */
export function rustF64(value: number): string {
  const text = String(value);
  const match = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!match) return text;
  const sign = match[1] ?? "";
  const digits = (match[2] ?? "") + (match[3] ?? "");
  const exponent = Number(match[4]);
  if (exponent < 0) return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`;
  const integerLength = exponent + 1;
  if (digits.length <= integerLength) return sign + digits + "0".repeat(integerLength - digits.length);
  return `${sign}${digits.slice(0, integerLength)}.${digits.slice(integerLength)}`;
}

/** `amount as f64 / 1e9`: u64 to f64 rounds to nearest like `Number(bigint)`, then an IEEE division. */
export function kamiyo(amount: bigint): string {
  return rustF64(Number(amount) / 1e9);
}

/** `bps as f64 / 100.0`. */
export function percent(bps: number): string {
  return rustF64(bps / 100);
}

/** i64 `/` truncates toward zero, as bigint division does. */
export function days(seconds: bigint): string {
  return (seconds / 86_400n).toString();
}
