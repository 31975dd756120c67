/**
 * The revenue pipeline's record: one run per UTC day with a status machine, the transactions it signed
 * (stored before their first send), and the seed's ledger tables with integer amounts
 * (micro-USDC, KAMIYO base units, basis points).
 */
import { sql, type Kysely } from "kysely";

const U64 = (column: string) => sql.raw(`CHECK (${column} >= 0 AND ${column} <= 18446744073709551615)`);

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE pipeline_runs (
      id                    bigserial PRIMARY KEY,
      run_date              date NOT NULL CONSTRAINT pipeline_runs_run_date_key UNIQUE,
      status                text NOT NULL CONSTRAINT pipeline_runs_status_known CHECK (status IN (
                              'scheduled', 'allocated', 'swap_signed', 'swapped', 'fund_signed', 'funded',
                              'done', 'skipped', 'failed')),
      window_start          timestamptz NOT NULL,
      window_end            timestamptz NOT NULL,
      allocation_bps        integer CONSTRAINT pipeline_runs_allocation_bps_range CHECK (allocation_bps BETWEEN 0 AND 10000),
      revenue_micro_usdc    numeric(20, 0) ${U64("revenue_micro_usdc")},
      allocation_micro_usdc numeric(20, 0) ${U64("allocation_micro_usdc")},
      usdc_spent            numeric(20, 0) ${U64("usdc_spent")},
      kamiyo_bought         numeric(20, 0) ${U64("kamiyo_bought")},
      kamiyo_funded         numeric(20, 0) ${U64("kamiyo_funded")},
      -- The status a failed run had when it failed; a resumed run goes back to it.
      failed_from           text,
      error                 text,
      created_at            timestamptz NOT NULL DEFAULT now(),
      updated_at            timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT pipeline_runs_window CHECK (window_end > window_start),
      CONSTRAINT pipeline_runs_failed_from CHECK ((status = 'failed') = (failed_from IS NOT NULL))
    )
  `.execute(db);
  await sql`CREATE INDEX pipeline_runs_open_idx ON pipeline_runs (run_date) WHERE status NOT IN ('done', 'skipped', 'failed')`.execute(db);

  await sql`
    CREATE TABLE pipeline_transactions (
      id                      bigserial PRIMARY KEY,
      run_id                  bigint NOT NULL REFERENCES pipeline_runs (id),
      purpose                 text NOT NULL CONSTRAINT pipeline_transactions_purpose_known CHECK (purpose IN ('swap', 'fund')),
      signature               text NOT NULL CONSTRAINT pipeline_transactions_signature_key UNIQUE,
      raw                     bytea NOT NULL,
      blockhash               text NOT NULL,
      last_valid_block_height bigint NOT NULL,
      status                  text NOT NULL CONSTRAINT pipeline_transactions_status_known
                                CHECK (status IN ('pending', 'landed', 'failed', 'expired')),
      err                     jsonb,
      -- For swaps: the quote it was built from (inAmount, outAmount, otherAmountThreshold, priceImpactPct).
      quote                   jsonb,
      created_at              timestamptz NOT NULL DEFAULT now(),
      updated_at              timestamptz NOT NULL DEFAULT now()
    )
  `.execute(db);
  // At most one transaction per step may still land, and at most one may have landed successfully.
  await sql`CREATE UNIQUE INDEX pipeline_transactions_one_pending ON pipeline_transactions (run_id, purpose) WHERE status = 'pending'`.execute(db);
  await sql`CREATE UNIQUE INDEX pipeline_transactions_one_landed ON pipeline_transactions (run_id, purpose) WHERE status = 'landed'`.execute(db);

  await sql`
    CREATE TABLE staking_revenue_allocations (
      id                 bigserial PRIMARY KEY,
      run_id             bigint NOT NULL CONSTRAINT staking_revenue_allocations_run_key UNIQUE REFERENCES pipeline_runs (id),
      period_start       timestamptz NOT NULL,
      period_end         timestamptz NOT NULL,
      revenue_usdc       numeric(20, 0) NOT NULL ${U64("revenue_usdc")},
      allocation_usdc    numeric(20, 0) NOT NULL ${U64("allocation_usdc")},
      allocation_bps     integer NOT NULL CONSTRAINT staking_revenue_allocations_bps_range CHECK (allocation_bps BETWEEN 0 AND 10000),
      request_count      bigint NOT NULL,
      -- The funding transaction, once the run is done.
      tx_hash            text,
      created_at         timestamptz NOT NULL DEFAULT now(),
      processed_at       timestamptz
    )
  `.execute(db);
  await sql`CREATE INDEX staking_revenue_allocations_period_idx ON staking_revenue_allocations (period_start, period_end)`.execute(db);

  await sql`
    CREATE TABLE kamiyo_buybacks (
      id                       bigserial PRIMARY KEY,
      allocation_id            bigint NOT NULL REFERENCES staking_revenue_allocations (id),
      run_id                   bigint NOT NULL CONSTRAINT kamiyo_buybacks_run_key UNIQUE REFERENCES pipeline_runs (id),
      -- From the transaction's token balance changes, not from the quote.
      usdc_amount              numeric(20, 0) NOT NULL ${U64("usdc_amount")},
      kamiyo_amount            numeric(20, 0) NOT NULL ${U64("kamiyo_amount")},
      -- micro-USDC per whole KAMIYO, floored.
      average_price_micro_usdc numeric(20, 0) NOT NULL ${U64("average_price_micro_usdc")},
      quoted_out_amount        numeric(20, 0) NOT NULL ${U64("quoted_out_amount")},
      slippage_bps             integer NOT NULL,
      dex                      text NOT NULL,
      tx_hash                  text NOT NULL CONSTRAINT kamiyo_buybacks_tx_hash_key UNIQUE,
      created_at               timestamptz NOT NULL DEFAULT now()
    )
  `.execute(db);

  await sql`
    CREATE TABLE staking_pool_fundings (
      id             bigserial PRIMARY KEY,
      allocation_id  bigint NOT NULL REFERENCES staking_revenue_allocations (id),
      run_id         bigint NOT NULL CONSTRAINT staking_pool_fundings_run_key UNIQUE REFERENCES pipeline_runs (id),
      kamiyo_amount  numeric(20, 0) NOT NULL ${U64("kamiyo_amount")},
      tx_hash        text NOT NULL CONSTRAINT staking_pool_fundings_tx_hash_key UNIQUE,
      pool_address   text NOT NULL,
      vault_address  text NOT NULL,
      created_at     timestamptz NOT NULL DEFAULT now()
    )
  `.execute(db);

  await sql`
    CREATE TABLE staking_apy_history (
      id                       bigserial PRIMARY KEY,
      recorded_at              timestamptz NOT NULL DEFAULT now(),
      total_staked             numeric(20, 0) NOT NULL ${U64("total_staked")},
      total_stakers            numeric(20, 0) NOT NULL ${U64("total_stakers")},
      -- KAMIYO base units per second that the trailing window's allocation buys.
      reward_rate_per_second   numeric(20, 0) NOT NULL ${U64("reward_rate_per_second")},
      -- Basis points (1575 = 15.75 %); null when nothing is staked or no buyback price is known.
      calculated_apy_bps       numeric(20, 0),
      monthly_revenue_usdc     numeric(20, 0) NOT NULL ${U64("monthly_revenue_usdc")},
      kamiyo_price_micro_usdc  numeric(20, 0),
      pool_balance             numeric(20, 0) NOT NULL ${U64("pool_balance")}
    )
  `.execute(db);
  await sql`CREATE INDEX staking_apy_history_recorded_idx ON staking_apy_history (recorded_at DESC)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE staking_apy_history`.execute(db);
  await sql`DROP TABLE staking_pool_fundings`.execute(db);
  await sql`DROP TABLE kamiyo_buybacks`.execute(db);
  await sql`DROP TABLE staking_revenue_allocations`.execute(db);
  await sql`DROP TABLE pipeline_transactions`.execute(db);
  await sql`DROP TABLE pipeline_runs`.execute(db);
}
