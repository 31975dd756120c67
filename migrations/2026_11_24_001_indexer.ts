/**
 * The indexer's durable webhook inbox: raw Helius deliveries are stored as received (the HTTP handler only
 * inserts), and the leading indexer processes them afterwards. Signatures already processed are remembered
 * so that a transaction delivered twice, in one delivery or in several, is applied once.
 */
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE webhook_deliveries (
      id              bigserial PRIMARY KEY,
      received_at     timestamptz NOT NULL DEFAULT now(),
      body            jsonb NOT NULL CONSTRAINT webhook_deliveries_body_array CHECK (jsonb_typeof(body) = 'array'),
      elements        integer NOT NULL CONSTRAINT webhook_deliveries_elements_nonnegative CHECK (elements >= 0),
      status          text NOT NULL DEFAULT 'pending' CONSTRAINT webhook_deliveries_status_known
                        CHECK (status IN ('pending', 'processing', 'done', 'failed')),
      attempts        integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL DEFAULT now(),
      last_error      text,
      -- Per-outcome element counts and the reasons of rejected elements, once processed.
      outcome         jsonb,
      processed_at    timestamptz
    )
  `.execute(db);
  // The processor's queue scan: pending deliveries that are due, oldest first.
  await sql`
    CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at, id)
      WHERE status IN ('pending', 'processing')
  `.execute(db);

  await sql`
    CREATE TABLE webhook_signatures (
      signature    text PRIMARY KEY,
      delivery_id  bigint NOT NULL,
      slot         bigint NOT NULL CONSTRAINT webhook_signatures_slot_nonnegative CHECK (slot >= 0),
      -- 'applied': its written accounts were re-read and applied; 'failed': the transaction failed (meta.err).
      outcome      text NOT NULL CONSTRAINT webhook_signatures_outcome_known CHECK (outcome IN ('applied', 'failed')),
      processed_at timestamptz NOT NULL DEFAULT now()
    )
  `.execute(db);
  await sql`CREATE INDEX webhook_signatures_processed_at_idx ON webhook_signatures (processed_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE webhook_signatures`.execute(db);
  await sql`DROP TABLE webhook_deliveries`.execute(db);
}
