/**
 * The x402 usage ledger: one row per settled payment, written by the paywall and read by the revenue
 * pipeline and the revenue endpoints. Amounts are micro-USDC integers.
 *
 * A row is first inserted as a reservation (settlement_signature NULL) before the payment is settled, keyed
 * by `payment_key` (a hash of the payment transaction's message), so that a replayed or concurrently reused
 * payment cannot settle twice, whichever API instance receives it. A settled row has its signature set; a
 * reservation whose settlement failed is deleted. Revenue counts rows with a settlement signature only.
 */
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE x402_usage (
      id                   bigserial PRIMARY KEY,
      payment_key          text NOT NULL CONSTRAINT x402_usage_payment_key_key UNIQUE,
      payer                text NOT NULL,
      endpoint             text NOT NULL,
      method               text NOT NULL,
      status_code          integer NOT NULL,
      settlement_signature text CONSTRAINT x402_usage_settlement_signature_key UNIQUE,
      amount_charged       numeric(20, 0) NOT NULL CONSTRAINT x402_usage_amount_charged_nonnegative CHECK (amount_charged >= 0),
      original_amount      numeric(20, 0) NOT NULL CONSTRAINT x402_usage_original_amount_nonnegative CHECK (original_amount >= 0),
      discount_tier        text,
      discount_bps         integer NOT NULL DEFAULT 0 CONSTRAINT x402_usage_discount_bps_range CHECK (discount_bps BETWEEN 0 AND 10000),
      savings              numeric(20, 0) NOT NULL DEFAULT 0 CONSTRAINT x402_usage_savings_nonnegative CHECK (savings >= 0),
      response_time_ms     integer,
      network              text NOT NULL,
      asset                text NOT NULL,
      pay_to               text NOT NULL,
      created_at           timestamptz NOT NULL DEFAULT now()
    )
  `.execute(db);
  await sql`CREATE INDEX x402_usage_created_at_idx ON x402_usage (created_at)`.execute(db);
  await sql`CREATE INDEX x402_usage_payer_idx ON x402_usage (payer)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE x402_usage`.execute(db);
}
