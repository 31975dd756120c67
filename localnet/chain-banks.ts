/**
 * The chain's banks: what a validator has and LiteSVM lacks, short of transactions — a slot that advances on
 * its own, the processed/confirmed/finalized levels, a window of recent blockhashes with real expiry, a clock
 * on real time, and account state as each level sees it. Chain (chain.ts) adds transaction admission and records.
 */
import { EventEmitter } from "node:events";
import { Keypair, PublicKey } from "@solana/web3.js";
import { AccountLayout, ACCOUNT_SIZE, getAssociatedTokenAddressSync } from "@solana/spl-token";
import { EMPTY, SYSTEM_PROGRAM } from "./chain-records.ts";
import { SlotHashes, SlotHistory, writeNativeMints } from "./genesis.ts";
import { Ledger, type Block } from "./ledger.ts";
import { Svm } from "./svm.ts";
import {
  RpcError,
  type AccountState,
  type BlockInfo,
  type ClockInfo,
  type Commitment,
  type KeyedAccount,
  type ProgramModel,
  type TimeTravelTarget,
  type TokenAccountPatch,
} from "./types.ts";

export const DEVNET_GENESIS_HASH = "EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG";
export const SLOTS_PER_EPOCH = 432_000n;
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

export class ChainBanks extends EventEmitter {
  readonly genesisHash = DEVNET_GENESIS_HASH;
  readonly svm = new Svm();
  protected readonly models: Map<string, ProgramModel>;
  protected readonly faucet = Keypair.generate();
  protected readonly cpiPayer = Keypair.generate();
  private readonly validity: bigint;
  protected currentSlot: bigint;
  private height: bigint;
  protected latest = "";
  private readonly blockhashes = new Map<string, bigint>();
  private timeOffsetMs = 0;
  protected indexInSlot = 0;
  protected timer: NodeJS.Timeout | null = null;
  protected readonly ledger: Ledger;
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
  protected unixNow(): bigint {
    return BigInt(Math.floor((Date.now() + this.timeOffsetMs) / 1000));
  }
  protected syncClock(): void {
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
  /**
   * The accounts `owner` has at `level`. `accept` may drop accounts by their current data before the rest of
   * them is read (the caller still filters what it gets: accounts changed since `level` come unfiltered).
   */
  getProgramAccounts(owner: string, level: Commitment = "processed", accept?: (data: Uint8Array) => boolean): Iterable<KeyedAccount> {
    if (level === "processed") return this.svm.programAccounts(owner, accept);
    return this.programAccountsAt(owner, this.ledger.at(level).slot, accept);
  }
  /** The processed list with the accounts changed after `slot` replaced by their state at `slot`. */
  private *programAccountsAt(owner: string, slot: bigint, accept?: (data: Uint8Array) => boolean): Generator<KeyedAccount> {
    const changed = this.ledger.changedAfter(slot);
    // Only those `owner` has now can be in the processed list, read in this same step: the others (every
    // block's sysvars, at least) need no lookup per listed account.
    const replaced = new Set(changed.filter((pubkey) => this.svm.getAccount(pubkey)?.owner === owner));
    const current = this.svm.programAccounts(owner, accept);
    if (replaced.size === 0) yield* current;
    else for (const keyed of current) if (!replaced.has(keyed.pubkey)) yield keyed;
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
}
