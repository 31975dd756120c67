/**
 * The revenue ledger made equal to the chain (issue 15).
 *
 * x402_usage gains what a reconciler needs to finish or undo a reservation from the chain alone: the payment's
 * recent blockhash (a reservation whose blockhash has expired with no transaction on chain can be released),
 * when it settled, and where the row came from (`source`: written by the paywall, or recovered by the
 * reconciler with its tier derived from the route's price, or recovered with no tier it could derive).
 *
 * ledger_reconciliations: one row per reconciliation pass (what it scanned through and what it repaired).
 * ledger_incoming_transfers: USDC that reached payTo and is not an x402 payment: recorded, never revenue.
 * ledger_late_rows: a settled row that appeared for a day already allocated; written by a trigger on every
 * path that can settle a row (paywall completion, reconciler), so none is dropped silently.
 * payment_identifiers: x402's payment-identifier extension: the id, the payment it names, and the paid answer.
 * pipeline_runs.ledger_reconciled_slot: the chain slot the ledger was reconciled through when the run allocated.
 */
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE x402_usage
      ADD COLUMN recent_blockhash text,
      ADD COLUMN settled_at timestamptz,
      ADD COLUMN source text NOT NULL DEFAULT 'paywall'
        CONSTRAINT x402_usage_source_known CHECK (source IN ('paywall', 'recovered_derived', 'recovered'))
  `.execute(db);
  await sql`CREATE INDEX x402_usage_open_reservations_idx ON x402_usage (created_at) WHERE settlement_signature IS NULL`.execute(db);

  await sql`
    CREATE TABLE ledger_reconciliations (
      id                  bigserial PRIMARY KEY,
      started_at          timestamptz NOT NULL DEFAULT now(),
      finished_at         timestamptz,
      pay_to_account      text NOT NULL,
      since               timestamptz,
      through_slot        bigint,
      through_signature   text,
      through_block_time  timestamptz,
      transactions_read   integer NOT NULL DEFAULT 0,
      completed           integer NOT NULL DEFAULT 0,
      inserted            integer NOT NULL DEFAULT 0,
      released            integer NOT NULL DEFAULT 0,
      unexplained         integer NOT NULL DEFAULT 0,
      error               text
    )
  `.execute(db);
  await sql`CREATE INDEX ledger_reconciliations_finished_idx ON ledger_reconciliations (pay_to_account, through_slot) WHERE finished_at IS NOT NULL AND error IS NULL`.execute(db);

  await sql`
    CREATE TABLE ledger_incoming_transfers (
      signature     text PRIMARY KEY,
      slot          bigint NOT NULL,
      block_time    timestamptz,
      pay_to_account text NOT NULL,
      source_owner  text,
      amount        numeric(20, 0) NOT NULL CONSTRAINT ledger_incoming_transfers_amount_nonnegative CHECK (amount >= 0),
      reason        text NOT NULL,
      recorded_at   timestamptz NOT NULL DEFAULT now()
    )
  `.execute(db);

  await sql`
    CREATE TABLE ledger_late_rows (
      usage_id      bigint PRIMARY KEY REFERENCES x402_usage (id) ON DELETE CASCADE,
      run_id        bigint NOT NULL REFERENCES pipeline_runs (id),
      run_date      date NOT NULL,
      amount        numeric(20, 0) NOT NULL,
      signature     text NOT NULL,
      detected_at   timestamptz NOT NULL DEFAULT now(),
      alerted_at    timestamptz
    )
  `.execute(db);
  await sql`
    CREATE FUNCTION x402_usage_report_late() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO ledger_late_rows (usage_id, run_id, run_date, amount, signature)
      SELECT NEW.id, r.id, r.run_date, NEW.amount_charged, NEW.settlement_signature
        FROM pipeline_runs r
       WHERE r.window_start <= NEW.created_at AND NEW.created_at < r.window_end
         AND r.status <> 'scheduled'
         AND NOT (r.status = 'failed' AND r.failed_from = 'scheduled')
      ON CONFLICT (usage_id) DO NOTHING;
      RETURN NEW;
    END $$
  `.execute(db);
  await sql`
    CREATE TRIGGER x402_usage_late_insert AFTER INSERT ON x402_usage
      FOR EACH ROW WHEN (NEW.settlement_signature IS NOT NULL) EXECUTE FUNCTION x402_usage_report_late()
  `.execute(db);
  await sql`
    CREATE TRIGGER x402_usage_late_settle AFTER UPDATE OF settlement_signature ON x402_usage
      FOR EACH ROW WHEN (OLD.settlement_signature IS NULL AND NEW.settlement_signature IS NOT NULL) EXECUTE FUNCTION x402_usage_report_late()
  `.execute(db);

  await sql`
    CREATE TABLE payment_identifiers (
      id               text PRIMARY KEY,
      payment_key      text NOT NULL,
      status_code      integer,
      content_type     text,
      body             bytea,
      payment_response text,
      created_at       timestamptz NOT NULL DEFAULT now(),
      answered_at      timestamptz
    )
  `.execute(db);

  await sql`ALTER TABLE pipeline_runs ADD COLUMN ledger_reconciled_slot bigint`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE pipeline_runs DROP COLUMN ledger_reconciled_slot`.execute(db);
  await sql`DROP TABLE payment_identifiers`.execute(db);
  await sql`DROP TRIGGER x402_usage_late_settle ON x402_usage`.execute(db);
  await sql`DROP TRIGGER x402_usage_late_insert ON x402_usage`.execute(db);
  await sql`DROP FUNCTION x402_usage_report_late()`.execute(db);
  await sql`DROP TABLE ledger_late_rows`.execute(db);
  await sql`DROP TABLE ledger_incoming_transfers`.execute(db);
  await sql`DROP TABLE ledger_reconciliations`.execute(db);
  await sql`DROP INDEX x402_usage_open_reservations_idx`.execute(db);
  await sql`ALTER TABLE x402_usage DROP COLUMN source, DROP COLUMN settled_at, DROP COLUMN recent_blockhash`.execute(db);
}
