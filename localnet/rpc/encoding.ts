/**
 * Account encodings of the validator's UiAccount: binary (legacy base58 string), base58, base64, base64+zstd and
 * jsonParsed (the token programs, lookup tables, nonce, stake, vote, config, upgradeable loader and sysvars; other
 * owners fall back to base64), with dataSlice.
 */
import { zstdCompressSync } from "node:zlib";
import type { AccountState, ChainApi } from "../types.ts";
import { encodeBase58 } from "../../src/solana/base58.ts";
import { invalidRequest } from "./errors.ts";
import { stringifyJson } from "./json.ts";
import { oneOf, usizeParam, configParam } from "./params.ts";
import { parseProgramAccount } from "./account-parsers.ts";
import { parseTokenProgramAccount } from "./token-accounts.ts";

export type AccountEncoding = "binary" | "base58" | "base64" | "base64+zstd" | "jsonParsed";
export const ACCOUNT_ENCODINGS: readonly AccountEncoding[] = ["binary", "base58", "base64", "base64+zstd", "jsonParsed"];
export const MAX_BASE58_BYTES = 128;

export interface DataSlice {
  offset: number;
  length: number;
}

export interface AccountEncodingConfig {
  encoding: AccountEncoding;
  dataSlice: DataSlice | null;
}

/** Reads `encoding` and `dataSlice` from a config object; `fallback` is the method's default encoding. */
export function accountEncodingConfig(config: Record<string, unknown>, fallback: AccountEncoding): AccountEncodingConfig {
  const encoding = oneOf(config.encoding, "encoding", ACCOUNT_ENCODINGS, fallback);
  let dataSlice: DataSlice | null = null;
  if (config.dataSlice !== undefined && config.dataSlice !== null) {
    const slice = configParam(config.dataSlice, "dataSlice");
    dataSlice = { offset: usizeParam(slice.offset, "dataSlice.offset"), length: usizeParam(slice.length, "dataSlice.length") };
  }
  if (encoding === "jsonParsed" && dataSlice) {
    throw invalidRequest("Sliced account data can only be encoded using binary (base 58) or base64 encoding.");
  }
  return { encoding, dataSlice };
}

function sliced(data: Uint8Array, slice: DataSlice | null): Uint8Array {
  if (!slice) return data;
  const start = Math.min(slice.offset, data.length);
  return data.subarray(start, Math.min(data.length, start + slice.length));
}

/** Throws the validator's -32600 when base58 output would exceed 128 bytes of data. */
export function checkEncodable(account: AccountState, config: AccountEncodingConfig): void {
  if ((config.encoding === "binary" || config.encoding === "base58") && sliced(account.data, config.dataSlice).length > MAX_BASE58_BYTES) {
    throw invalidRequest(
      `Encoded binary (base 58) data should be less than ${MAX_BASE58_BYTES} bytes, please use Base64 encoding.`,
    );
  }
}

/** `pubkey` lets jsonParsed decode accounts known by address (sysvars, stake config); without it they stay base64. */
export function encodeAccountData(chain: ChainApi, account: AccountState, config: AccountEncodingConfig, pubkey?: string): unknown {
  const data = sliced(account.data, config.dataSlice);
  switch (config.encoding) {
    case "binary":
      return encodeBase58(data);
    case "base58":
      return [encodeBase58(data), "base58"];
    case "base64":
      return [Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64"), "base64"];
    case "base64+zstd":
      return [zstdCompressSync(data).toString("base64"), "base64+zstd"];
    case "jsonParsed":
      return (
        parseTokenProgramAccount(chain, account) ??
        parseProgramAccount(pubkey, account) ?? [Buffer.from(data).toString("base64"), "base64"]
      );
  }
}

/** The validator's UiAccount. Call checkEncodable first. */
export function uiAccount(chain: ChainApi, account: AccountState, config: AccountEncodingConfig, pubkey?: string): Record<string, unknown> {
  return {
    data: encodeAccountData(chain, account, config, pubkey),
    executable: account.executable,
    lamports: account.lamports,
    owner: account.owner,
    rentEpoch: account.rentEpoch,
    space: account.data.length,
  };
}

/**
 * The UiAccount as JSON text, written directly for the binary encodings (no escaping is ever needed: base58,
 * base64 and u64 digits), which keeps large getProgramAccounts responses cheap.
 */
export function uiAccountText(chain: ChainApi, account: AccountState, config: AccountEncodingConfig, pubkey?: string): string {
  if (config.encoding === "jsonParsed") return stringifyJson(uiAccount(chain, account, config, pubkey));
  let data: string;
  if (config.encoding === "base64") {
    const bytes = sliced(account.data, config.dataSlice);
    data = `["${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")}","base64"]`;
  } else {
    data = JSON.stringify(encodeAccountData(chain, account, config));
  }
  return (
    `{"data":${data},"executable":${account.executable},"lamports":${account.lamports},` +
    `"owner":"${account.owner}","rentEpoch":${account.rentEpoch},"space":${account.data.length}}`
  );
}

/** A closed account as the validator notifies it: zero lamports, no data, owned by the System Program. */
export const CLOSED_ACCOUNT: AccountState = Object.freeze({
  lamports: 0n,
  data: new Uint8Array(0),
  owner: "11111111111111111111111111111111",
  executable: false,
  rentEpoch: 0n,
});
