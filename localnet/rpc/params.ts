/** Positional JSON-RPC parameters checked the way the validator's serde structs check them. */
import type { ChainApi } from "../types.ts";
import { decodeBase58 } from "../../src/solana/base58.ts";
import { invalidParams, minContextSlotNotReached } from "./errors.ts";

export type Commitment = "processed" | "confirmed" | "finalized";
const COMMITMENTS: Record<string, Commitment> = {
  processed: "processed",
  confirmed: "confirmed",
  finalized: "finalized",
  // deprecated spellings the validator still accepts
  recent: "processed",
  single: "confirmed",
  singleGossip: "confirmed",
  root: "finalized",
  max: "finalized",
};

const U64_MAX = (1n << 64n) - 1n;

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a sequence";
  if (typeof value === "string") return `string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value)}`;
  if (typeof value === "object") return "a map";
  if (typeof value === "bigint") return `integer ${value}`;
  return `${typeof value} ${String(value)}`;
}

const typeError = (what: string, value: unknown, expected: string) =>
  invalidParams(`Invalid params: ${what}: invalid type: ${describe(value)}, expected ${expected}`);

/** The params member: absent means no parameters; the validator takes positional arrays only. */
export function paramList(params: unknown): unknown[] {
  if (params === undefined || params === null) return [];
  if (Array.isArray(params)) return params;
  throw invalidParams(`Invalid params: invalid type: ${describe(params)}, expected a sequence of positional parameters`);
}

export function requireCount(params: unknown[], min: number, max: number): void {
  if (params.length < min || params.length > max) {
    const expected = min === max ? `${min}` : `${min} to ${max}`;
    throw invalidParams(`Invalid params: invalid length ${params.length}, expected ${expected} parameters`);
  }
}

export function pubkeyParam(value: unknown, what = "pubkey"): string {
  if (typeof value !== "string") throw typeError(what, value, "a base58 public key string");
  const bytes = value.length <= 44 ? decodeBase58(value) : null;
  if (bytes === null) throw invalidParams(`Invalid param: Invalid (${what} ${JSON.stringify(value.slice(0, 60))} is not base58)`);
  if (bytes.length !== 32) throw invalidParams(`Invalid param: WrongSize (${what} decodes to ${bytes.length} bytes, not 32)`);
  return value;
}

export function signatureParam(value: unknown, what = "signature"): string {
  if (typeof value !== "string") throw typeError(what, value, "a base58 signature string");
  const bytes = value.length <= 88 ? decodeBase58(value) : null;
  if (bytes === null || bytes.length !== 64) throw invalidParams(`Invalid param: Invalid signature ${JSON.stringify(value.slice(0, 100))}`);
  return value;
}

export function stringParam(value: unknown, what: string): string {
  if (typeof value !== "string") throw typeError(what, value, "a string");
  return value;
}

export function u64Param(value: unknown, what: string): bigint {
  if (typeof value === "bigint" && value >= 0n && value <= U64_MAX) return value;
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  throw typeError(what, value, "u64");
}

export function optionalU64(value: unknown, what: string): bigint | undefined {
  return value === undefined || value === null ? undefined : u64Param(value, what);
}

export function usizeParam(value: unknown, what: string): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  throw typeError(what, value, "usize");
}

export function boolParam(value: unknown, what: string, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "boolean") throw typeError(what, value, "a boolean");
  return value;
}

/** A config object (the optional last parameter); absent or null is an empty config. */
export function configParam(value: unknown, what = "config"): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw typeError(what, value, "a config object");
  return value as Record<string, unknown>;
}

export function commitmentParam(config: Record<string, unknown>): Commitment {
  const value = config.commitment;
  if (value === undefined || value === null) return "finalized";
  if (typeof value !== "string" || !(value in COMMITMENTS)) {
    throw invalidParams(
      `Invalid params: commitment: unknown variant ${describe(value)}, expected one of \`processed\`, \`confirmed\`, \`finalized\``,
    );
  }
  return COMMITMENTS[value]!;
}

/** Validates `commitment` and enforces `minContextSlot` (-32016 while the chain is behind it). */
export function checkContext(chain: ChainApi, config: Record<string, unknown>): Commitment {
  const commitment = commitmentParam(config);
  const min = optionalU64(config.minContextSlot, "minContextSlot");
  if (min !== undefined) {
    const slot = chain.slot(commitment);
    if (slot < min) throw minContextSlotNotReached(slot);
  }
  return commitment;
}

export function oneOf<T extends string>(value: unknown, what: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined || value === null) return fallback;
  if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
  throw invalidParams(
    `Invalid params: ${what}: unknown variant ${describe(value)}, expected one of ${allowed.map((a) => `\`${a}\``).join(", ")}`,
  );
}
