/**
 * JSON text with u64 values written as exact number literals, the way the validator writes lamports and slots.
 * A bigint anywhere in a value is emitted through JSON.rawJSON, so nothing passes through a float.
 */

const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

function replacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? rawJSON(value.toString()) : value;
}

export function stringifyJson(value: unknown): string {
  return JSON.stringify(value, replacer);
}

