/** Token balances of a transaction's accounts, as getTransaction reports them in pre/postTokenBalances. */
import { AccountLayout, ACCOUNT_SIZE, MintLayout, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID } from "@solana/spl-token";
import { PublicKey } from "@solana/web3.js";
import type { AccountState, TokenBalance } from "./types.ts";

const TOKEN_PROGRAMS = new Set([TOKEN_PROGRAM_ID.toBase58(), TOKEN_2022_PROGRAM_ID.toBase58()]);
const ACCOUNT_TYPE_OFFSET = ACCOUNT_SIZE; // Token-2022 writes an account-type byte after the base layout
const ACCOUNT_TYPE_ACCOUNT = 2;

export function isTokenAccount(a: AccountState): boolean {
  if (!TOKEN_PROGRAMS.has(a.owner) || a.data.length < ACCOUNT_SIZE) return false;
  return a.data.length === ACCOUNT_SIZE || a.data[ACCOUNT_TYPE_OFFSET] === ACCOUNT_TYPE_ACCOUNT;
}

export function mintDecimals(mint: AccountState | null): number | null {
  if (!mint || !TOKEN_PROGRAMS.has(mint.owner) || mint.data.length < MintLayout.span) return null;
  return MintLayout.decode(mint.data).decimals;
}

export function tokenBalances(
  keys: readonly string[],
  accounts: ReadonlyMap<string, AccountState | null>,
  getAccount: (pubkey: string) => AccountState | null,
): TokenBalance[] {
  const out: TokenBalance[] = [];
  keys.forEach((key, accountIndex) => {
    const a = accounts.get(key);
    if (!a || !isTokenAccount(a)) return;
    const decoded = AccountLayout.decode(a.data);
    if (decoded.state === 0) return;
    const mint = new PublicKey(decoded.mint).toBase58();
    const decimals = mintDecimals(getAccount(mint));
    if (decimals === null) return;
    out.push({
      accountIndex,
      mint,
      owner: new PublicKey(decoded.owner).toBase58(),
      programId: a.owner,
      amount: decoded.amount,
      decimals,
    });
  });
  return out;
}
