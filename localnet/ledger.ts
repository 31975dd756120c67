/**
 * The chain's record of blocks and its commitment levels. Every slot the chain produces is a block (its
 * blockhash, parent, height, time and transactions). `processed` is the newest block, `confirmed` the block
 * `confirmedLag` blocks behind it, `finalized` the one `finalizedLag` behind. Account state lives once (in
 * LiteSVM, at `processed`); what a lower level sees is rebuilt from an undo log of the changes transactions
 * made in blocks it has not reached yet. The log is pruned as blocks finalize.
 */
import type { AccountState, Commitment } from "./types.ts";

export interface Block {
  slot: bigint;
  parentSlot: bigint;
  height: bigint;
  blockhash: string;
  previousBlockhash: string;
  /** Unix seconds when the slot began. */
  blockTime: number;
  /** Transactions in execution order. */
  signatures: string[];
  /** Accounts transactions of this block changed (null once the block is finalized and pruned). */
  changed: Set<string> | null;
}

interface Undo {
  slot: bigint;
  before: AccountState | null;
}

export interface CommitmentLags {
  confirmed: number;
  finalized: number;
}

/** Blocks kept for the block methods; older ones fall out of the ledger (minimumLedgerSlot moves). */
const MAX_BLOCKS = 150_000;
const DROP_BLOCKS = 50_000;

export const COMMITMENT_RANK: Readonly<Record<Commitment, number>> = { processed: 0, confirmed: 1, finalized: 2 };

export class Ledger {
  private blocks: Block[] = [];
  private readonly undo = new Map<string, Undo[]>();
  /** Index of the first block whose `changed` set still holds undo entries. */
  private unpruned = 0;
  readonly lags: CommitmentLags;

  constructor(lags: CommitmentLags) {
    if (lags.confirmed < 0 || lags.finalized < lags.confirmed) {
      throw new Error(`commitment lags must satisfy 0 <= confirmed <= finalized (got ${lags.confirmed}, ${lags.finalized})`);
    }
    this.lags = lags;
  }

  addBlock(block: Block): void {
    this.blocks.push(block);
    if (this.blocks.length > MAX_BLOCKS && this.unpruned > DROP_BLOCKS) {
      this.blocks.splice(0, DROP_BLOCKS);
      this.unpruned -= DROP_BLOCKS;
    }
  }

  isEmpty(): boolean {
    return this.blocks.length === 0;
  }

  tip(): Block {
    return this.blocks[this.blocks.length - 1]!;
  }

  first(): Block {
    return this.blocks[0]!;
  }

  /** The newest block at `level`. */
  at(level: Commitment): Block {
    const lag = level === "processed" ? 0 : this.lags[level];
    return this.blocks[Math.max(0, this.blocks.length - 1 - lag)]!;
  }

  /** The level a transaction of `slot` has reached. */
  levelOf(slot: bigint): Commitment {
    if (slot <= this.at("finalized").slot) return "finalized";
    if (slot <= this.at("confirmed").slot) return "confirmed";
    return "processed";
  }

  private indexOf(slot: bigint): number {
    let lo = 0;
    let hi = this.blocks.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.blocks[mid]!.slot;
      if (s === slot) return mid;
      if (s < slot) lo = mid + 1;
      else hi = mid - 1;
    }
    return -lo - 1;
  }

  block(slot: bigint): Block | null {
    const i = this.indexOf(slot);
    return i >= 0 ? this.blocks[i]! : null;
  }

  /** Blocks with from <= slot <= to, oldest first. */
  range(from: bigint, to: bigint): Block[] {
    if (to < from) return [];
    const i = this.indexOf(from);
    const start = i >= 0 ? i : -i - 1;
    const out: Block[] = [];
    for (let k = start; k < this.blocks.length && this.blocks[k]!.slot <= to; k++) out.push(this.blocks[k]!);
    return out;
  }

  /** A transaction of the newest block changed `pubkey`, which was `before` until then. */
  recordChange(pubkey: string, before: AccountState | null): void {
    const tip = this.tip();
    let list = this.undo.get(pubkey);
    if (!list) this.undo.set(pubkey, (list = []));
    list.push({ slot: tip.slot, before });
    (tip.changed ??= new Set()).add(pubkey);
  }

  /** A cheatcode wrote `pubkey`: the write holds at every level. */
  forget(pubkey: string): void {
    this.undo.delete(pubkey);
  }

  /** `current` (the processed state) as the block at `slot` left it. */
  accountAt(pubkey: string, current: AccountState | null, slot: bigint): AccountState | null {
    const list = this.undo.get(pubkey);
    if (!list) return current;
    let account = current;
    for (let i = list.length - 1; i >= 0 && list[i]!.slot > slot; i--) account = list[i]!.before;
    return account;
  }

  /** Accounts whose state at `slot` differs from the processed state. */
  changedAfter(slot: bigint): string[] {
    const out: string[] = [];
    for (const [pubkey, list] of this.undo) if (list[list.length - 1]!.slot > slot) out.push(pubkey);
    return out;
  }

  /** Drops undo entries no level can see any more (those of finalized blocks). */
  prune(): void {
    const root = this.at("finalized").slot;
    while (this.unpruned < this.blocks.length && this.blocks[this.unpruned]!.slot <= root) {
      const block = this.blocks[this.unpruned++]!;
      for (const pubkey of block.changed ?? []) {
        const list = this.undo.get(pubkey);
        if (!list) continue;
        while (list.length > 0 && list[0]!.slot <= root) list.shift();
        if (list.length === 0) this.undo.delete(pubkey);
      }
      block.changed = null;
    }
  }
}
