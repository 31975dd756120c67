/**
 * Kysely's view of the tables created by `migrations/`. Column names are the SQL names.
 * NUMERIC and BIGINT columns arrive as bigint (see database.ts); amounts are KAMIYO base units.
 */
import type { ColumnType, Generated, JSONColumnType } from "kysely";
import type { Commitment } from "../config.ts";

/** Where an applied stake change came from. */
export type StakeEventSource = "ws" | "grpc" | "webhook" | "backfill" | "reconcile" | "resync";
export const STAKE_EVENT_SOURCES: readonly StakeEventSource[] = ["ws", "grpc", "webhook", "backfill", "reconcile", "resync"];

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One row per UserStake account; the row reflects the account at `slot`. */
export interface StakesTable {
  /** The UserStake account address (base58). */
  address: string;
  owner: string;
  pool: string;
  staked_amount: bigint;
  cooldown_amount: bigint;
  /** Unix seconds; null while no cooldown is active. */
  cooldown_end: bigint | null;
  /** staked_amount - cooldown_amount during a cooldown, else staked_amount; 0 once closed. */
  effective_stake: bigint;
  /** Service tier name from the configured table; "none" below the first tier. */
  discount_tier: string;
  discount_bps: number;
  /** The program's stored tier byte (0..3). Informational: discounts never read it. */
  program_tier: number;
  slot: bigint;
  commitment: Commitment;
  closed: boolean;
  updated_at: Generated<Date>;
}

/** Append-only log of every change applied to `stakes`. */
export interface StakeEventsTable {
  id: Generated<bigint>;
  address: string;
  owner: string;
  pool: string;
  slot: bigint;
  source: StakeEventSource;
  /** Null when the account was not in `stakes` before. */
  previous_effective_stake: bigint | null;
  effective_stake: bigint;
  discount_tier: string;
  closed: boolean;
  signature: string | null;
  recorded_at: Generated<Date>;
}

/** Cursors and status, one JSON document per key. Writes take JSON text (pg would turn a JS array into a SQL array). */
export interface IndexerStateTable {
  key: string;
  value: JSONColumnType<{ [key: string]: JsonValue } | JsonValue[]>;
  updated_at: Generated<Date>;
}

// ---- webhook inbox (migrations/2026_11_24_001_indexer.ts) ----

export type WebhookDeliveryStatus = "pending" | "processing" | "done" | "failed";

/** One raw Helius delivery (a JSON array of getTransaction JSON), stored before it is processed. */
export interface WebhookDeliveriesTable {
  id: Generated<bigint>;
  received_at: Generated<Date>;
  body: JSONColumnType<JsonValue[]>;
  elements: number;
  status: Generated<WebhookDeliveryStatus>;
  attempts: Generated<number>;
  next_attempt_at: Generated<Date>;
  last_error: string | null;
  outcome: JSONColumnType<{ [key: string]: JsonValue }> | null;
  processed_at: Date | null;
}

/** Transactions already handled from some delivery; a signature here is a duplicate everywhere else. */
export interface WebhookSignaturesTable {
  signature: string;
  delivery_id: bigint;
  slot: bigint;
  outcome: "applied" | "failed";
  processed_at: Generated<Date>;
}

// ---- revenue pipeline (migrations/2026_11_24_003_pipeline.ts); amounts are micro-USDC or KAMIYO base units ----

export type PipelineStatus =
  | "scheduled"
  | "allocated"
  | "swap_signed"
  | "swapped"
  | "fund_signed"
  | "funded"
  | "done"
  | "skipped"
  | "failed";

/** One run per UTC day. `run_date` is DATE: select it as text (to_char) so no timezone applies. */
export interface PipelineRunsTable {
  id: Generated<bigint>;
  run_date: ColumnType<string, string, never>;
  status: PipelineStatus;
  window_start: ColumnType<Date, Date, never>;
  window_end: ColumnType<Date, Date, never>;
  allocation_bps: number | null;
  revenue_micro_usdc: bigint | null;
  allocation_micro_usdc: bigint | null;
  usdc_spent: bigint | null;
  kamiyo_bought: bigint | null;
  kamiyo_funded: bigint | null;
  failed_from: PipelineStatus | null;
  error: string | null;
  /** The chain slot the revenue ledger was reconciled through when the run allocated (migration 140). */
  ledger_reconciled_slot: bigint | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type PipelineTxPurpose = "swap" | "fund";
export type PipelineTxStatus = "pending" | "landed" | "failed" | "expired";

/** Every transaction the pipeline signed, stored before its first send. */
export interface PipelineTransactionsTable {
  id: Generated<bigint>;
  run_id: bigint;
  purpose: PipelineTxPurpose;
  signature: string;
  raw: Buffer;
  blockhash: string;
  last_valid_block_height: bigint;
  status: PipelineTxStatus;
  /** Writes take JSON text. */
  err: ColumnType<JsonValue | null, string | null, string | null>;
  quote: ColumnType<{ [key: string]: JsonValue } | null, string | null, never>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface StakingRevenueAllocationsTable {
  id: Generated<bigint>;
  run_id: bigint;
  period_start: Date;
  period_end: Date;
  revenue_usdc: bigint;
  allocation_usdc: bigint;
  allocation_bps: number;
  request_count: bigint;
  tx_hash: string | null;
  created_at: Generated<Date>;
  processed_at: Date | null;
}

export interface KamiyoBuybacksTable {
  id: Generated<bigint>;
  allocation_id: bigint;
  run_id: bigint;
  usdc_amount: bigint;
  kamiyo_amount: bigint;
  average_price_micro_usdc: bigint;
  quoted_out_amount: bigint;
  slippage_bps: number;
  dex: string;
  tx_hash: string;
  created_at: Generated<Date>;
}

export interface StakingPoolFundingsTable {
  id: Generated<bigint>;
  allocation_id: bigint;
  run_id: bigint;
  kamiyo_amount: bigint;
  tx_hash: string;
  pool_address: string;
  vault_address: string;
  created_at: Generated<Date>;
}

export interface StakingApyHistoryTable {
  id: Generated<bigint>;
  recorded_at: Generated<Date>;
  total_staked: bigint;
  total_stakers: bigint;
  reward_rate_per_second: bigint;
  calculated_apy_bps: bigint | null;
  monthly_revenue_usdc: bigint;
  kamiyo_price_micro_usdc: bigint | null;
  pool_balance: bigint;
}

/**
 * One row per settled x402 payment (see migrations/2026_11_24_002_x402_usage.ts). A row whose
 * settlement_signature is null is a reservation for a payment being settled; revenue counts only rows with
 * a signature. Amounts are micro-USDC.
 */
export interface X402UsageTable {
  id: Generated<bigint>;
  /** Hex sha256 of the payment transaction's message bytes: the same payment always has the same key. */
  payment_key: string;
  /** The wallet that signed the payment (the token transfer's authority). */
  payer: string;
  endpoint: string;
  method: string;
  status_code: number;
  settlement_signature: string | null;
  amount_charged: bigint;
  original_amount: bigint;
  /** Null when no discount was applied. */
  discount_tier: string | null;
  discount_bps: Generated<number>;
  savings: Generated<bigint>;
  response_time_ms: number | null;
  network: string;
  asset: string;
  pay_to: string;
  created_at: Generated<Date>;
  /** The payment transaction's recent blockhash (migration 140): once it expires, a reservation with no transaction on chain is released. */
  recent_blockhash: string | null;
  settled_at: Date | null;
  /** Who wrote the row: the paywall, or the ledger reconciler (tier derived from the route's price, or not derivable). */
  source: Generated<UsageSource>;
}

export type UsageSource = "paywall" | "recovered_derived" | "recovered";

/** One pass of the ledger reconciler over the payTo USDC account's history (jobs/ledger/). */
export interface LedgerReconciliationsTable {
  id: Generated<bigint>;
  started_at: Generated<Date>;
  finished_at: Date | null;
  pay_to_account: string;
  since: Date | null;
  through_slot: bigint | null;
  through_signature: string | null;
  through_block_time: Date | null;
  transactions_read: Generated<number>;
  completed: Generated<number>;
  inserted: Generated<number>;
  released: Generated<number>;
  unexplained: Generated<number>;
  error: string | null;
}

/** USDC that reached payTo in a transaction that is not an x402 payment: recorded, never revenue. Amounts micro-USDC. */
export interface LedgerIncomingTransfersTable {
  signature: string;
  slot: bigint;
  block_time: Date | null;
  pay_to_account: string;
  source_owner: string | null;
  amount: bigint;
  reason: string;
  recorded_at: Generated<Date>;
}

/** A settled x402_usage row that appeared for a day already allocated (written by a trigger), until alerted and after. */
export interface LedgerLateRowsTable {
  usage_id: bigint;
  run_id: bigint;
  run_date: ColumnType<string, string, never>;
  amount: bigint;
  signature: string;
  detected_at: Generated<Date>;
  alerted_at: Date | null;
}

/** x402 payment-identifier extension: an id, the payment (payment_key) it names, and the paid answer once given. */
export interface PaymentIdentifiersTable {
  id: string;
  payment_key: string;
  status_code: number | null;
  content_type: string | null;
  body: Buffer | null;
  payment_response: string | null;
  created_at: Generated<Date>;
  answered_at: Date | null;
}

/** The discount tier table in effect (one row), published by the indexer leader. */
export interface DiscountTierTableTable {
  id: Generated<number>;
  /** TierTableJson (src/domain/tiers.ts): amounts as decimal strings. */
  tiers: unknown;
  published_by: string;
  published_at: Generated<Date>;
}

export interface Database {
  stakes: StakesTable;
  discount_tier_table: DiscountTierTableTable;
  stake_events: StakeEventsTable;
  indexer_state: IndexerStateTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_signatures: WebhookSignaturesTable;
  pipeline_runs: PipelineRunsTable;
  pipeline_transactions: PipelineTransactionsTable;
  staking_revenue_allocations: StakingRevenueAllocationsTable;
  kamiyo_buybacks: KamiyoBuybacksTable;
  staking_pool_fundings: StakingPoolFundingsTable;
  staking_apy_history: StakingApyHistoryTable;
  x402_usage: X402UsageTable;
  ledger_reconciliations: LedgerReconciliationsTable;
  ledger_incoming_transfers: LedgerIncomingTransfersTable;
  ledger_late_rows: LedgerLateRowsTable;
  payment_identifiers: PaymentIdentifiersTable;
}
