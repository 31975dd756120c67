/**
 * The local chain core: LiteSVM plus what a validator has and LiteSVM lacks — a slot that advances on its
 * own, a window of recent blockhashes with real expiry, a clock on real time, transaction records with
 * balances and logs, signature statuses, account-change events, and hosted program models.
 */
import { EventEmitter } from "node:events";
import {
  Keypair,
  PublicKey,
  SystemProgram,
  Transaction,
} from "@solana/web3.js";
import { AccountLayout, ACCOUNT_SIZE, getAssociatedTokenAddressSync } from "@solana/spl-token";
import bs58 from "bs58";
import { executeWithModels } from "./executor.ts";
import { advancedNonce, durableNonceAccount, SlotHashes, SlotHistory, withBlockhash, writeNativeMints } from "./genesis.ts";
import { Ledger, type Block } from "./ledger.ts";
import { Svm, type ExecutionResult } from "./svm.ts";
import { tokenBalances } from "./token-balances.ts";
import { parseTransaction, signaturesVerify, type ParsedTransaction } from "./tx-parse.ts";
import {
  PreflightFailure,
  RpcError,
  type AccountState,
  type ChainApi,
  type ChainEvents,
  type BlockInfo,
  type ClockInfo,
  type Commitment,
  type KeyedAccount,
  type ProgramModel,
  type SignatureStatus,
  type SimulationResult,
  type TimeTravelTarget,
  type TokenAccountPatch,
  type TransactionErrorJson,
  type TxRecord,
} from "./types.ts";

/** Devnet's genesis hash: the chain presents itself as devnet (x402 knows only mainnet/devnet/testnet). */
export const DEVNET_GENESIS_HASH = "EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG";
export const SLOTS_PER_EPOCH = 432_000n;
const SYSTEM_PROGRAM = SystemProgram.programId.toBase58();
const MAX_BLOCKHASH_AGE = 150;
const PER_BLOCK_SYSVARS = ["SysvarC1ock11111111111111111111111111111111", "SysvarS1otHashes111111111111111111111111111"];

export interface ChainOptions {
  /** Milliseconds per slot; 0 stops the slot timer (tests then move slots with advanceSlots/timeTravel). */
  slotMs?: number;
  /** How many blocks a blockhash stays valid (the validator's 150). */
  blockhashValidity?: number;
  models?: ProgramModel[];
  startSlot?: bigint;
  /** Blocks the confirmed level trails the newest (processed) block by (the validator's is about 1). */
  confirmedLag?: number;
  /** Blocks the finalized level trails the newest block by (the validator's is about 32). */
  finalizedLag?: number;
}

export const DEFAULT_CONFIRMED_LAG = 1;
export const DEFAULT_FINALIZED_LAG = 32;

const EMPTY = (): AccountState => ({
  lamports: 0n,
  data: new Uint8Array(0),
  owner: SYSTEM_PROGRAM,
  executable: false,
  rentEpoch: 0n,
});

function sameAccount(a: AccountState | null, b: AccountState | null): boolean {
  if (!a || !b) return a === b;
  return (
    a.lamports === b.lamports &&
    a.owner === b.owner &&
    a.executable === b.executable &&
    Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(b.data)
  );
}

/** A simulation of a transaction refused before execution: the validator reports no fee, balances or logs. */
function notExecuted(
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
function loadedAccountsDataSize(
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

export class Chain extends EventEmitter implements ChainApi {
  readonly genesisHash = DEVNET_GENESIS_HASH;
  readonly svm = new Svm();
  private readonly models: Map<string, ProgramModel>;
  private readonly faucet = Keypair.generate();
  private readonly cpiPayer = Keypair.generate();
  private readonly validity: bigint;
  private currentSlot: bigint;
  private height: bigint;
  private latest = "";
  private readonly blockhashes = new Map<string, bigint>();
  private timeOffsetMs = 0;
  private indexInSlot = 0;
  private readonly records = new Map<string, TxRecord>();
  private readonly byAddress = new Map<string, string[]>();
  private timer: NodeJS.Timeout | null = null;
  private readonly ledger: Ledger;
  private readonly slotHashes: SlotHashes;
  private readonly slotHistory: SlotHistory;

  constructor(options: ChainOptions = {}) {
    super();
    this.setMaxListeners(0);
    this.models = new Map((options.models ?? []).map((m) => [m.programId, m]));
    this.validity = BigInt(options.blockhashValidity ?? MAX_BLOCKHASH_AGE);
    // Slots follow the wall clock at 400 ms per slot, so a restarted chain never starts below one that ran
    // before it: rows indexed from an earlier run (slot-guarded) are then overwritten, not kept.
    const start = options.startSlot ?? BigInt(Math.floor(Date.now() / 400));
    this.ledger = new Ledger({
      confirmed: options.confirmedLag ?? DEFAULT_CONFIRMED_LAG,
      finalized: options.finalizedLag ?? DEFAULT_FINALIZED_LAG,
    });
    // Empty blocks behind the start, so every level has a block from the first moment.
    const history = BigInt(Math.min(this.ledger.lags.finalized, Number(start)));
    this.currentSlot = start - history;
    this.height = this.currentSlot;
    const rich = { data: new Uint8Array(0), owner: SYSTEM_PROGRAM, executable: false, rentEpoch: 0n };
    this.svm.setAccount(this.faucet.publicKey.toBase58(), { ...rich, lamports: 1n << 62n });
    this.svm.setAccount(this.cpiPayer.publicKey.toBase58(), { ...rich, lamports: 1n << 62n });
    writeNativeMints(this.svm);
    this.slotHashes = new SlotHashes(this.svm);
    this.slotHistory = new SlotHistory(this.svm);
    this.newBlockhash();
    this.syncClock();
    this.slotHistory.add(this.currentSlot);
    this.ledger.addBlock(this.blockFor(this.currentSlot, this.currentSlot > 0n ? this.currentSlot - 1n : 0n, ""));
    while (this.currentSlot < start) this.produce(this.currentSlot + 1n);
    const slotMs = options.slotMs ?? 400;
    if (slotMs > 0) this.timer = setInterval(() => this.advanceSlots(1), slotMs);
  }

  // ---- time ----

  slot(level: Commitment = "processed"): bigint {
    return level === "processed" ? this.currentSlot : this.ledger.at(level).slot;
  }
  blockHeight(level: Commitment = "processed"): bigint {
    return level === "processed" ? this.height : this.ledger.at(level).height;
  }
  levelOf(slot: bigint): Commitment {
    return this.ledger.levelOf(slot);
  }
  block(slot: bigint): BlockInfo | null {
    return this.ledger.block(slot);
  }
  blocks(from: bigint, to: bigint): readonly BlockInfo[] {
    return this.ledger.range(from, to);
  }
  firstBlock(): BlockInfo {
    return this.ledger.first();
  }
  epoch(): bigint {
    return this.currentSlot / SLOTS_PER_EPOCH;
  }
  private unixNow(): bigint {
    return BigInt(Math.floor((Date.now() + this.timeOffsetMs) / 1000));
  }
  private syncClock(): void {
    this.svm.setClock(this.currentSlot, this.epoch(), this.unixNow());
  }
  clock(): ClockInfo {
    return { slot: this.currentSlot, epoch: this.epoch(), unixTimestamp: this.unixNow() };
  }

  private newBlockhash(): void {
    this.svm.native.expireBlockhash();
    this.latest = this.svm.native.latestBlockhash();
    this.blockhashes.set(this.latest, this.height + this.validity);
    const finalizedHeight = this.ledger.isEmpty() ? this.height : this.ledger.at("finalized").height;
    for (const [hash, lastValid] of this.blockhashes) {
      // kept until the finalized level no longer accepts it either
      if (lastValid < finalizedHeight) this.blockhashes.delete(hash);
      else break; // insertion order is issue order, so the rest are younger
    }
  }

  /**
   * Produces empty blocks until everything landed so far is finalized (the demo seed is genesis state:
   * readers at every level see it from the first request).
   */
  settle(): void {
    const target = this.currentSlot;
    while (this.ledger.at("finalized").slot < target) this.advanceSlots(1);
  }

  /** Moves the chain forward by `count` slots (one block each). */
  advanceSlots(count: number): void {
    for (let i = 0; i < count; i++) this.jumpTo(this.currentSlot + 1n);
  }

  private blockFor(slot: bigint, parentSlot: bigint, previousBlockhash: string): Block {
    return {
      slot,
      parentSlot,
      height: this.height,
      blockhash: this.latest,
      previousBlockhash,
      blockTime: Number(this.unixNow()),
      signatures: [],
      changed: null,
    };
  }

  /** Starts block `slot` as the newest, without telling anyone (the history behind the start). */
  private produce(slot: bigint): void {
    const parent = this.ledger.tip();
    // The per-block sysvars change with the block: recorded like a transaction's writes, so each level reads
    // the Clock and SlotHashes of its own block.
    const sysvarsBefore = PER_BLOCK_SYSVARS.map((k) => [k, this.svm.getAccount(k)] as const);
    this.slotHashes.push(parent.slot, parent.blockhash);
    this.height += slot - parent.slot;
    this.currentSlot = slot;
    this.indexInSlot = 0;
    this.newBlockhash();
    this.syncClock();
    this.slotHistory.add(slot);
    this.ledger.addBlock(this.blockFor(slot, parent.slot, parent.blockhash));
    for (const [key, before] of sysvarsBefore) this.ledger.recordChange(key, before);
  }

  private jumpTo(slot: bigint): void {
    const parent = this.currentSlot;
    const confirmed = this.ledger.at("confirmed").slot;
    const finalized = this.ledger.at("finalized").slot;
    this.produce(slot);
    const root = this.ledger.at("finalized").slot;
    this.emit("slot", { slot, parent, root });
    if (this.listenerCount("account") > 0) {
      for (const pubkey of PER_BLOCK_SYSVARS) {
        const account = this.svm.getAccount(pubkey);
        if (account) this.emit("account", { pubkey, account, slot, allLevels: false });
      }
    }
    const nowConfirmed = this.ledger.at("confirmed").slot;
    if (nowConfirmed !== confirmed) this.emit("commitment", { level: "confirmed", slot: nowConfirmed, previous: confirmed });
    if (root !== finalized) this.emit("commitment", { level: "finalized", slot: root, previous: finalized });
    this.ledger.prune();
  }

  latestBlockhash(level: Commitment = "processed"): { blockhash: string; lastValidBlockHeight: bigint } {
    const block = this.ledger.at(level);
    return {
      blockhash: block.blockhash,
      lastValidBlockHeight: this.blockhashes.get(block.blockhash) ?? block.height + this.validity,
    };
  }
  /** Whether the bank at `level` accepts `blockhash`: issued by that block or before it, and not yet expired. */
  isBlockhashValid(blockhash: string, level: Commitment = "processed"): boolean {
    const lastValid = this.blockhashes.get(blockhash);
    if (lastValid === undefined) return false;
    const height = this.blockHeight(level);
    return lastValid - this.validity <= height && height <= lastValid;
  }

  timeTravel(target: TimeTravelTarget): ClockInfo {
    if (target.absoluteTimestamp !== undefined) {
      this.timeOffsetMs = Number(target.absoluteTimestamp) - Date.now();
      this.syncClock();
    }
    const slot =
      target.absoluteSlot ?? (target.absoluteEpoch !== undefined ? target.absoluteEpoch * SLOTS_PER_EPOCH : undefined);
    if (slot !== undefined) {
      if (slot < this.currentSlot) throw new RpcError(-32602, `cannot travel back to slot ${slot} (now ${this.currentSlot})`);
      if (slot > this.currentSlot) this.jumpTo(slot);
    }
    return this.clock();
  }

  // ---- accounts ----

  getAccount(pubkey: string, level: Commitment = "processed"): AccountState | null {
    const current = this.svm.getAccount(pubkey);
    return level === "processed" ? current : this.ledger.accountAt(pubkey, current, this.ledger.at(level).slot);
  }
  getProgramAccounts(owner: string, level: Commitment = "processed"): Iterable<KeyedAccount> {
    if (level === "processed") return this.svm.programAccounts(owner);
    return this.programAccountsAt(owner, this.ledger.at(level).slot);
  }
  /** The processed list with the accounts changed after `slot` replaced by their state at `slot`. */
  private *programAccountsAt(owner: string, slot: bigint): Generator<KeyedAccount> {
    const changed = new Set(this.ledger.changedAfter(slot));
    for (const keyed of this.svm.programAccounts(owner)) if (!changed.has(keyed.pubkey)) yield keyed;
    for (const pubkey of changed) {
      const account = this.ledger.accountAt(pubkey, this.svm.getAccount(pubkey), slot);
      if (account && account.owner === owner) yield { pubkey, account };
    }
  }
  minimumBalanceForRentExemption(dataLength: number): bigint {
    return this.svm.minimumBalanceForRentExemption(dataLength);
  }

  setAccount(pubkey: string, patch: Partial<AccountState>): void {
    const next = { ...(this.getAccount(pubkey) ?? EMPTY()), ...patch };
    this.svm.setAccount(pubkey, next);
    this.ledger.forget(pubkey);
    this.emit("account", { pubkey, account: this.getAccount(pubkey) ?? EMPTY(), slot: this.currentSlot, allLevels: true });
  }

  setTokenAccount(owner: string, mint: string, patch: TokenAccountPatch, tokenProgram: string): string {
    const address = getAssociatedTokenAddressSync(
      new PublicKey(mint),
      new PublicKey(owner),
      true,
      new PublicKey(tokenProgram),
    ).toBase58();
    const existing = this.getAccount(address);
    const data = Buffer.alloc(ACCOUNT_SIZE);
    if (existing && existing.data.length >= ACCOUNT_SIZE) Buffer.from(existing.data).copy(data, 0, 0, ACCOUNT_SIZE);
    const fields =
      existing && existing.data.length >= ACCOUNT_SIZE
        ? AccountLayout.decode(existing.data)
        : AccountLayout.decode(Buffer.alloc(ACCOUNT_SIZE));
    fields.mint = new PublicKey(mint);
    fields.owner = new PublicKey(owner);
    if (!existing) fields.state = 1;
    if (patch.amount !== undefined) fields.amount = patch.amount;
    if (patch.delegate !== undefined) {
      fields.delegateOption = patch.delegate ? 1 : 0;
      fields.delegate = patch.delegate ? new PublicKey(patch.delegate) : PublicKey.default;
    }
    if (patch.delegatedAmount !== undefined) fields.delegatedAmount = patch.delegatedAmount;
    if (patch.state !== undefined) fields.state = { uninitialized: 0, initialized: 1, frozen: 2 }[patch.state];
    if (patch.closeAuthority !== undefined) {
      fields.closeAuthorityOption = patch.closeAuthority ? 1 : 0;
      fields.closeAuthority = patch.closeAuthority ? new PublicKey(patch.closeAuthority) : PublicKey.default;
    }
    AccountLayout.encode(fields, data);
    const full = existing && existing.data.length > ACCOUNT_SIZE ? Buffer.concat([data, Buffer.from(existing.data).subarray(ACCOUNT_SIZE)]) : data;
    this.setAccount(address, {
      lamports: existing?.lamports ?? this.minimumBalanceForRentExemption(full.length),
      data: full,
      owner: tokenProgram,
      executable: false,
      rentEpoch: 0n,
    });
    return address;
  }

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
