/** getProgramAccounts / programSubscribe filters: dataSize, memcmp (base58 or base64 bytes), tokenAccountState. */
import { decodeBase58 } from "../../src/solana/base58.ts";
import { invalidParams } from "./errors.ts";
import { configParam, describe, u64Param, usizeParam } from "./params.ts";
import { TOKEN_ACCOUNT_SIZE } from "./token-accounts.ts";

export const MAX_FILTERS = 4;
export const MAX_MEMCMP_BYTES = 128;
const MAX_BASE58_TEXT = 175;
const MAX_BASE64_TEXT = 172;

export type AccountFilter =
  | { kind: "dataSize"; size: number }
  | { kind: "memcmp"; offset: number; bytes: Uint8Array }
  | { kind: "tokenAccountState" };

function memcmpFilter(value: unknown): AccountFilter {
  const memcmp = configParam(value, "memcmp");
  const offset = usizeParam(memcmp.offset, "memcmp.offset");
  const encoding = memcmp.encoding ?? "base58";
  const text = memcmp.bytes;
  if (typeof text !== "string") {
    throw invalidParams(`Invalid params: memcmp.bytes: invalid type: ${describe(text)}, expected a string`);
  }
  let bytes: Uint8Array | null;
  if (encoding === "base58" || encoding === "binary") {
    if (text.length > MAX_BASE58_TEXT) throw invalidParams("Invalid param: DataTooLarge");
    bytes = decodeBase58(text);
    if (bytes === null) throw invalidParams(`Invalid param: Base58DecodeError (memcmp.bytes ${JSON.stringify(text)} is not base58)`);
  } else if (encoding === "base64") {
    if (text.length > MAX_BASE64_TEXT) throw invalidParams("Invalid param: DataTooLarge");
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
      throw invalidParams(`Invalid param: Base64DecodeError (memcmp.bytes ${JSON.stringify(text)} is not base64)`);
    }
    bytes = new Uint8Array(Buffer.from(text, "base64"));
  } else {
    throw invalidParams(
      `Invalid params: memcmp.encoding: unknown variant ${describe(encoding)}, expected one of \`base58\`, \`base64\``,
    );
  }
  if (bytes.length > MAX_MEMCMP_BYTES) throw invalidParams("Invalid param: DataTooLarge");
  return { kind: "memcmp", offset, bytes };
}

/** Parses and verifies the `filters` member (absent means no filters). */
export function parseFilters(value: unknown): AccountFilter[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalidParams(`Invalid params: filters: invalid type: ${describe(value)}, expected a sequence`);
  if (value.length > MAX_FILTERS) throw invalidParams(`Too many filters provided; max ${MAX_FILTERS}`);
  return value.map((filter): AccountFilter => {
    if (filter === "tokenAccountState") return { kind: "tokenAccountState" };
    const f = configParam(filter, "filter");
    const keys = Object.keys(f);
    if (keys.length !== 1) {
      throw invalidParams("Invalid params: filter must have exactly one of `dataSize`, `memcmp`, `tokenAccountState`");
    }
    if ("dataSize" in f) {
      const size = u64Param(f.dataSize, "dataSize");
      return { kind: "dataSize", size: size > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(size) };
    }
    if ("memcmp" in f) return memcmpFilter(f.memcmp);
    if ("tokenAccountState" in f) return { kind: "tokenAccountState" };
    throw invalidParams(`Invalid params: unknown filter \`${keys[0]}\`, expected one of \`dataSize\`, \`memcmp\`, \`tokenAccountState\``);
  });
}

function memcmpMatches(data: Uint8Array, offset: number, bytes: Uint8Array): boolean {
  if (offset + bytes.length > data.length) return false;
  for (let i = 0; i < bytes.length; i++) if (data[offset + i] !== bytes[i]) return false;
  return true;
}

export function matchesFilters(data: Uint8Array, filters: readonly AccountFilter[]): boolean {
  for (const f of filters) {
    switch (f.kind) {
      case "dataSize":
        if (data.length !== f.size) return false;
        break;
      case "memcmp":
        if (!memcmpMatches(data, f.offset, f.bytes)) return false;
        break;
      case "tokenAccountState": {
        const typed = data.length === TOKEN_ACCOUNT_SIZE || (data.length > TOKEN_ACCOUNT_SIZE && data[TOKEN_ACCOUNT_SIZE] === 2);
        if (!typed || data[108] === 0) return false;
        break;
      }
    }
  }
  return true;
}
