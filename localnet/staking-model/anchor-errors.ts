/**
 * Anchor 0.30.1 errors as the program raises and logs them (`Error::log` in anchor-lang's error.rs), so that
 * `@coral-xyz/anchor`'s `AnchorError.parse` / `translateError` read the same code from the model's logs.
 */
import { LangErrorCode, LangErrorMessage } from "@coral-xyz/anchor";
import { PublicKey } from "@solana/web3.js";
import { STAKING_IDL } from "../../src/solana/program.ts";
import { ModelInstructionError, type ModelContext } from "../types.ts";

export type LangErrorName = keyof typeof LangErrorCode;

export type StakingErrorName =
  | "PoolInactive"
  | "BelowMinimumStake"
  | "InsufficientStake"
  | "CooldownAlreadyActive"
  | "NoCooldownActive"
  | "CooldownNotComplete"
  | "NoRewardsToClaim"
  | "Unauthorized"
  | "MathOverflow"
  | "InsufficientRewardFunds"
  | "InvalidAPY"
  | "InvalidCooldownPeriod"
  | "InvalidMinStakeAmount"
  | "CannotStakeDuringCooldown"
  | "InvalidAmount"
  | "RewardVaultInsufficientBalance"
  | "NoTokensStaked"
  | "MintMismatch"
  | "InvalidTokenAccountOwner"
  | "InsufficientTokenBalance"
  | "InvalidPDA"
  | "AlreadyInitialized"
  | "CalculationUnderflow"
  | "InvalidTimestamp"
  | "UpdateTooFrequent"
  | "InvalidTier";

/** anchor-lang 0.30.1's `#[msg]` where it differs from the client package's table. */
const LANG_MESSAGE_0_30: Partial<Record<LangErrorName, string>> = {
  InstructionMissing: "8 byte instruction identifier not provided",
};

/** Where Anchor says the error came from: an account of the Accounts struct, a `require!` site, or nothing. */
export type ErrorOrigin = { account: string } | { file: string; line: number } | null;
type ComparedValues = { pubkeys: [string, string] } | { values: [string, string] } | null;

export class AnchorFailure extends Error {
  override name = "AnchorFailure";
  readonly errorName: string;
  readonly code: number;
  readonly errorMessage: string;
  origin: ErrorOrigin = null;
  compared: ComparedValues = null;

  constructor(errorName: string, code: number, errorMessage: string) {
    super(`${errorName} (${code}): ${errorMessage}`);
    this.errorName = errorName;
    this.code = code;
    this.errorMessage = errorMessage;
  }

  /** `.with_account_name(name)`: replaces any source origin, keeps compared values. */
  withAccount(account: string): this {
    this.origin = { account };
    return this;
  }

  withPubkeys(left: PublicKey | string, right: PublicKey | string): this {
    this.compared = { pubkeys: [new PublicKey(left).toBase58(), new PublicKey(right).toBase58()] };
    return this;
  }

  withValues(left: string | number | bigint, right: string | number | bigint): this {
    this.compared = { values: [String(left), String(right)] };
    return this;
  }
}

/** A builtin `ProgramError` surfacing through Anchor (token_interface account unpacking). */
export type BuiltinProgramError = "InvalidAccountData" | "UninitializedAccount";

const BUILTIN: Record<BuiltinProgramError, { number: bigint; message: string }> = {
  InvalidAccountData: { number: 4n << 32n, message: "An account's data contents was invalid" },
  UninitializedAccount: { number: 10n << 32n, message: "An attempt to operate on an account that hasn't been initialized" },
};

export class ProgramFailure extends Error {
  override name = "ProgramFailure";
  readonly error: BuiltinProgramError;
  origin: ErrorOrigin = null;

  constructor(error: BuiltinProgramError) {
    super(error);
    this.error = error;
  }

  withAccount(account: string): this {
    this.origin = { account };
    return this;
  }
}

export function langError(name: LangErrorName): AnchorFailure {
  const code = LangErrorCode[name];
  const message = LANG_MESSAGE_0_30[name] ?? LangErrorMessage.get(code);
  if (message === undefined) throw new Error(`no message for Anchor error ${name}`);
  return new AnchorFailure(name, code, message);
}

const STAKING_ERRORS = new Map((STAKING_IDL.errors ?? []).map((e) => [e.name, e]));

export function stakingError(name: StakingErrorName): AnchorFailure {
  const entry = STAKING_ERRORS.get(name);
  if (!entry) throw new Error(`IDL has no error ${name}`);
  return new AnchorFailure(name, entry.code, entry.msg ?? "");
}

/** `require!(condition, StakingError::name)` at `file:line` (the `error!` macro records the site). */
export function requireThat(condition: boolean, name: StakingErrorName, file: string, line: number): void {
  if (condition) return;
  const failure = stakingError(name);
  failure.origin = { file, line };
  throw failure;
}

/** `.ok_or(StakingError::name)?`: the `From` conversion records no origin. */
export function orFail<T>(value: T | null, name: StakingErrorName): T {
  if (value === null) throw stakingError(name);
  return value;
}

/** Logs what `Error::log` logs and returns the instruction error the runtime reports. */
export function reportFailure(ctx: ModelContext, failure: AnchorFailure | ProgramFailure): ModelInstructionError {
  if (failure instanceof ProgramFailure) {
    const { number, message } = BUILTIN[failure.error];
    const tail = `Error Code: ${failure.error}. Error Number: ${number}. Error Message: ${message}.`;
    ctx.log(`ProgramError ${originText(failure.origin)}. ${tail}`);
    return new ModelInstructionError(failure.error);
  }
  const tail = `Error Code: ${failure.errorName}. Error Number: ${failure.code}. Error Message: ${failure.errorMessage}.`;
  ctx.log(`AnchorError ${originText(failure.origin)}. ${tail}`);
  const compared = failure.compared;
  if (compared && "pubkeys" in compared) {
    ctx.log("Left:");
    ctx.log(compared.pubkeys[0]);
    ctx.log("Right:");
    ctx.log(compared.pubkeys[1]);
  } else if (compared) {
    ctx.log(`Left: ${compared.values[0]}`);
    ctx.log(`Right: ${compared.values[1]}`);
  }
  return new ModelInstructionError({ Custom: failure.code });
}

function originText(origin: ErrorOrigin): string {
  if (origin === null) return "occurred";
  if ("account" in origin) return `caused by account: ${origin.account}`;
  return `thrown in ${origin.file}:${origin.line}`;
}
