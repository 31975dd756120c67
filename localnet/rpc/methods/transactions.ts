/** Transactions: send, simulate, statuses, history, airdrops. */
import { PreflightFailure, RpcError, type ChainApi, type SignatureStatus } from "../../types.ts";
import { decodeBase58 } from "../../../src/solana/base58.ts";
import { accountEncodingConfig, checkEncodable, uiAccount } from "../encoding.ts";
import { invalidParams } from "../errors.ts";
import { MEMO_PROGRAM_ID, MEMO_V1_PROGRAM_ID } from "../instruction-parsers.ts";
import {
  boolParam,
  checkContext,
  commitmentParam,
  configParam,
  describe,
  oneOf,
  pubkeyParam,
  requireCount,
  signatureParam,
  stringParam,
  u64Param,
  usizeParam,
} from "../params.ts";
import { decodeRecord, simulationJson, transactionResult, type TransactionEncoding } from "../transaction-json.ts";
import { withContext, type MethodHandler } from "./context.ts";

const PACKET_DATA_SIZE = 1232;
const MAX_BASE58_TX_TEXT = 1683;
const MAX_BASE64_TX_TEXT = 1644;
const MAX_SIGNATURE_STATUSES = 256;
const MAX_SIGNATURES_FOR_ADDRESS = 1000;
/** The validator's status cache (MAX_CACHE_ENTRIES): statuses older than this need searchTransactionHistory. */
const STATUS_CACHE_SLOTS = 300n;

/** Decodes a wire transaction parameter with the validator's size limits and messages. */
function decodeWireParam(value: unknown, encoding: "base58" | "base64"): Uint8Array {
  const text = stringParam(value, "transaction");
  const maxText = encoding === "base58" ? MAX_BASE58_TX_TEXT : MAX_BASE64_TX_TEXT;
  const what = `${encoding} encoded solana_transaction::versioned::VersionedTransaction`;
  if (text.length > maxText) {
    throw invalidParams(`${what} too large: ${text.length} bytes (max: encoded/raw ${maxText}/${PACKET_DATA_SIZE})`);
  }
  let bytes: Uint8Array;
  if (encoding === "base58") {
    const decoded = decodeBase58(text);
    if (decoded === null) throw invalidParams(`invalid base58 encoding: ${JSON.stringify(text.slice(0, 40))}...`);
    bytes = decoded;
  } else {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw invalidParams("invalid base64 encoding: InvalidByte");
    bytes = new Uint8Array(Buffer.from(text, "base64"));
  }
  if (bytes.length > PACKET_DATA_SIZE) {
    throw invalidParams(`decoded ${what} too large: ${bytes.length} bytes (max: ${PACKET_DATA_SIZE} bytes)`);
  }
  return bytes;
}

const sendTransaction: MethodHandler = (params, { chain }) => {
  requireCount(params, 1, 2);
  const config = configParam(params[1]);
  const encoding = oneOf(config.encoding, "encoding", ["base58", "base64"] as const, "base58");
  const raw = decodeWireParam(params[0], encoding);
  const skipPreflight = boolParam(config.skipPreflight, "skipPreflight", false);
  const preflightCommitment = checkContext(chain, { commitment: config.preflightCommitment, minContextSlot: config.minContextSlot });
  if (config.maxRetries !== undefined && config.maxRetries !== null) usizeParam(config.maxRetries, "maxRetries");
  try {
    return chain.sendTransaction(raw, { skipPreflight, preflightCommitment });
  } catch (err) {
    if (!(err instanceof PreflightFailure)) throw err;
    throw new RpcError(err.code, err.message, simulationJson(err.simulation, null, false));
  }
};

const simulateTransaction: MethodHandler = (params, { chain }) => {
  requireCount(params, 1, 2);
  const config = configParam(params[1]);
  const encoding = oneOf(config.encoding, "encoding", ["base58", "base64"] as const, "base58");
  const raw = decodeWireParam(params[0], encoding);
  const level = checkContext(chain, config);
  const sigVerify = boolParam(config.sigVerify, "sigVerify", false);
  const replaceRecentBlockhash = boolParam(config.replaceRecentBlockhash, "replaceRecentBlockhash", false);
  if (sigVerify && replaceRecentBlockhash) throw invalidParams("sigVerify may not be used with replaceRecentBlockhash");
  const innerInstructions = boolParam(config.innerInstructions, "innerInstructions", false);
  let addresses: string[] | null = null;
  let accountEncoding = accountEncodingConfig({}, "base64");
  if (config.accounts !== undefined && config.accounts !== null) {
    const accounts = configParam(config.accounts, "accounts");
    accountEncoding = accountEncodingConfig({ encoding: accounts.encoding }, "base64");
    if (accountEncoding.encoding === "binary" || accountEncoding.encoding === "base58") {
      throw invalidParams("base58 encoding not supported");
    }
    if (!Array.isArray(accounts.addresses)) {
      throw invalidParams(`Invalid params: accounts.addresses: invalid type: ${describe(accounts.addresses)}, expected a sequence`);
    }
    addresses = accounts.addresses.map((a, i) => pubkeyParam(a, `accounts.addresses[${i}]`));
  }
  const slot = chain.slot(level);
  const result = chain.simulateTransaction(raw, { sigVerify, replaceRecentBlockhash, accounts: addresses, commitment: level });
  const accounts =
    result.accounts?.map((a, i) => {
      if (!a) return null;
      checkEncodable(a, accountEncoding);
      return uiAccount(chain, a, accountEncoding, addresses?.[i]);
    }) ?? null;
  return withContext(slot, simulationJson(result, accounts, innerInstructions));
};

function statusJson(status: SignatureStatus) {
  return {
    slot: status.slot,
    confirmations: status.confirmations,
    err: status.err,
    status: status.err === null ? { Ok: null } : { Err: status.err },
    confirmationStatus: status.confirmationStatus,
  };
}


const getSignatureStatuses: MethodHandler = (params, { chain }) => {
  requireCount(params, 1, 2);
  if (!Array.isArray(params[0])) {
    throw invalidParams(`Invalid params: signatures: invalid type: ${describe(params[0])}, expected a sequence`);
  }
  if (params[0].length > MAX_SIGNATURE_STATUSES) throw invalidParams(`Too many inputs provided; max ${MAX_SIGNATURE_STATUSES}`);
  const signatures = params[0].map((s, i) => signatureParam(s, `signatures[${i}]`));
  const config = configParam(params[1]);
  const searchHistory = boolParam(config.searchTransactionHistory, "searchTransactionHistory", false);
  const slot = chain.slot();
  return withContext(
    slot,
    signatures.map((sig) => {
      const status = chain.getSignatureStatus(sig);
      if (!status) return null;
      if (!searchHistory && slot - status.slot > STATUS_CACHE_SLOTS) return null;
      return statusJson(status);
    }),
  );
};

/** Encoding may be given as the second parameter directly (a deprecated form the validator still takes). */
function transactionConfig(value: unknown): Record<string, unknown> {
  return typeof value === "string" ? { encoding: value } : configParam(value);
}

function requireConfirmed(config: Record<string, unknown>): "confirmed" | "finalized" {
  const commitment = commitmentParam(config);
  if (commitment === "processed") throw invalidParams("Method does not support commitment below `confirmed`");
  return commitment;
}

const getTransaction: MethodHandler = (params, { chain }) => {
  requireCount(params, 1, 2);
  const signature = signatureParam(params[0]);
  const config = transactionConfig(params[1]);
  const commitment = requireConfirmed(config);
  const encoding = oneOf<TransactionEncoding>(config.encoding, "encoding", ["json", "jsonParsed", "base64", "base58"], "json");
  const maxVersion =
    config.maxSupportedTransactionVersion === undefined || config.maxSupportedTransactionVersion === null
      ? undefined
      : Number(u64Param(config.maxSupportedTransactionVersion, "maxSupportedTransactionVersion"));
  const record = chain.getTransaction(signature);
  if (!record || record.slot > chain.slot(commitment)) return null;
  return transactionResult(record, encoding, maxVersion);
};

/** The validator's `memo` field: each memo instruction as "[<bytes>] <text>", joined by "; ". */
function memoOf(chain: ChainApi, signature: string): string | null {
  const record = chain.getTransaction(signature);
  if (!record) return null;
  const message = decodeRecord(record).message;
  const memos: string[] = [];
  for (const ix of message.instructions) {
    const program = record.accountKeys[ix.programIdIndex];
    if (program !== MEMO_PROGRAM_ID && program !== MEMO_V1_PROGRAM_ID) continue;
    memos.push(`[${ix.data.length}] ${Buffer.from(ix.data).toString("utf8")}`);
  }
  return memos.length > 0 ? memos.join("; ") : null;
}

/** (slot, index within slot): the position that orders a transaction's history. */
function positionOf(chain: ChainApi, signature: string): [bigint, number] | null {
  const record = chain.getTransaction(signature);
  return record ? [record.slot, record.indexWithinBlock] : null;
}

const before = (a: [bigint, number], b: [bigint, number]) => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);

const getSignaturesForAddress: MethodHandler = (params, { chain }) => {
  requireCount(params, 1, 2);
  const address = pubkeyParam(params[0], "address");
  const config = configParam(params[1]);
  checkContext(chain, config);
  const visibleUpTo = chain.slot(requireConfirmed(config));
  const limit = config.limit === undefined || config.limit === null ? MAX_SIGNATURES_FOR_ADDRESS : usizeParam(config.limit, "limit");
  if (limit < 1 || limit > MAX_SIGNATURES_FOR_ADDRESS) throw invalidParams(`Invalid limit; max ${MAX_SIGNATURES_FOR_ADDRESS}`);
  const beforeSig = config.before === undefined || config.before === null ? null : signatureParam(config.before, "before");
  const untilSig = config.until === undefined || config.until === null ? null : signatureParam(config.until, "until");
  const upper = beforeSig === null ? null : positionOf(chain, beforeSig);
  if (beforeSig !== null && upper === null) return [];
  const lower = untilSig === null ? null : positionOf(chain, untilSig);
  const entries = chain.addressSignatures(address);
  const out: Record<string, unknown>[] = [];
  for (let i = entries.length - 1; i >= 0 && out.length < limit; i--) {
    const signature = entries[i]!;
    const record = chain.getTransaction(signature);
    if (!record) continue;
    if (record.slot > visibleUpTo) continue;
    const pos: [bigint, number] = [record.slot, record.indexWithinBlock];
    if (upper && !before(pos, upper)) continue;
    if (lower && !before(lower, pos)) break;
    out.push({
      signature,
      slot: record.slot,
      err: record.err,
      memo: memoOf(chain, signature),
      blockTime: record.blockTime,
      confirmationStatus: chain.getSignatureStatus(signature)?.confirmationStatus ?? null,
    });
  }
  return out;
};

const requestAirdrop: MethodHandler = (params, { chain }) => {
  requireCount(params, 2, 3);
  const pubkey = pubkeyParam(params[0]);
  const lamports = u64Param(params[1], "lamports");
  checkContext(chain, configParam(params[2]));
  return chain.requestAirdrop(pubkey, lamports);
};

export const transactionMethods: Record<string, MethodHandler> = {
  sendTransaction,
  simulateTransaction,
  getSignatureStatuses,
  getTransaction,
  getSignaturesForAddress,
  requestAirdrop,
};
