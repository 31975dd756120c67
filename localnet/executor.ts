/**
 * Executes a transaction that calls a program model. Model instructions run in TypeScript; every other
 * instruction, and every CPI a model makes, runs for real in LiteSVM as a one-instruction transaction.
 * All-or-nothing: on failure every account of the transaction is restored (the caller charges the fee).
 */
import { Keypair, PublicKey, TransactionInstruction, TransactionMessage, VersionedTransaction } from "@solana/web3.js";
import { randomBytes } from "node:crypto";
import type { Svm } from "./svm.ts";
import { COMPUTE_BUDGET_PROGRAM, type ParsedTransaction } from "./tx-parse.ts";
import {
  ModelInstructionError,
  type AccountState,
  type InnerInstruction,
  type InnerInstructions,
  type ModelContext,
  type ModelInstruction,
  type ProgramModel,
  type ReturnData,
  type TransactionErrorJson,
} from "./types.ts";

export interface ModelExecution {
  err: TransactionErrorJson | null;
  logs: string[];
  computeUnits: bigint;
  innerInstructions: InnerInstructions[];
  returnData: ReturnData | null;
}

/** One LiteSVM run: its CPIs (and, for a model's CPI, the CPI itself) in the outer transaction's key indexes. */
interface SvmRun {
  err: TransactionErrorJson | null;
  logs: string[];
  computeUnits: bigint;
  inner: InnerInstruction[];
  returnData: ReturnData | null;
}

export interface ExecutorDeps {
  svm: Svm;
  models: ReadonlyMap<string, ProgramModel>;
  /** Pays the fees of the internal one-instruction transactions; never part of a user transaction. */
  cpiPayer: Keypair;
  now: () => bigint;
  slot: () => bigint;
  /** The bank's blockhash: instructions (nonce initialize/advance) run under it. */
  blockhash: () => string;
}

const BASE_UNITS = 2_000;

/** Formats an instruction error the way the runtime logs "Program X failed: …". */
function failureText(error: string | Record<string, unknown>): string {
  if (typeof error === "object" && typeof error.Custom === "number") {
    return `custom program error: 0x${error.Custom.toString(16)}`;
  }
  return typeof error === "string" ? error.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase() : JSON.stringify(error);
}

/**
 * Runs `ix` alone in LiteSVM. `depth` is the stack height it has in the outer transaction (1 for a top-level
 * instruction, 2 for a model's CPI); `outerKeys` are the outer transaction's keys, which inner instruction
 * indexes are rewritten to.
 */
function runOnSvm(deps: ExecutorDeps, ix: ModelInstruction, depth: number, outerKeys: readonly string[]): SvmRun {
  const instruction = new TransactionInstruction({
    programId: new PublicKey(ix.programId),
    keys: ix.accounts.map((a) => ({ pubkey: new PublicKey(a.pubkey), isSigner: a.isSigner, isWritable: a.isWritable })),
    data: Buffer.from(ix.data),
  });
  const message = new TransactionMessage({
    payerKey: deps.cpiPayer.publicKey,
    recentBlockhash: deps.blockhash(),
    instructions: [instruction],
  }).compileToLegacyMessage();
  const tx = new VersionedTransaction(message);
  // Signatures are not checked by LiteSVM here (the chain verified the outer ones); they only need to be unique.
  tx.signatures = tx.signatures.map(() => randomBytes(64));
  const result = deps.svm.execute(tx.serialize(), true);
  const logs = result.logs.map((line) =>
    line.replace(/ invoke \[(\d+)\]$/, (_m, d: string) => ` invoke [${Number(d) + depth - 1}]`),
  );
  const innerKeys = message.staticAccountKeys.map((k) => k.toBase58());
  const outerIndex = (i: number): number => outerKeys.indexOf(innerKeys[i] ?? "");
  const inner: InnerInstruction[] = [];
  if (depth > 1) {
    inner.push({
      programIdIndex: outerKeys.indexOf(ix.programId),
      accounts: ix.accounts.map((a) => outerKeys.indexOf(a.pubkey)),
      data: ix.data,
      stackHeight: depth,
    });
  }
  for (const group of result.innerInstructions) {
    for (const cpi of group.instructions) {
      inner.push({
        programIdIndex: outerIndex(cpi.programIdIndex),
        accounts: cpi.accounts.map(outerIndex),
        data: cpi.data,
        stackHeight: cpi.stackHeight + depth - 1,
      });
    }
  }
  let err: TransactionErrorJson | null = null;
  if (result.err) {
    const innerErr =
      typeof result.err === "object" && Array.isArray(result.err.InstructionError)
        ? (result.err.InstructionError[1] as TransactionErrorJson)
        : result.err;
    err = innerErr;
  }
  return { err, logs, computeUnits: result.computeUnits, inner, returnData: result.returnData };
}

class Context implements ModelContext {
  readonly logs: string[] = [];
  readonly inner: InnerInstruction[] = [];
  returnData: ReturnData | null = null;
  units = BASE_UNITS;
  private readonly deps: ExecutorDeps;
  private readonly programId: string;
  private readonly tx: ParsedTransaction;

  constructor(deps: ExecutorDeps, programId: string, tx: ParsedTransaction) {
    this.deps = deps;
    this.programId = programId;
    this.tx = tx;
  }

  now(): bigint {
    return this.deps.now();
  }
  slot(): bigint {
    return this.deps.slot();
  }
  getAccount(pubkey: string): AccountState | null {
    return this.deps.svm.getAccount(pubkey);
  }
  private index(pubkey: string): number {
    return this.tx.keys.indexOf(pubkey);
  }
  setAccount(pubkey: string, account: AccountState): void {
    const i = this.index(pubkey);
    if (i < 0 || !this.tx.writable[i]) throw new ModelInstructionError("ReadonlyDataModified");
    const current = this.deps.svm.getAccount(pubkey);
    if (!current || current.owner !== this.programId || account.owner !== this.programId) {
      throw new ModelInstructionError("ExternalAccountDataModified");
    }
    if (account.lamports !== current.lamports) throw new ModelInstructionError("UnbalancedInstruction");
    this.deps.svm.setAccount(pubkey, account);
  }
  invoke(ix: ModelInstruction, pdaSigners: string[] = []): void {
    for (const meta of ix.accounts) {
      const i = this.index(meta.pubkey);
      // A CPI may only use accounts of the outer transaction, with no more privilege than they have there.
      if (i < 0) throw new ModelInstructionError("MissingAccount");
      if (meta.isWritable && !this.tx.writable[i]) throw new ModelInstructionError("PrivilegeEscalation");
      if (meta.isSigner && !this.tx.signer[i] && !pdaSigners.includes(meta.pubkey)) {
        throw new ModelInstructionError("PrivilegeEscalation");
      }
    }
    if (this.index(ix.programId) < 0) throw new ModelInstructionError("MissingAccount");
    const result = runOnSvm(this.deps, ix, 2, this.tx.keys);
    this.logs.push(...result.logs);
    this.inner.push(...result.inner);
    if (result.returnData) this.returnData = result.returnData;
    this.units += Number(result.computeUnits);
    if (result.err) throw new ModelInstructionError(result.err as string | Record<string, unknown>);
  }
  log(message: string): void {
    this.logs.push(`Program log: ${message}`);
  }
  emit(data: Uint8Array): void {
    this.logs.push(`Program data: ${Buffer.from(data).toString("base64")}`);
  }
  minimumBalanceForRentExemption(dataLength: number): bigint {
    return this.deps.svm.minimumBalanceForRentExemption(dataLength);
  }
  consume(units: number): void {
    this.units += units;
  }
}

export function executeWithModels(tx: ParsedTransaction, deps: ExecutorDeps): ModelExecution {
  const before = new Map<string, AccountState | null>(tx.keys.map((k) => [k, deps.svm.getAccount(k)]));
  const logs: string[] = [];
  let units = 0n;
  const innerInstructions: InnerInstructions[] = [];
  let returnData: ReturnData | null = null;
  const record = (index: number, inner: InnerInstruction[], data: ReturnData | null) => {
    if (inner.length > 0) innerInstructions.push({ index, instructions: inner });
    if (data) returnData = data;
  };
  const fail = (index: number, error: TransactionErrorJson): ModelExecution => {
    for (const [key, account] of before) {
      deps.svm.setAccount(key, account ?? { lamports: 0n, data: new Uint8Array(0), owner: PublicKey.default.toBase58(), executable: false, rentEpoch: 0n });
    }
    return { err: { InstructionError: [index, error] }, logs, computeUnits: units, innerInstructions, returnData };
  };
  for (const [index, ix] of tx.instructions.entries()) {
    const programId = tx.keys[ix.programIndex]!;
    if (programId === COMPUTE_BUDGET_PROGRAM) {
      logs.push(`Program ${programId} invoke [1]`, `Program ${programId} success`);
      units += 150n;
      continue;
    }
    const instruction: ModelInstruction = {
      programId,
      accounts: ix.accounts.map((a) => ({ pubkey: tx.keys[a]!, isSigner: tx.signer[a]!, isWritable: tx.writable[a]! })),
      data: ix.data,
    };
    const model = deps.models.get(programId);
    if (!model) {
      const result = runOnSvm(deps, instruction, 1, tx.keys);
      logs.push(...result.logs);
      units += result.computeUnits;
      record(index, result.inner, result.returnData);
      if (result.err) return fail(index, result.err);
      continue;
    }
    const ctx = new Context(deps, programId, tx);
    logs.push(`Program ${programId} invoke [1]`);
    try {
      model.execute(instruction, ctx);
    } catch (err) {
      const error =
        err instanceof ModelInstructionError ? err.error : "ProgramFailedToComplete";
      if (!(err instanceof ModelInstructionError)) ctx.log(`model panicked: ${(err as Error).message}`);
      logs.push(...ctx.logs);
      logs.push(`Program ${programId} consumed ${ctx.units} of ${tx.computeUnitLimit} compute units`);
      logs.push(`Program ${programId} failed: ${failureText(error)}`);
      units += BigInt(ctx.units);
      record(index, ctx.inner, ctx.returnData);
      return fail(index, error);
    }
    logs.push(...ctx.logs);
    logs.push(`Program ${programId} consumed ${ctx.units} of ${tx.computeUnitLimit} compute units`);
    logs.push(`Program ${programId} success`);
    units += BigInt(ctx.units);
    record(index, ctx.inner, ctx.returnData);
  }
  return { err: null, logs, computeUnits: units, innerInstructions, returnData };
}
