/**
 * What the chain derives from a transaction besides executing it: the empty account a missing one reads as,
 * whether a write changed an account, a refused simulation's report, and the loaded accounts data size.
 */
import { SystemProgram } from "@solana/web3.js";
import bs58 from "bs58";
import type { ParsedTransaction } from "./tx-parse.ts";
import type { AccountState, SimulationResult, TransactionErrorJson } from "./types.ts";

export const SYSTEM_PROGRAM = SystemProgram.programId.toBase58();

export const EMPTY = (): AccountState => ({
  lamports: 0n,
  data: new Uint8Array(0),
  owner: SYSTEM_PROGRAM,
  executable: false,
  rentEpoch: 0n,
});

export function sameAccount(a: AccountState | null, b: AccountState | null): boolean {
  if (!a || !b) return a === b;
  return (
    a.lamports === b.lamports &&
    a.owner === b.owner &&
    a.executable === b.executable &&
    Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(b.data)
  );
}

/** A simulation of a transaction refused before execution: the validator reports no fee, balances or logs. */
export function notExecuted(
  p: ParsedTransaction,
  err: TransactionErrorJson,
  replacementBlockhash: SimulationResult["replacementBlockhash"],
): SimulationResult {
  return {
    err,
    logs: [],
    unitsConsumed: 0n,
    accounts: null,
    replacementBlockhash,
    accountKeys: p.keys,
    fee: null,
    preBalances: null,
    postBalances: null,
    preTokenBalances: null,
    postTokenBalances: null,
    loadedAddresses: null,
    loadedAccountsDataSize: 0,
    innerInstructions: null,
    returnData: null,
  };
}

const ACCOUNT_BASE_SIZE = 64;
const LOOKUP_TABLE_BASE_SIZE = 8248;
const UPGRADEABLE_LOADER = "BPFLoaderUpgradeab1e11111111111111111111111";

/**
 * The loaded accounts data size as SIMD-0186 defines it: 64 bytes plus the data of every account the transaction
 * names, the program data account of every upgradeable program once, and 8248 bytes per lookup table used.
 */
export function loadedAccountsDataSize(
  p: ParsedTransaction,
  pre: ReadonlyMap<string, AccountState | null>,
  get: (k: string) => AccountState | null,
): number {
  let size = LOOKUP_TABLE_BASE_SIZE * p.tx.message.addressTableLookups.length;
  const programData = new Set<string>();
  for (const key of new Set(p.keys)) {
    const account = pre.get(key) ?? null;
    size += ACCOUNT_BASE_SIZE + (account?.data.length ?? 0);
    if (account?.owner === UPGRADEABLE_LOADER && account.executable && account.data.length >= 36) {
      programData.add(bs58.encode(account.data.subarray(4, 36)));
    }
  }
  for (const key of programData) size += ACCOUNT_BASE_SIZE + (get(key)?.data.length ?? 0);
  return size;
}
