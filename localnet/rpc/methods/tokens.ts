/** Token reads: getTokenAccountsByOwner, getTokenAccountsByDelegate, getTokenSupply, getTokenLargestAccounts. */
import type { AccountState, ChainApi, Commitment, KeyedAccount } from "../../types.ts";
import { accountEncodingConfig, checkEncodable, uiAccount } from "../encoding.ts";
import { invalidParams } from "../errors.ts";
import { checkContext, configParam, pubkeyParam, requireCount } from "../params.ts";
import {
  isTokenProgram,
  readMint,
  readTokenAccount,
  TOKEN_2022_PROGRAM_ID,
  TOKEN_PROGRAM_ID,
  uiTokenAmount,
  type TokenAccountInfo,
} from "../token-accounts.ts";
import { withContext, type MethodHandler } from "./context.ts";

const MAX_LARGEST_TOKEN_ACCOUNTS = 20;

/** `{mint}` or `{programId}`: the token program to search and, for a mint, the mint the accounts must hold. */
function tokenFilter(chain: ChainApi, value: unknown, level: Commitment): { programId: string; mint: string | null } {
  const filter = configParam(value, "filter");
  if (typeof filter.mint === "string") {
    const mint = pubkeyParam(filter.mint, "mint");
    const account = chain.getAccount(mint, level);
    if (!account || !isTokenProgram(account.owner)) throw invalidParams("Invalid param: could not find mint");
    return { programId: account.owner, mint };
  }
  if (typeof filter.programId === "string") {
    const programId = pubkeyParam(filter.programId, "programId");
    if (programId !== TOKEN_PROGRAM_ID && programId !== TOKEN_2022_PROGRAM_ID) {
      throw invalidParams("Invalid param: unrecognized Token program id");
    }
    return { programId, mint: null };
  }
  throw invalidParams("Invalid params: filter: expected `mint` or `programId`");
}

function tokenAccountsBy(which: "owner" | "delegate"): MethodHandler {
  return (params, { chain }) => {
    requireCount(params, 2, 3);
    const wanted = pubkeyParam(params[0], which === "owner" ? "owner" : "delegate");
    const config = configParam(params[2]);
    const level = checkContext(chain, config);
    const { programId, mint } = tokenFilter(chain, params[1], level);
    const encoding = accountEncodingConfig(config, "binary");
    const matches: KeyedAccount[] = [];
    for (const keyed of chain.getProgramAccounts(programId, level)) {
      const token = readTokenAccount(keyed.account);
      if (!token || (mint !== null && token.mint !== mint)) continue;
      if ((which === "owner" ? token.owner : token.delegate) !== wanted) continue;
      checkEncodable(keyed.account, encoding);
      matches.push(keyed);
    }
    return withContext(
      chain.slot(level),
      matches.map(({ pubkey, account }) => ({ pubkey, account: uiAccount(chain, account, encoding) })),
    );
  };
}

function mintParam(chain: ChainApi, value: unknown, level: Commitment): { account: AccountState; decimals: number; supply: bigint } {
  const mint = pubkeyParam(value, "mint");
  const account = chain.getAccount(mint, level);
  if (!account) throw invalidParams("Invalid param: could not find account");
  const info = readMint(account);
  if (!info) throw invalidParams("Invalid param: not a Token mint");
  return { account, decimals: info.decimals, supply: info.supply };
}

const getTokenSupply: MethodHandler = (params, { chain }) => {
  requireCount(params, 1, 2);
  const level = checkContext(chain, configParam(params[1]));
  const { decimals, supply } = mintParam(chain, params[0], level);
  return withContext(chain.slot(level), uiTokenAmount(supply, decimals));
};

const getTokenLargestAccounts: MethodHandler = (params, { chain }) => {
  requireCount(params, 1, 2);
  const level = checkContext(chain, configParam(params[1]));
  const mint = pubkeyParam(params[0], "mint");
  const { account, decimals } = mintParam(chain, params[0], level);
  const holders: { address: string; token: TokenAccountInfo }[] = [];
  for (const { pubkey, account: candidate } of chain.getProgramAccounts(account.owner, level)) {
    const token = readTokenAccount(candidate);
    if (token && token.mint === mint) holders.push({ address: pubkey, token });
  }
  holders.sort((a, b) => (a.token.amount < b.token.amount ? 1 : a.token.amount > b.token.amount ? -1 : 0));
  return withContext(
    chain.slot(level),
    holders.slice(0, MAX_LARGEST_TOKEN_ACCOUNTS).map((h) => ({ address: h.address, ...uiTokenAmount(h.token.amount, decimals) })),
  );
};

export const tokenMethods: Record<string, MethodHandler> = {
  getTokenAccountsByOwner: tokenAccountsBy("owner"),
  getTokenAccountsByDelegate: tokenAccountsBy("delegate"),
  getTokenSupply,
  getTokenLargestAccounts,
};
