/** Account reads: getAccountInfo, getMultipleAccounts, getProgramAccounts, getBalance, getTokenAccountBalance, rent. */
import type { KeyedAccount } from "../../types.ts";
import {
  accountEncodingConfig,
  checkEncodable,
  uiAccount,
  uiAccountText,
  type AccountEncodingConfig,
} from "../encoding.ts";
import { invalidParams } from "../errors.ts";
import { matchesFilters, parseFilters, type AccountFilter } from "../filters.ts";
import { boolParam, checkContext, configParam, describe, pubkeyParam, requireCount, usizeParam } from "../params.ts";
import { readTokenAccount, mintDecimals, uiTokenAmount } from "../token-accounts.ts";
import { StreamedResult, withContext, API_VERSION, type MethodContext, type MethodHandler } from "./context.ts";

export const MAX_MULTIPLE_ACCOUNTS = 100;
const CHUNK_CHARS = 64 * 1024;

const getAccountInfo: MethodHandler = (params, { chain }) => {
  requireCount(params, 1, 2);
  const pubkey = pubkeyParam(params[0]);
  const config = configParam(params[1]);
  const level = checkContext(chain, config);
  const encoding = accountEncodingConfig(config, "binary");
  const slot = chain.slot(level);
  const account = chain.getAccount(pubkey, level);
  if (!account) return withContext(slot, null);
  checkEncodable(account, encoding);
  return withContext(slot, uiAccount(chain, account, encoding));
};

const getMultipleAccounts: MethodHandler = (params, { chain }) => {
  requireCount(params, 1, 2);
  if (!Array.isArray(params[0])) {
    throw invalidParams(`Invalid params: pubkeys: invalid type: ${describe(params[0])}, expected a sequence`);
  }
  if (params[0].length > MAX_MULTIPLE_ACCOUNTS) throw invalidParams(`Too many inputs provided; max ${MAX_MULTIPLE_ACCOUNTS}`);
  const pubkeys = params[0].map((p, i) => pubkeyParam(p, `pubkeys[${i}]`));
  const config = configParam(params[1]);
  const level = checkContext(chain, config);
  const encoding = accountEncodingConfig(config, "base64");
  const slot = chain.slot(level);
  const accounts = pubkeys.map((p) => chain.getAccount(p, level));
  for (const a of accounts) if (a) checkEncodable(a, encoding);
  return withContext(
    slot,
    accounts.map((a) => (a ? uiAccount(chain, a, encoding) : null)),
  );
};

function* programAccountChunks(
  ctx: MethodContext,
  source: Iterator<KeyedAccount>,
  filters: readonly AccountFilter[],
  encoding: AccountEncodingConfig,
  contextSlot: bigint | null,
): Generator<string> {
  let buffer = contextSlot === null ? "[" : `{"context":{"apiVersion":"${API_VERSION}","slot":${contextSlot}},"value":[`;
  let first = true;
  for (let next = source.next(); !next.done; next = source.next()) {
    const { pubkey, account } = next.value;
    if (account.lamports === 0n || !matchesFilters(account.data, filters)) continue;
    buffer += `${first ? "" : ","}{"account":${uiAccountText(ctx.chain, account, encoding)},"pubkey":"${pubkey}"}`;
    first = false;
    if (buffer.length >= CHUNK_CHARS) {
      yield buffer;
      buffer = "";
    }
  }
  yield buffer + (contextSlot === null ? "]" : "]}");
}

/** An iterator that yields `head` (already pulled) and then the rest of `rest`. */
function* resume<T>(head: IteratorResult<T>, rest: Iterator<T>): Generator<T> {
  if (head.done) return;
  yield head.value;
  for (let next = rest.next(); !next.done; next = rest.next()) yield next.value;
}

/**
 * Accounts are filtered and encoded while the response is written, so neither the matches nor the JSON text
 * are ever held whole. The first account is pulled here, before anything else can run, which makes the chain
 * take its account list at request time (LiteSVM copies the program's accounts when iteration starts).
 * The base58 encodings can fail per account (over 128 bytes), so for them the matches are collected and
 * checked before the first byte is written.
 */
const getProgramAccounts: MethodHandler = (params, ctx) => {
  const { chain } = ctx;
  requireCount(params, 1, 2);
  const programId = pubkeyParam(params[0], "program id");
  const config = configParam(params[1]);
  const level = checkContext(chain, config);
  const encoding = accountEncodingConfig(config, "binary");
  const filters = parseFilters(config.filters);
  const contextSlot = boolParam(config.withContext, "withContext", false) ? chain.slot(level) : null;
  const accounts = chain.getProgramAccounts(programId, level)[Symbol.iterator]();
  if (encoding.encoding === "binary" || encoding.encoding === "base58") {
    const matches: KeyedAccount[] = [];
    for (let next = accounts.next(); !next.done; next = accounts.next()) {
      const { account } = next.value;
      if (account.lamports === 0n || !matchesFilters(account.data, filters)) continue;
      checkEncodable(account, encoding);
      matches.push(next.value);
    }
    return new StreamedResult(programAccountChunks(ctx, matches[Symbol.iterator](), [], encoding, contextSlot));
  }
  const source = resume(accounts.next(), accounts);
  return new StreamedResult(programAccountChunks(ctx, source, filters, encoding, contextSlot));
};

const getBalance: MethodHandler = (params, { chain }) => {
  requireCount(params, 1, 2);
  const pubkey = pubkeyParam(params[0]);
  const level = checkContext(chain, configParam(params[1]));
  return withContext(chain.slot(level), chain.getAccount(pubkey, level)?.lamports ?? 0n);
};

const getTokenAccountBalance: MethodHandler = (params, { chain }) => {
  requireCount(params, 1, 2);
  const pubkey = pubkeyParam(params[0]);
  const level = checkContext(chain, configParam(params[1]));
  const slot = chain.slot(level);
  const account = chain.getAccount(pubkey, level);
  if (!account) throw invalidParams("Invalid param: could not find account");
  const token = readTokenAccount(account);
  if (!token) throw invalidParams("Invalid param: not a Token account");
  const decimals = mintDecimals(chain, token.mint);
  if (decimals === null) throw invalidParams("Invalid param: could not find mint");
  return withContext(slot, uiTokenAmount(token.amount, decimals));
};

const getMinimumBalanceForRentExemption: MethodHandler = (params, { chain }) => {
  requireCount(params, 1, 2);
  const length = usizeParam(params[0], "data length");
  checkContext(chain, configParam(params[1]));
  return chain.minimumBalanceForRentExemption(length);
};

export const accountMethods: Record<string, MethodHandler> = {
  getAccountInfo,
  getMultipleAccounts,
  getProgramAccounts,
  getBalance,
  getTokenAccountBalance,
  getMinimumBalanceForRentExemption,
};
