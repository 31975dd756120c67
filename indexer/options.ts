/** The indexer's tunables, with the production defaults (tests and benches override them). */
import type { Commitment } from "../src/config.ts";
import type { ProgressReporter } from "./backfill-progress.ts";

export interface IndexerOptions {
  /** No slot progress on the live feed for this long means the socket is dead. */
  stallTimeoutMs: number;
  handshakeTimeoutMs: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  /** Between reconciliations; 0 disables the timer (reconcileNow still works). */
  reconcileIntervalMs: number;
  /** Commitment of the reconciliation snapshot (finalized: it is the check on what confirmed reads said). */
  reconcileCommitment: Commitment;
  statusIntervalMs: number;
  /** How often a standby retries the lock and a leader checks its lock connection. */
  leaderRetryMs: number;
  backfillBatch: number;
  /** Batched upserts in flight at once (Postgres works on one while the next is decoded and sent). */
  writeConcurrency: number;
  /** Backfill batches read ahead of the writes (memory: backfillBatch accounts each). */
  backfillReadAhead: number;
  /** Delay before accounts whose same-slot reads disagreed are read again at a later slot. */
  rereadDelayMs: number;
  webhookPollMs: number;
  webhookMaxAttempts: number;
  /** First retry delay of a failed webhook delivery (doubling, capped at a minute). */
  webhookRetryBaseMs: number;
  /** Re-read tries within one processing attempt (the node may not have reached the webhook's slot yet). */
  webhookReadAttempts: number;
  /** Webhook inbox rows older than this are deleted during reconciliation. */
  webhookRetentionDays: number;
  rpcTimeoutMs: number;
  /** Told how a full backfill progresses (the `indexer` command prints it); none by default. */
  onBackfillProgress?: ProgressReporter;
}

export const DEFAULT_INDEXER_OPTIONS: IndexerOptions = {
  stallTimeoutMs: 15_000,
  handshakeTimeoutMs: 10_000,
  reconnectBaseMs: 250,
  reconnectMaxMs: 10_000,
  reconcileIntervalMs: 5 * 60_000,
  reconcileCommitment: "finalized",
  statusIntervalMs: 1_000,
  leaderRetryMs: 2_000,
  backfillBatch: 5_000,
  writeConcurrency: 2,
  backfillReadAhead: 3,
  rereadDelayMs: 250,
  webhookPollMs: 1_000,
  webhookMaxAttempts: 5,
  webhookRetryBaseMs: 1_000,
  webhookReadAttempts: 8,
  webhookRetentionDays: 7,
  rpcTimeoutMs: 30_000,
};
