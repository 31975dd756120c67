/**
 * Postgres array literals built directly, for unnest() parameters (the stake write path, reconciliation).
 * pg's own array serialisation quotes and regex-escapes every element; the values here are almost all
 * base58, digits or short names that need no quoting, and a million-row backfill spends seconds on that
 * escaping otherwise.
 */

/** Elements that can appear unquoted: no whitespace, quotes, backslashes, commas or braces, and not NULL. */
const BARE = /^[A-Za-z0-9_.:+-]+$/;

export type ArrayElement = string | number | bigint | boolean | null;

function element(value: ArrayElement): string {
  if (value === null) return "NULL";
  if (typeof value === "boolean") return value ? "t" : "f";
  if (typeof value !== "string") return value.toString();
  if (BARE.test(value) && value.toUpperCase() !== "NULL") return value;
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** `{a,b,NULL}`: pass as a text parameter and cast (`$1::text[]`, `$2::numeric[]`). */
export function arrayLiteral(values: readonly ArrayElement[]): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ",";
    out += element(values[i]!);
  }
  return `${out}}`;
}
