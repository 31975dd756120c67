/**
 * Contracts between the local chain's parts: the chain core (chain.ts), the program models it hosts
 * (staking-model/), and the JSON-RPC facade (rpc/). Amounts are bigint; addresses are base58 strings.
 */

export interface AccountState {
  lamports: bigint;
  data: Uint8Array;
  /** base58 */
  owner: string;
  executable: boolean;
  rentEpoch: bigint;
}

export interface KeyedAccount {
  pubkey: string;
  account: AccountState;
}

/** The validator's JSON form of a TransactionError, e.g. {"InstructionError":[0,{"Custom":6013}]} or "AccountNotFound". */
export type TransactionErrorJson = string | Record<string, unknown>;

export interface TokenBalance {
  accountIndex: number;
  mint: string;
  owner: string;
  programId: string;
  amount: bigint;
  decimals: number;
}

/** An instruction invoked by a program (CPI), as the validator records it: indexes into the transaction's keys. */
export interface InnerInstruction {
  programIdIndex: number;
  accounts: number[];
  data: Uint8Array;
  /** 2 for a CPI made by a top-level instruction, 3 for one made from inside that, and so on. */
  stackHeight: number;
}

/** The CPIs made while top-level instruction `index` ran, in invocation order (only non-empty groups). */
export interface InnerInstructions {
  index: number;
  instructions: InnerInstruction[];
}

/** The last return data an instruction set (sol_set_return_data). */
export interface ReturnData {
  programId: string;
  data: Uint8Array;
}

export interface TxRecord {
  signature: string;
  slot: bigint;
  /** Unix seconds (the chain clock when it landed). */
  blockTime: number;
  /** Position of the transaction within its slot. */
  indexWithinBlock: number;
  /** The wire bytes as sent. */
  raw: Uint8Array;
  /** Static keys, then loaded writable, then loaded readonly (the order `accountIndex` refers to). */
  accountKeys: string[];
  loadedAddresses: { writable: string[]; readonly: string[] };
  err: TransactionErrorJson | null;
  fee: bigint;
  logMessages: string[];
  preBalances: bigint[];
  postBalances: bigint[];
  preTokenBalances: TokenBalance[];
  postTokenBalances: TokenBalance[];
  computeUnitsConsumed: bigint;
  innerInstructions: InnerInstructions[];
  returnData: ReturnData | null;
}

/**
 * A simulation as the validator reports it. Fields after `logs` are null when the transaction never executed
 * (refused before execution: blockhash, fee payer, fee).
 */
export interface SimulationResult {
  err: TransactionErrorJson | null;
  logs: string[] | null;
  unitsConsumed: bigint;
  /** Post-state of the requested accounts, in request order (null when absent). */
  accounts: (AccountState | null)[] | null;
  replacementBlockhash: { blockhash: string; lastValidBlockHeight: bigint } | null;
  /** Static keys, then loaded writable, then loaded readonly (what inner instruction indexes refer to). */
  accountKeys: string[];
  fee: bigint | null;
  preBalances: bigint[] | null;
  postBalances: bigint[] | null;
  preTokenBalances: TokenBalance[] | null;
  postTokenBalances: TokenBalance[] | null;
  loadedAddresses: { writable: string[]; readonly: string[] } | null;
  /** Bytes of every account the transaction loaded (SIMD-0186: 64 per account plus data, program data, tables). */
  loadedAccountsDataSize: number;
  innerInstructions: InnerInstructions[] | null;
  returnData: ReturnData | null;
}

export type Commitment = "processed" | "confirmed" | "finalized";

export interface SignatureStatus {
  slot: bigint;
  err: TransactionErrorJson | null;
  confirmationStatus: Commitment;
  /** Blocks since the transaction's (null once finalized, as the validator reports it). */
  confirmations: number | null;
}

/** A confirmed or finalized level moved from `previous` to `slot`. */
export interface CommitmentAdvance {
  level: "confirmed" | "finalized";
  slot: bigint;
  previous: bigint;
}

/** One produced slot, as the block methods describe it. */
export interface BlockInfo {
  slot: bigint;
  parentSlot: bigint;
  height: bigint;
  blockhash: string;
  previousBlockhash: string;
  blockTime: number;
  signatures: readonly string[];
  /** Accounts transactions of this block changed (null once finalized). */
  changed: ReadonlySet<string> | null;
}

export interface SlotInfo {
  slot: bigint;
  parent: bigint;
  root: bigint;
}

export interface AccountChange {
  pubkey: string;
  account: AccountState;
  slot: bigint;
  /** A cheatcode write: it holds at every commitment level at once. */
  allLevels: boolean;
}

export interface TimeTravelTarget {
  absoluteSlot?: bigint;
  absoluteTimestamp?: bigint; // milliseconds, as surfpool takes it
  absoluteEpoch?: bigint;
}

export interface ClockInfo {
  slot: bigint;
  epoch: bigint;
  unixTimestamp: bigint;
}

export interface TokenAccountPatch {
  amount?: bigint;
  delegate?: string | null;
  delegatedAmount?: bigint;
  state?: "uninitialized" | "initialized" | "frozen";
  closeAuthority?: string | null;
}

/** A JSON-RPC error in the validator's shape. */
export class RpcError extends Error {
  override name = "RpcError";
  readonly code: number;
  readonly data: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

/** The preflight simulation failed: -32002 "Transaction simulation failed: …" with the simulation as data. */
export class PreflightFailure extends RpcError {
  override name = "PreflightFailure";
  readonly simulation: SimulationResult;
  constructor(simulation: SimulationResult) {
    // `data` is the raw simulation for in-process callers; the RPC layer answers its JSON form (simulationJson).
    super(-32002, `Transaction simulation failed: ${transactionErrorText(simulation.err ?? "")}`, simulation);
    this.simulation = simulation;
  }
}

/** The validator's Display text of a TransactionError (the preflight failure message). */
export function transactionErrorText(err: TransactionErrorJson): string {
  if (typeof err === "object" && Array.isArray(err.InstructionError)) {
    const [index, inner] = err.InstructionError as [number, unknown];
    const innerText =
      typeof inner === "object" && inner !== null && "Custom" in inner
        ? `custom program error: 0x${Number((inner as { Custom: number }).Custom).toString(16)}`
        : String(typeof inner === "string" ? inner : JSON.stringify(inner));
    return `Error processing Instruction ${index}: ${innerText}`;
  }
  if (err === "BlockhashNotFound") return "Blockhash not found";
  if (err === "AlreadyProcessed") return "This transaction has already been processed";
  if (err === "AccountNotFound") return "Attempt to debit an account but found no record of a prior credit.";
  if (err === "InsufficientFundsForFee") return "Insufficient funds for fee";
  return typeof err === "string" ? err : JSON.stringify(err);
}

export interface ChainEvents {
  slot: (info: SlotInfo) => void;
  /** Emitted once per changed account per transaction, cheatcode or airdrop, after it is applied. */
  account: (change: AccountChange) => void;
  /** Emitted for every transaction that landed (successful or failed). */
  transaction: (record: TxRecord) => void;
  /** Emitted after `slot` when the confirmed (then the finalized) level moves. */
  commitment: (advance: CommitmentAdvance) => void;
}

/** What the JSON-RPC facade needs from the chain core. */
export interface ChainApi {
  readonly genesisHash: string;
  /** The slot of the newest block at `level` (default processed). */
  slot(level?: Commitment): bigint;
  blockHeight(level?: Commitment): bigint;
  epoch(): bigint;
  clock(): ClockInfo;
  latestBlockhash(level?: Commitment): { blockhash: string; lastValidBlockHeight: bigint };
  /** Whether the bank at `level` (default processed) accepts the blockhash. */
  isBlockhashValid(blockhash: string, level?: Commitment): boolean;
  /** The account as the newest block at `level` (default processed) left it. */
  getAccount(pubkey: string, level?: Commitment): AccountState | null;
  /**
   * Every account owned by `owner` at `level` (closed accounts do not exist). `accept` lets the chain skip
   * accounts by their data early; it is a hint, not a filter: what it rejects may still be returned.
   */
  getProgramAccounts(owner: string, level?: Commitment, accept?: (data: Uint8Array) => boolean): Iterable<KeyedAccount>;
  /** The level a slot has reached. */
  levelOf(slot: bigint): Commitment;
  block(slot: bigint): BlockInfo | null;
  /** Produced blocks with from <= slot <= to, oldest first. */
  blocks(from: bigint, to: bigint): readonly BlockInfo[];
  /** The oldest block still held. */
  firstBlock(): BlockInfo;
  minimumBalanceForRentExemption(dataLength: number): bigint;
  /** Lands the transaction or throws RpcError (-32002 with simulation details when preflight fails). */
  sendTransaction(raw: Uint8Array, options: { skipPreflight: boolean; preflightCommitment?: Commitment }): string;
  simulateTransaction(
    raw: Uint8Array,
    options: { sigVerify: boolean; replaceRecentBlockhash: boolean; accounts: string[] | null; commitment?: Commitment },
  ): SimulationResult;
  getTransaction(signature: string): TxRecord | null;
  getSignatureStatus(signature: string): SignatureStatus | null;
  /** Signatures of landed transactions that include `address`, oldest first (landing order). */
  addressSignatures(address: string): readonly string[];
  /** Transactions landed since genesis. */
  transactionCount(): bigint;
  requestAirdrop(pubkey: string, lamports: bigint): string;
  /** surfnet_setAccount: fields not given keep their value (a new account starts empty, system-owned). */
  setAccount(pubkey: string, patch: Partial<AccountState>): void;
  /** surfnet_setTokenAccount: creates or updates the owner's associated token account for mint. */
  setTokenAccount(owner: string, mint: string, patch: TokenAccountPatch, tokenProgram: string): string;
  timeTravel(target: TimeTravelTarget): ClockInfo;
  on<E extends keyof ChainEvents>(event: E, listener: ChainEvents[E]): unknown;
  off<E extends keyof ChainEvents>(event: E, listener: ChainEvents[E]): unknown;
  close(): void;
}

// Program models live in model-types.ts; re-exported so existing imports keep this path.
export type { ModelAccountMeta, ModelContext, ModelInstruction, ProgramModel } from "./model-types.ts";
export { ModelInstructionError } from "./model-types.ts";
