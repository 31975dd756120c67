/**
 * Account reads: getAccountInfo, getMultipleAccounts, getProgramAccounts, Helius's getProgramAccountsV2 (pages by
 * pubkey, changedSinceSlot), getBalance, getTokenAccountBalance, rent.
 */
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
import { changeIndex } from "../change-index.ts";
import { boolParam, checkContext, configParam, describe, optionalU64, pubkeyParam, requireCount, usizeParam } from "../params.ts";
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
  return withContext(slot, uiAccount(chain, account, encoding, pubkey));
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
    accounts.map((a, i) => (a ? uiAccount(chain, a, encoding, pubkeys[i]) : null)),
  );
};

/**
 * The result's JSON text in chunks of about CHUNK_CHARS, from `head` (already pulled) and the rest of `rest`.
 * A chunk's pieces are joined once (no rope of += to flatten when it is written).
 */
function* programAccountChunks(
  ctx: MethodContext,
  head: IteratorResult<KeyedAccount>,
  rest: Iterator<KeyedAccount>,
  filters: readonly AccountFilter[],
  encoding: AccountEncodingConfig,
  contextSlot: bigint | null,
): Generator<string> {
  const open = contextSlot === null ? "[" : `{"context":{"apiVersion":"${API_VERSION}","slot":${contextSlot}},"value":[`;
  let pieces: string[] = [open];
  let chars = open.length;
  let separator = "";
  for (let next = head; !next.done; next = rest.next()) {
    const { pubkey, account } = next.value;
    if (account.lamports === 0n || !matchesFilters(account.data, filters)) continue;
    const piece = `${separator}{"account":${uiAccountText(ctx.chain, account, encoding, pubkey)},"pubkey":"${pubkey}"}`;
    pieces.push(piece);
    chars += piece.length;
    separator = ",";
    if (chars >= CHUNK_CHARS) {
      yield pieces.join("");
      pieces = [];
      chars = 0;
    }
  }
  pieces.push(contextSlot === null ? "]" : "]}");
  yield pieces.join("");
}

/**
 * Accounts are filtered and encoded while the response is written, so neither the matches nor the JSON text
 * are ever held whole. The first account is pulled here, before anything else can run, which makes the chain
 * take its account list at request time (LiteSVM copies the program's accounts when iteration starts).
 * The chain is handed the filters too, so that it skips reading the rest of an account they reject.
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
  changeIndex(chain);
  const accept = filters.length === 0 ? undefined : (data: Uint8Array) => matchesFilters(data, filters);
  const accounts = chain.getProgramAccounts(programId, level, accept)[Symbol.iterator]();
  if (encoding.encoding === "binary" || encoding.encoding === "base58") {
    const matches: KeyedAccount[] = [];
    for (let next = accounts.next(); !next.done; next = accounts.next()) {
      const { account } = next.value;
      if (account.lamports === 0n || !matchesFilters(account.data, filters)) continue;
      checkEncodable(account, encoding);
      matches.push(next.value);
    }
    const list = matches[Symbol.iterator]();
    return new StreamedResult(programAccountChunks(ctx, list.next(), list, [], encoding, contextSlot));
  }
  return new StreamedResult(programAccountChunks(ctx, accounts.next(), accounts, filters, encoding, contextSlot));
};

export const MAX_V2_LIMIT = 10_000;

/**
 * Helius's getProgramAccountsV2: getProgramAccounts in pages of `limit` (1..10,000, default 1,000) accounts
 * ordered by pubkey, `paginationKey` the last pubkey of the previous page (null after the last page), and
 * `changedSinceSlot`: only accounts changed at or after that slot (closed accounts are not returned, as on
 * Helius). Result `{accounts, paginationKey, totalResults}`, inside `{context, value}` with withContext.
 */
const getProgramAccountsV2: MethodHandler = (params, { chain }) => {
  requireCount(params, 1, 2);
  const programId = pubkeyParam(params[0], "program id");
  const config = configParam(params[1]);
  const level = checkContext(chain, config);
  const encoding = accountEncodingConfig(config, "base64");
  const filters = parseFilters(config.filters);
  const limit = config.limit === undefined ? 1_000 : usizeParam(config.limit, "limit");
  if (limit < 1 || limit > MAX_V2_LIMIT) throw invalidParams(`Invalid params: limit must be between 1 and ${MAX_V2_LIMIT}`);
  if (config.paginationKey !== undefined && config.paginationKey !== null && typeof config.paginationKey !== "string") {
    throw invalidParams(`Invalid params: paginationKey: invalid type: ${describe(config.paginationKey)}, expected a string`);
  }
  const after = typeof config.paginationKey === "string" ? pubkeyParam(config.paginationKey, "paginationKey") : null;
  const changedSince = optionalU64(config.changedSinceSlot, "changedSinceSlot");
  const slot = chain.slot(level);
  const index = changeIndex(chain);
  let candidates: Iterable<{ pubkey: string; account: ReturnType<typeof chain.getAccount> }>;
  if (changedSince !== undefined && changedSince >= index.since) {
    candidates = index.changedSince(changedSince).map((pubkey) => ({ pubkey, account: chain.getAccount(pubkey, level) }));
  } else candidates = chain.getProgramAccounts(programId, level);
  const matches: KeyedAccount[] = [];
  for (const { pubkey, account } of candidates) {
    if (!account || account.lamports === 0n || account.owner !== programId || !matchesFilters(account.data, filters)) continue;
    if (after !== null && pubkey <= after) continue;
    matches.push({ pubkey, account });
  }
  matches.sort((a, b) => (a.pubkey < b.pubkey ? -1 : a.pubkey > b.pubkey ? 1 : 0));
  const page = matches.slice(0, limit);
  for (const m of page) checkEncodable(m.account, encoding);
  const value = {
    accounts: page.map((m) => ({ pubkey: m.pubkey, account: uiAccount(chain, m.account, encoding) })),
    paginationKey: matches.length > limit ? page[page.length - 1]!.pubkey : null,
    totalResults: matches.length,
  };
  return boolParam(config.withContext, "withContext", false) ? withContext(slot, value) : value;
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
  getProgramAccountsV2,
  getBalance,
  getTokenAccountBalance,
  getMinimumBalanceForRentExemption,
};
