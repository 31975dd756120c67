/**
 * Instruction data as Anchor's dispatcher reads it: an 8-byte discriminator, then Borsh arguments
 * (`deserialize`, so trailing bytes are ignored). Decoding goes through the IDL's instruction coder.
 */
import BN from "bn.js";
import { STAKING_IDL, stakingCoder } from "../../src/solana/program.ts";
import { langError } from "./anchor-errors.ts";

export type RawArgs = Record<string, unknown>;

/** `anchor_lang::idl::IDL_IX_TAG` and `anchor_lang::event::EVENT_IX_TAG`, little-endian. */
const IDL_IX_TAG = Buffer.from("40f4bc78a7e9690a", "hex");
const EVENT_IX_TAG = Buffer.from("e445a52e51cb9a1d", "hex");

/**
 * Borsh's decoder in JS reads a truncated integer silently, so a decode is accepted only when re-encoding
 * the value reproduces the bytes it came from (Borsh has one encoding per value).
 */
function decodeArgs(name: string, data: Buffer): RawArgs {
  let decoded: { name: string; data: object } | null;
  try {
    decoded = stakingCoder.instruction.decode(data);
  } catch {
    throw langError("InstructionDidNotDeserialize");
  }
  if (!decoded || decoded.name !== name) throw langError("InstructionDidNotDeserialize");
  const reencoded = stakingCoder.instruction.encode(name, decoded.data);
  if (reencoded.length > data.length || !reencoded.equals(data.subarray(0, reencoded.length))) {
    throw langError("InstructionDidNotDeserialize");
  }
  return decoded.data as RawArgs;
}

/** `try_entry` + `dispatch`: the IDL name of the instruction the data selects, or the Anchor error. */
export function selectInstruction(data: Uint8Array): string {
  const bytes = Buffer.from(data);
  if (bytes.length < 8) throw langError("InstructionMissing");
  const discriminator = bytes.subarray(0, 8);
  const ix = STAKING_IDL.instructions.find((i) => discriminator.equals(Buffer.from(i.discriminator)));
  if (ix) return ix.name;
  // The model stands for a build without the IDL-management instructions (`no-idl`); they are not modeled.
  if (discriminator.equals(IDL_IX_TAG)) throw langError("IdlInstructionStub");
  // The program emits with `emit!`, not `emit_cpi!`: no `event-cpi` feature.
  if (discriminator.equals(EVENT_IX_TAG)) throw langError("EventInstructionStub");
  throw langError("InstructionFallbackNotFound");
}

/** The handler wrapper's `instruction::X::deserialize`, run after the "Instruction: X" log line. */
export function instructionArgs(name: string, data: Uint8Array): RawArgs {
  return decodeArgs(name, Buffer.from(data));
}

export function u64Arg(args: RawArgs, name: string): bigint {
  const value = args[name];
  if (!BN.isBN(value)) throw new TypeError(`argument ${name} is not an integer`);
  return BigInt(value.toString());
}

export function optionalBigArg(args: RawArgs, name: string): bigint | null {
  const value = args[name];
  if (value === null || value === undefined) return null;
  if (!BN.isBN(value)) throw new TypeError(`argument ${name} is not an integer`);
  return BigInt(value.toString());
}

export function optionalNumberArg(args: RawArgs, name: string): number | null {
  const value = args[name];
  if (value === null || value === undefined) return null;
  if (typeof value !== "number") throw new TypeError(`argument ${name} is not a small integer`);
  return value;
}

export function optionalBoolArg(args: RawArgs, name: string): boolean | null {
  const value = args[name];
  if (value === null || value === undefined) return null;
  if (typeof value !== "boolean") throw new TypeError(`argument ${name} is not a bool`);
  return value;
}
