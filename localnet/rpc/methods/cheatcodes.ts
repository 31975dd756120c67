/** Surfpool-named cheatcodes (docs.surfpool.run/rpc/cheatcodes) so tests can shape state. */
import type { AccountState, TimeTravelTarget, TokenAccountPatch } from "../../types.ts";
import { invalidParams } from "../errors.ts";
import { boolParam, configParam, oneOf, pubkeyParam, requireCount, describe, u64Param } from "../params.ts";
import { isTokenProgram, TOKEN_PROGRAM_ID } from "../token-accounts.ts";
import { epochInfo } from "./cluster.ts";
import { withContext, type MethodHandler } from "./context.ts";

function hexParam(value: unknown): Uint8Array {
  if (typeof value !== "string") throw invalidParams(`Invalid params: data: invalid type: ${describe(value)}, expected a hex string`);
  const hex = value.startsWith("0x") ? value.slice(2) : value;
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw invalidParams("Invalid params: data: expected an even-length hex string");
  return new Uint8Array(Buffer.from(hex, "hex"));
}

/** `null` clears an optional authority; a string sets it; absent leaves it. */
function optionalKey(value: unknown, what: string): string | null | undefined {
  if (value === undefined) return undefined;
  if (value === null) return null;
  return pubkeyParam(value, what);
}

const surfnet_setAccount: MethodHandler = (params, { chain }) => {
  requireCount(params, 2, 2);
  const pubkey = pubkeyParam(params[0]);
  const update = configParam(params[1], "account update");
  const patch: Partial<AccountState> = {};
  if (update.lamports !== undefined) patch.lamports = u64Param(update.lamports, "lamports");
  if (update.data !== undefined) patch.data = hexParam(update.data);
  if (update.owner !== undefined) patch.owner = pubkeyParam(update.owner, "owner");
  if (update.executable !== undefined) patch.executable = boolParam(update.executable, "executable", false);
  if (update.rentEpoch !== undefined) patch.rentEpoch = u64Param(update.rentEpoch, "rentEpoch");
  chain.setAccount(pubkey, patch);
  return withContext(chain.slot(), null);
};

const surfnet_setTokenAccount: MethodHandler = (params, { chain }) => {
  requireCount(params, 3, 4);
  const owner = pubkeyParam(params[0], "owner");
  const mint = pubkeyParam(params[1], "mint");
  const update = configParam(params[2], "token account update");
  const tokenProgram = params[3] === undefined || params[3] === null ? TOKEN_PROGRAM_ID : pubkeyParam(params[3], "token program");
  if (!isTokenProgram(tokenProgram)) throw invalidParams(`Invalid param: ${tokenProgram} is not a token program`);
  const patch: TokenAccountPatch = {};
  if (update.amount !== undefined) patch.amount = u64Param(update.amount, "amount");
  if (update.delegatedAmount !== undefined) patch.delegatedAmount = u64Param(update.delegatedAmount, "delegatedAmount");
  const delegate = optionalKey(update.delegate, "delegate");
  if (delegate !== undefined) patch.delegate = delegate;
  const closeAuthority = optionalKey(update.closeAuthority, "closeAuthority");
  if (closeAuthority !== undefined) patch.closeAuthority = closeAuthority;
  if (update.state !== undefined) {
    patch.state = oneOf(update.state, "state", ["uninitialized", "initialized", "frozen"] as const, "initialized");
  }
  chain.setTokenAccount(owner, mint, patch, tokenProgram);
  return withContext(chain.slot(), null);
};

const surfnet_timeTravel: MethodHandler = (params, ctx) => {
  requireCount(params, 0, 1);
  const config = configParam(params[0], "time travel config");
  const target: TimeTravelTarget = {};
  const given = (["absoluteSlot", "absoluteTimestamp", "absoluteEpoch"] as const).filter((k) => config[k] !== undefined && config[k] !== null);
  if (given.length !== 1) {
    throw invalidParams("Invalid params: give exactly one of `absoluteSlot`, `absoluteTimestamp` (ms), `absoluteEpoch`");
  }
  const key = given[0]!;
  target[key] = u64Param(config[key], key);
  ctx.chain.timeTravel(target);
  return epochInfo(ctx, "processed");
};

export const cheatcodeMethods: Record<string, MethodHandler> = {
  surfnet_setAccount,
  surfnet_setTokenAccount,
  surfnet_timeTravel,
};
