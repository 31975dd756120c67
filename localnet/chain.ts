/**
 * The local chain core: the banks of chain-banks.ts plus transactions — admission (signatures, blockhash or
 * durable nonce, fee payer), execution on LiteSVM or the hosted program models, simulation at a commitment
 * level, and records with balances and logs, signature statuses and account-change events.
 */
import { Transaction, SystemProgram, PublicKey } from "@solana/web3.js";
import { ChainBanks, type ChainOptions } from "./chain-banks.ts";
import { EMPTY, loadedAccountsDataSize, notExecuted, sameAccount } from "./chain-records.ts";
import { executeWithModels } from "./executor.ts";
import { advancedNonce, durableNonceAccount, withBlockhash } from "./genesis.ts";
import type { ExecutionResult } from "./svm.ts";
import { tokenBalances } from "./token-balances.ts";
import { parseTransaction, signaturesVerify, type ParsedTransaction } from "./tx-parse.ts";
import {
  PreflightFailure,
  RpcError,
  type AccountState,
  type ChainApi,
  type ChainEvents,
  type Commitment,
  type SignatureStatus,
  type SimulationResult,
  type TransactionErrorJson,
  type TxRecord,
} from "./types.ts";

// Slots, levels, blockhashes and account state live in chain-banks.ts; re-exported so imports keep this path.
export { DEFAULT_CONFIRMED_LAG, DEFAULT_FINALIZED_LAG, DEVNET_GENESIS_HASH, SLOTS_PER_EPOCH } from "./chain-banks.ts";
export type { ChainOptions } from "./chain-banks.ts";

export class Chain extends ChainBanks implements ChainApi {
  private readonly records = new Map<string, TxRecord>();
  private readonly byAddress = new Map<string, string[]>();

  // ---- transactions ----

  private hasModelInstruction(p: ParsedTransaction): boolean {
    return p.instructions.some((ix) => this.models.has(p.keys[ix.programIndex]!));
  }

  private snapshot(keys: readonly string[]): Map<string, AccountState | null> {
    return new Map(keys.map((k) => [k, this.getAccount(k)]));
  }

  private restore(state: ReadonlyMap<string, AccountState | null>): void {
    for (const [key, account] of state) this.svm.setAccount(key, account ?? EMPTY());
  }

  /** Runs the transaction against current state. On failure only the fee stays charged. */
  private run(p: ParsedTransaction, pre: ReadonlyMap<string, AccountState | null>): ExecutionResult {
    this.syncClock();
    const payerKey = p.keys[0]!;
    const chargeFee = () => {
      const payer = this.getAccount(payerKey)!;
      this.svm.setAccount(payerKey, { ...payer, lamports: payer.lamports - p.fee });
    };
    if (!this.hasModelInstruction(p)) {
      // Instructions run under the bank's blockhash (what InitializeNonceAccount/AdvanceNonceAccount store).
      const result = this.svm.execute(withBlockhash(p.raw, this.latest), p.legacy);
      if (result.err) {
        this.restore(pre);
        chargeFee();
        this.advanceFailedNonce(p);
      }
      return result;
    }
    chargeFee();
    const result = executeWithModels(p, {
      svm: this.svm,
      models: this.models,
      cpiPayer: this.cpiPayer,
      now: () => this.svm.unixTimestamp(),
      slot: () => this.currentSlot,
      blockhash: () => this.latest,
    });
    if (result.err) this.advanceFailedNonce(p);
    return result;
  }

  /** The nonce account of a durable-nonce transaction, or null (a recent blockhash takes precedence). */
  private nonceAccountOf(p: ParsedTransaction, level: Commitment = "processed"): string | null {
    if (this.isBlockhashValid(p.recentBlockhash, level)) return null;
    return durableNonceAccount(p, (k) => this.getAccount(k), this.latest);
  }

  /** A failed durable-nonce transaction still advances its nonce, as the runtime does. */
  private advanceFailedNonce(p: ParsedTransaction): void {
    const address = this.nonceAccountOf(p);
    const nonce = address ? this.getAccount(address) : null;
    if (address && nonce) this.svm.setAccount(address, advancedNonce(nonce, this.latest));
  }

  /** Checks that decide whether a transaction can be processed at all (it is dropped, not landed, otherwise). */
  private admissionError(p: ParsedTransaction): TransactionErrorJson | null {
    if (this.records.has(p.signature)) return "AlreadyProcessed";
    if (!this.blockhashAccepted(p)) return "BlockhashNotFound";
    const payer = this.getAccount(p.keys[0]!);
    if (!payer) return "AccountNotFound";
    if (payer.lamports < p.fee) return "InsufficientFundsForFee";
    return null;
  }

  /** A recent blockhash, or a durable nonce's stored value with AdvanceNonceAccount first. */
  private blockhashAccepted(p: ParsedTransaction, level: Commitment = "processed"): boolean {
    return this.isBlockhashValid(p.recentBlockhash, level) || this.nonceAccountOf(p, level) !== null;
  }

  sendTransaction(raw: Uint8Array, options: { skipPreflight: boolean; preflightCommitment?: Commitment }): string {
    const p = parseTransaction(raw, (k) => this.getAccount(k));
    if (!signaturesVerify(p)) throw new RpcError(-32003, "Transaction signature verification failure");
    // Preflight runs on the bank at the preflight level: a blockhash that level has not seen yet is not found.
    const preflightLevel = options.preflightCommitment ?? "processed";
    const refused =
      !options.skipPreflight && !this.records.has(p.signature) && !this.blockhashAccepted(p, preflightLevel)
        ? "BlockhashNotFound"
        : this.admissionError(p);
    if (refused) {
      // With preflight the validator answers the error; without it the transaction is accepted and never lands.
      if (options.skipPreflight) return p.signature;
      throw new PreflightFailure(notExecuted(p, refused, null));
    }
    const pre = this.snapshot(p.keys);
    const result = this.run(p, pre);
    if (result.err && !options.skipPreflight) {
      const report = this.report(p, pre, result, null, null);
      this.restore(pre);
      throw new PreflightFailure(report);
    }
    this.land(p, pre, result);
    return p.signature;
  }

  simulateTransaction(
    raw: Uint8Array,
    options: { sigVerify: boolean; replaceRecentBlockhash: boolean; accounts: string[] | null; commitment?: Commitment },
  ): SimulationResult {
    const level = options.commitment ?? "processed";
    const atLevel = (k: string) => this.getAccount(k, level);
    let p = parseTransaction(raw, atLevel);
    if (options.sigVerify && !signaturesVerify(p)) {
      throw new RpcError(-32003, "Transaction signature verification failure");
    }
    let replacement: SimulationResult["replacementBlockhash"] = null;
    if (options.replaceRecentBlockhash) {
      replacement = this.latestBlockhash(level);
      p = parseTransaction(withBlockhash(raw, replacement.blockhash), atLevel);
    }
    const requested = options.accounts ?? [];
    const touched = [...new Set([...p.keys, ...requested])];
    // The bank at `level`: the touched accounts as that block left them, put back to processed afterwards.
    const processed = this.snapshot(touched);
    if (level !== "processed") {
      const states = touched.map((k) => [k, atLevel(k)] as const);
      for (const [k, account] of states) this.svm.setAccount(k, account ?? EMPTY());
    }
    try {
      if (!this.blockhashAccepted(p, level)) return notExecuted(p, "BlockhashNotFound", replacement);
      const payer = this.getAccount(p.keys[0]!);
      if (!payer) return notExecuted(p, "AccountNotFound", replacement);
      if (payer.lamports < p.fee) return notExecuted(p, "InsufficientFundsForFee", replacement);
      const pre = this.snapshot(p.keys);
      const result = this.run(p, pre);
      const accounts = options.accounts ? requested.map((k) => this.getAccount(k)) : null;
      return this.report(p, pre, result, accounts, replacement);
    } finally {
      this.restore(processed);
    }
  }

  /** What a simulation reports of an executed transaction (call before the state is restored). */
  private report(
    p: ParsedTransaction,
    pre: ReadonlyMap<string, AccountState | null>,
    result: ExecutionResult,
    accounts: (AccountState | null)[] | null,
    replacementBlockhash: SimulationResult["replacementBlockhash"],
  ): SimulationResult {
    const post = this.snapshot(p.keys);
    const get = (k: string) => this.getAccount(k);
    return {
      err: result.err,
      logs: result.logs,
      unitsConsumed: result.computeUnits,
      accounts,
      replacementBlockhash,
      accountKeys: p.keys,
      fee: p.fee,
      preBalances: p.keys.map((k) => pre.get(k)?.lamports ?? 0n),
      postBalances: p.keys.map((k) => post.get(k)?.lamports ?? 0n),
      preTokenBalances: tokenBalances(p.keys, pre, get),
      postTokenBalances: tokenBalances(p.keys, post, get),
      loadedAddresses: p.loaded,
      loadedAccountsDataSize: loadedAccountsDataSize(p, pre, get),
      innerInstructions: result.innerInstructions,
      returnData: result.returnData,
    };
  }

  private land(p: ParsedTransaction, pre: ReadonlyMap<string, AccountState | null>, result: ExecutionResult): void {
    const post = this.snapshot(p.keys);
    const get = (k: string) => this.getAccount(k);
    const record: TxRecord = {
      signature: p.signature,
      slot: this.currentSlot,
      blockTime: Number(this.unixNow()),
      indexWithinBlock: this.indexInSlot++,
      raw: p.raw,
      accountKeys: p.keys,
      loadedAddresses: p.loaded,
      err: result.err,
      fee: p.fee,
      logMessages: result.logs,
      preBalances: p.keys.map((k) => pre.get(k)?.lamports ?? 0n),
      postBalances: p.keys.map((k) => post.get(k)?.lamports ?? 0n),
      preTokenBalances: tokenBalances(p.keys, pre, get),
      postTokenBalances: tokenBalances(p.keys, post, get),
      computeUnitsConsumed: result.computeUnits,
      innerInstructions: result.innerInstructions,
      returnData: result.returnData,
    };
    this.records.set(p.signature, record);
    this.ledger.tip().signatures.push(p.signature);
    for (const key of new Set(p.keys)) {
      let list = this.byAddress.get(key);
      if (!list) this.byAddress.set(key, (list = []));
      list.push(p.signature);
    }
    p.keys.forEach((key, i) => {
      if (!p.writable[i]) return;
      const before = pre.get(key) ?? null;
      const after = post.get(key) ?? null;
      if (sameAccount(before, after)) return;
      this.ledger.recordChange(key, before);
      this.emit("account", { pubkey: key, account: after ?? EMPTY(), slot: this.currentSlot, allLevels: false });
    });
    this.emit("transaction", record);
  }

  getTransaction(signature: string): TxRecord | null {
    return this.records.get(signature) ?? null;
  }

  getSignatureStatus(signature: string): SignatureStatus | null {
    const r = this.records.get(signature);
    if (!r) return null;
    const level = this.ledger.levelOf(r.slot);
    const confirmations = level === "finalized" ? null : Number(this.currentSlot - r.slot);
    return { slot: r.slot, err: r.err, confirmationStatus: level, confirmations };
  }

  /** Signatures of landed transactions that include `address`, oldest first (landing order). */
  addressSignatures(address: string): readonly string[] {
    return this.byAddress.get(address) ?? [];
  }

  transactionCount(): bigint {
    return BigInt(this.records.size);
  }

  requestAirdrop(pubkey: string, lamports: bigint): string {
    const tx = new Transaction({ feePayer: this.faucet.publicKey, recentBlockhash: this.latest }).add(
      SystemProgram.transfer({ fromPubkey: this.faucet.publicKey, toPubkey: new PublicKey(pubkey), lamports }),
    );
    tx.sign(this.faucet);
    return this.sendTransaction(tx.serialize(), { skipPreflight: false });
  }

  override on<E extends keyof ChainEvents>(event: E, listener: ChainEvents[E]): this {
    return super.on(event, listener);
  }
  override off<E extends keyof ChainEvents>(event: E, listener: ChainEvents[E]): this {
    return super.off(event, listener);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.removeAllListeners();
  }
}

export function createChain(options: ChainOptions = {}): Chain {
  return new Chain(options);
}
