/** getTransaction's result (json, jsonParsed, base64, base58) built from the chain's TxRecord. */
import type { InnerInstructions, ReturnData, SimulationResult, TokenBalance, TxRecord } from "../types.ts";
import { encodeBase58 } from "../../src/solana/base58.ts";
import { unsupportedTransactionVersion } from "./errors.ts";
import { parseInstruction } from "./instruction-parsers.ts";
import { uiTokenAmount } from "./token-accounts.ts";
import { decodeTransaction, type WireMessage, type WireTransaction } from "./tx-wire.ts";

export type TransactionEncoding = "json" | "jsonParsed" | "base64" | "base58";

const UPGRADEABLE_LOADER = "BPFLoaderUpgradeab1e11111111111111111111111";

/** Builtin programs and sysvars: the runtime never write-locks them, so the validator shows them read-only. */
const RESERVED_KEYS = new Set([
  "11111111111111111111111111111111",
  "AddressLookupTab1e1111111111111111111111111",
  "BPFLoader1111111111111111111111111111111111",
  "BPFLoader2111111111111111111111111111111111",
  UPGRADEABLE_LOADER,
  "ComputeBudget111111111111111111111111111111",
  "Config1111111111111111111111111111111111111",
  "Ed25519SigVerify111111111111111111111111111",
  "Feature111111111111111111111111111111111111",
  "KeccakSecp256k11111111111111111111111111111",
  "LoaderV411111111111111111111111111111111111",
  "NativeLoader1111111111111111111111111111111",
  "Secp256r1SigVerify1111111111111111111111111",
  "Stake11111111111111111111111111111111111111",
  "StakeConfig11111111111111111111111111111111",
  "Vote111111111111111111111111111111111111111",
  "ZkE1Gama1Proof11111111111111111111111111111",
  "Sysvar1111111111111111111111111111111111111",
  "SysvarC1ock11111111111111111111111111111111",
  "SysvarEpochRewards1111111111111111111111111",
  "SysvarEpochSchedu1e111111111111111111111111",
  "SysvarFees111111111111111111111111111111111",
  "Sysvar1nstructions1111111111111111111111111",
  "SysvarLastRestartS1ot1111111111111111111111",
  "SysvarRecentB1ockHashes11111111111111111111",
  "SysvarRent111111111111111111111111111111111",
  "SysvarRewards111111111111111111111111111111",
  "SysvarS1otHashes111111111111111111111111111",
  "SysvarS1otHistory11111111111111111111111111",
  "SysvarStakeHistory1111111111111111111111111",
]);

interface KeyFlags {
  signer: boolean[];
  writable: boolean[];
}

/** Signer and writable flags for every key (static then loaded), with the runtime's demotions applied. */
export function keyFlags(message: WireMessage, keys: string[], loadedWritable: number): KeyFlags {
  const { numRequiredSignatures: sigs, numReadonlySignedAccounts: roSigned, numReadonlyUnsignedAccounts: roUnsigned } = message.header;
  const n = message.staticKeys.length;
  const programIndexes = new Set(message.instructions.map((ix) => ix.programIdIndex));
  const upgradeableLoaderPresent = keys.includes(UPGRADEABLE_LOADER);
  const signer: boolean[] = [];
  const writable: boolean[] = [];
  for (let i = 0; i < keys.length; i++) {
    signer.push(i < sigs);
    let w: boolean;
    if (i < sigs) w = i < sigs - roSigned;
    else if (i < n) w = i < n - roUnsigned;
    else w = i < n + loadedWritable;
    if (w && RESERVED_KEYS.has(keys[i]!)) w = false;
    if (w && programIndexes.has(i) && !upgradeableLoaderPresent) w = false;
    writable.push(w);
  }
  return { signer, writable };
}

export function tokenBalancesJson(balances: readonly TokenBalance[]) {
  return balances.map((b) => ({
    accountIndex: b.accountIndex,
    mint: b.mint,
    owner: b.owner,
    programId: b.programId,
    uiTokenAmount: uiTokenAmount(b.amount, b.decimals),
  }));
}

function lookupsJson(message: WireMessage) {
  return message.addressTableLookups.map((l) => ({
    accountKey: l.accountKey,
    writableIndexes: l.writableIndexes,
    readonlyIndexes: l.readonlyIndexes,
  }));
}

function rawMessageJson(message: WireMessage): Record<string, unknown> {
  const out: Record<string, unknown> = {
    accountKeys: message.staticKeys,
    header: message.header,
    recentBlockhash: message.recentBlockhash,
    instructions: message.instructions.map((ix) => ({
      programIdIndex: ix.programIdIndex,
      accounts: ix.accounts,
      data: encodeBase58(ix.data),
      stackHeight: null,
    })),
  };
  // the validator leaves addressTableLookups out of legacy messages
  if (message.version !== "legacy") out.addressTableLookups = lookupsJson(message);
  return out;
}

function parsedMessageJson(record: TxRecord, message: WireMessage): Record<string, unknown> {
  const keys = record.accountKeys;
  const flags = keyFlags(message, keys, record.loadedAddresses.writable.length);
  const staticCount = message.staticKeys.length;
  const out: Record<string, unknown> = {
    accountKeys: keys.map((pubkey, i) => ({
      pubkey,
      signer: flags.signer[i],
      source: i < staticCount ? "transaction" : "lookupTable",
      writable: flags.writable[i],
    })),
    recentBlockhash: message.recentBlockhash,
    instructions: message.instructions.map((ix) =>
      parseInstruction(
        keys[ix.programIdIndex] ?? "",
        ix.accounts.map((i) => keys[i] ?? ""),
        ix.data,
        null,
      ),
    ),
  };
  if (message.version !== "legacy") out.addressTableLookups = lookupsJson(message);
  return out;
}

/**
 * The validator's UiInnerInstructions: json gives compiled instructions (key indexes, base58 data); jsonParsed
 * decodes the programs it knows and shows the rest partially decoded (addresses, base58 data).
 */
export function innerInstructionsJson(groups: readonly InnerInstructions[], keys: readonly string[], parsed: boolean): unknown[] {
  return groups.map((group) => ({
    index: group.index,
    instructions: group.instructions.map((ix) =>
      parsed
        ? parseInstruction(
            keys[ix.programIdIndex] ?? "",
            ix.accounts.map((i) => keys[i] ?? ""),
            ix.data,
            ix.stackHeight,
          )
        : { programIdIndex: ix.programIdIndex, accounts: ix.accounts, data: encodeBase58(ix.data), stackHeight: ix.stackHeight },
    ),
  }));
}

export function returnDataJson(returnData: ReturnData): Record<string, unknown> {
  return { programId: returnData.programId, data: [Buffer.from(returnData.data).toString("base64"), "base64"] };
}

/**
 * The validator's RpcSimulateTransactionResult (also the data of a preflight failure). Inner instructions are
 * given only when asked for, in parsed form where the program is known; `accounts` are already encoded.
 */
export function simulationJson(
  result: SimulationResult,
  accounts: unknown[] | null,
  withInnerInstructions: boolean,
): Record<string, unknown> {
  return {
    accounts,
    err: result.err,
    fee: result.fee,
    innerInstructions:
      withInnerInstructions && result.innerInstructions
        ? innerInstructionsJson(result.innerInstructions, result.accountKeys, true)
        : null,
    loadedAccountsDataSize: result.loadedAccountsDataSize,
    loadedAddresses: result.loadedAddresses,
    logs: result.logs,
    postBalances: result.postBalances,
    postTokenBalances: result.postTokenBalances && tokenBalancesJson(result.postTokenBalances),
    preBalances: result.preBalances,
    preTokenBalances: result.preTokenBalances && tokenBalancesJson(result.preTokenBalances),
    replacementBlockhash: result.replacementBlockhash,
    returnData: result.returnData && returnDataJson(result.returnData),
    unitsConsumed: result.unitsConsumed,
  };
}

function metaJson(record: TxRecord, parsed: boolean): Record<string, unknown> {
  const meta: Record<string, unknown> = {
    err: record.err,
    status: record.err === null ? { Ok: null } : { Err: record.err },
    fee: record.fee,
    preBalances: record.preBalances,
    postBalances: record.postBalances,
    innerInstructions: innerInstructionsJson(record.innerInstructions, record.accountKeys, parsed),
    logMessages: record.logMessages,
    preTokenBalances: tokenBalancesJson(record.preTokenBalances),
    postTokenBalances: tokenBalancesJson(record.postTokenBalances),
    rewards: [],
    computeUnitsConsumed: record.computeUnitsConsumed,
  };
  // present only when an instruction set return data, as the validator does
  if (record.returnData) meta.returnData = returnDataJson(record.returnData);
  // jsonParsed folds loaded addresses into accountKeys and leaves loadedAddresses out, as the validator does
  if (!parsed) meta.loadedAddresses = { writable: record.loadedAddresses.writable, readonly: record.loadedAddresses.readonly };
  return meta;
}

export function decodeRecord(record: TxRecord): WireTransaction {
  return decodeTransaction(record.raw);
}

/**
 * The getTransaction result for `record`. Refuses a versioned transaction unless the caller declared
 * `maxSupportedTransactionVersion` at least that high (-32015, as the validator does).
 */
export function transactionResult(
  record: TxRecord,
  encoding: TransactionEncoding,
  maxSupportedTransactionVersion: number | undefined,
): Record<string, unknown> {
  const tx = decodeRecord(record);
  const version = tx.message.version;
  if (version !== "legacy" && (maxSupportedTransactionVersion === undefined || version > maxSupportedTransactionVersion)) {
    throw unsupportedTransactionVersion(version);
  }
  let transaction: unknown;
  switch (encoding) {
    case "json":
      transaction = { signatures: tx.signatures, message: rawMessageJson(tx.message) };
      break;
    case "jsonParsed":
      transaction = { signatures: tx.signatures, message: parsedMessageJson(record, tx.message) };
      break;
    case "base64":
      transaction = [Buffer.from(record.raw).toString("base64"), "base64"];
      break;
    case "base58":
      transaction = [encodeBase58(record.raw), "base58"];
      break;
  }
  const result: Record<string, unknown> = {
    slot: record.slot,
    blockTime: record.blockTime,
    meta: metaJson(record, encoding === "jsonParsed"),
    transaction,
  };
  // `version` is present only when the caller declared maxSupportedTransactionVersion (validator behaviour)
  if (maxSupportedTransactionVersion !== undefined) result.version = version;
  return result;
}

/** One element of a Helius raw webhook delivery: getTransaction json plus indexWithinBlock. */
export function webhookElement(record: TxRecord): Record<string, unknown> {
  return { ...transactionResult(record, "json", 0), indexWithinBlock: record.indexWithinBlock };
}
