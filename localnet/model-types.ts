/**
 * Program models: TypeScript stand-ins for on-chain programs that cannot be built here, and the runtime the
 * chain gives them.
 */
import type { AccountState } from "./types.ts";

export interface ModelAccountMeta {
  pubkey: string;
  isSigner: boolean;
  isWritable: boolean;
}

export interface ModelInstruction {
  programId: string;
  accounts: ModelAccountMeta[];
  data: Uint8Array;
}

/**
 * The runtime a model executes in. Reads see the writes made earlier in the same transaction.
 * On any thrown error the chain rolls back every account the transaction touched.
 */
export interface ModelContext {
  /** Clock sysvar unix_timestamp (seconds). */
  now(): bigint;
  slot(): bigint;
  getAccount(pubkey: string): AccountState | null;
  /** Writes an account owned by the model's program (the runtime rejects writes to others). */
  setAccount(pubkey: string, account: AccountState): void;
  /**
   * Cross-program invocation into a real program (System, Token, Token-2022, ATA) executed by LiteSVM.
   * `pdaSigners` are program-derived addresses of the calling program that sign by seeds; every other
   * signer must have signed the outer transaction. Throws ModelInstructionError with the callee's error.
   */
  invoke(ix: ModelInstruction, pdaSigners?: string[]): void;
  /** Appends "Program log: <message>". */
  log(message: string): void;
  /** Appends "Program data: <base64>" (Anchor's emit!). */
  emit(data: Uint8Array): void;
  minimumBalanceForRentExemption(dataLength: number): bigint;
  /** Charges compute units (for the "consumed N of M" log line). */
  consume(units: number): void;
}

export interface ProgramModel {
  readonly programId: string;
  /** Executes one instruction addressed to this program. Throws ModelInstructionError on failure. */
  execute(ix: ModelInstruction, ctx: ModelContext): void;
}

/** An instruction failed: `error` is the InstructionError JSON, e.g. {"Custom":6013} or "MissingRequiredSignature". */
export class ModelInstructionError extends Error {
  override name = "ModelInstructionError";
  readonly error: string | Record<string, unknown>;
  constructor(error: string | Record<string, unknown>, message?: string) {
    super(message ?? (typeof error === "string" ? error : JSON.stringify(error)));
    this.error = error;
  }
}
