/**
 * Thin adapter over LiteSVM's native binding: raw transaction bytes in, validator-shaped results out.
 * LiteSVM's own signature and blockhash checks are off: the chain core checks signatures itself and keeps
 * a window of recent blockhashes with real expiry (LiteSVM accepts only its single latest blockhash).
 */
import { createRequire } from "node:module";
import { PublicKey } from "@solana/web3.js";
import bs58 from "bs58";
import { encodeBase58 } from "../src/solana/base58.ts";
import { INSTRUCTION_ERROR_NAMES, TRANSACTION_ERROR_NAMES } from "./error-names.ts";
import type { AccountState, InnerInstructions, KeyedAccount, ReturnData, TransactionErrorJson } from "./types.ts";

const require = createRequire(import.meta.url);
// The native binding takes raw transaction bytes; the kit-typed wrapper in litesvm's index does not.
const native = require("litesvm/dist/internal.js") as typeof import("litesvm/dist/internal.js");

type NativeSvm = InstanceType<typeof native.LiteSvm>;
type NativeMeta = InstanceType<typeof native.TransactionMetadata>;
type NativeFailed = InstanceType<typeof native.FailedTransactionMetadata>;

export function instructionErrorJson(err: unknown): string | Record<string, unknown> {
  if (typeof err === "number") return INSTRUCTION_ERROR_NAMES[err] ?? `InstructionError${err}`;
  if (err instanceof native.InstructionErrorCustom) return { Custom: err.code };
  if (err instanceof native.InstructionErrorBorshIo) return { BorshIoError: err.msg };
  return String(err);
}

export function transactionErrorJson(err: ReturnType<NativeFailed["err"]>): TransactionErrorJson {
  if (typeof err === "number") return TRANSACTION_ERROR_NAMES[err] ?? `TransactionError${err}`;
  if (err instanceof native.TransactionErrorInstructionError) {
    return { InstructionError: [err.index, instructionErrorJson(err.err())] };
  }
  if (err instanceof native.TransactionErrorDuplicateInstruction) return { DuplicateInstruction: err.index };
  if (err instanceof native.TransactionErrorInsufficientFundsForRent) {
    return { InsufficientFundsForRent: { account_index: err.accountIndex } };
  }
  return { ProgramExecutionTemporarilyRestricted: { account_index: (err as { accountIndex: number }).accountIndex } };
}

export interface ExecutionResult {
  err: TransactionErrorJson | null;
  logs: string[];
  computeUnits: bigint;
  /** Indexes refer to the keys of the transaction that was executed. */
  innerInstructions: InnerInstructions[];
  returnData: ReturnData | null;
}

// Not web3.js's PublicKey: its validation costs more than the account access itself at 10^5+ accounts; and
// encodeBase58 is some three times faster than bs58's encode on 32 bytes.
const keyBytes = (pubkey: string): Uint8Array => bs58.decode(pubkey);
const keyString = (bytes: Uint8Array): string => encodeBase58(bytes);
const SYSTEM_OWNER = new PublicKey(0).toBytes();

export class Svm {
  readonly native: NativeSvm;

  constructor() {
    this.native = new native.LiteSvm();
    this.native.setSigverify(false);
    this.native.setBlockhashCheck(false);
    // The chain keeps its own transaction records and duplicate detection.
    this.native.setTransactionHistory(0n);
  }

  getAccount(pubkey: string): AccountState | null {
    const acc = this.native.getAccount(keyBytes(pubkey));
    if (!acc || acc.lamports() === 0n) return null;
    return {
      lamports: acc.lamports(),
      data: acc.data(),
      owner: keyString(acc.owner()),
      executable: acc.executable(),
      rentEpoch: acc.rentEpoch(),
    };
  }

  /** Writes or (with lamports 0) removes an account. */
  setAccount(pubkey: string, a: AccountState): void {
    const data = a.lamports === 0n ? new Uint8Array(0) : a.data;
    const owner = a.lamports === 0n ? SYSTEM_OWNER : keyBytes(a.owner);
    this.native.setAccount(keyBytes(pubkey), new native.Account(a.lamports, data, owner, a.executable, a.rentEpoch));
  }

  /**
   * The program's open accounts, as LiteSVM lists them when iteration starts. `accept`, when given, sees each
   * account's data before anything else of it is read (address, lamports, ...): an account it rejects is
   * skipped at a fraction of the cost of one it keeps.
   */
  *programAccounts(owner: string, accept?: (data: Uint8Array) => boolean): Generator<KeyedAccount> {
    for (const entry of this.native.getProgramAccounts(keyBytes(owner))) {
      const acc = entry.account();
      const data = acc.data();
      if (accept && !accept(data)) continue;
      const lamports = acc.lamports();
      if (lamports === 0n) continue;
      yield {
        pubkey: keyString(entry.address),
        account: { lamports, data, owner, executable: acc.executable(), rentEpoch: acc.rentEpoch() },
      };
    }
  }

  execute(raw: Uint8Array, legacy: boolean): ExecutionResult {
    const result = legacy ? this.native.sendLegacyTransaction(raw) : this.native.sendVersionedTransaction(raw);
    return toResult(result);
  }

  simulate(raw: Uint8Array, legacy: boolean): ExecutionResult & { post: Map<string, AccountState | null> } {
    const result = legacy ? this.native.simulateLegacyTransaction(raw) : this.native.simulateVersionedTransaction(raw);
    if (result instanceof native.FailedTransactionMetadata) return { ...toResult(result), post: new Map() };
    const post = new Map<string, AccountState | null>();
    for (const entry of result.postAccounts()) {
      const acc = entry.account();
      post.set(
        new PublicKey(entry.address).toBase58(),
        acc.lamports() === 0n
          ? null
          : {
              lamports: acc.lamports(),
              data: acc.data(),
              owner: new PublicKey(acc.owner()).toBase58(),
              executable: acc.executable(),
              rentEpoch: acc.rentEpoch(),
            },
      );
    }
    return { ...toResult(result.meta()), post };
  }

  minimumBalanceForRentExemption(len: number): bigint {
    return this.native.minimumBalanceForRentExemption(BigInt(len));
  }

  setClock(slot: bigint, epoch: bigint, unixTimestamp: bigint): void {
    const clock = this.native.getClock();
    clock.slot = slot;
    clock.epoch = epoch;
    clock.leaderScheduleEpoch = epoch + 1n;
    clock.unixTimestamp = unixTimestamp;
    this.native.setClock(clock);
  }

  unixTimestamp(): bigint {
    return this.native.getClock().unixTimestamp;
  }
}

function innerOf(meta: NativeMeta): InnerInstructions[] {
  const out: InnerInstructions[] = [];
  meta.innerInstructions().forEach((list, index) => {
    if (list.length === 0) return;
    out.push({
      index,
      instructions: list.map((inner) => {
        const ix = inner.instruction();
        return { programIdIndex: ix.programIdIndex(), accounts: [...ix.accounts()], data: ix.data(), stackHeight: inner.stackHeight() };
      }),
    });
  });
  return out;
}

function returnDataOf(meta: NativeMeta): ReturnData | null {
  const r = meta.returnData();
  const data = r.data();
  // The runtime records return data only when it is not empty (programs clear it as they start).
  if (data.length === 0) return null;
  return { programId: keyString(r.programId()), data };
}

function toResult(r: NativeMeta | NativeFailed): ExecutionResult {
  const failed = r instanceof native.FailedTransactionMetadata;
  const meta = failed ? r.meta() : r;
  return {
    err: failed ? transactionErrorJson(r.err()) : null,
    logs: meta.logs(),
    computeUnits: meta.computeUnitsConsumed(),
    innerInstructions: innerOf(meta),
    returnData: returnDataOf(meta),
  };
}
