/**
 * Stake state mirrored from the chain, its change log, and the indexer's own state.
 * Amounts are u64 base units: NUMERIC(20,0) holds all of 0..2^64-1, which BIGINT (signed) does not.
 */
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE stakes (
      address         text PRIMARY KEY,
      owner           text NOT NULL,
      pool            text NOT NULL,
      staked_amount   numeric(20, 0) NOT NULL CONSTRAINT stakes_staked_amount_u64
                        CHECK (staked_amount >= 0 AND staked_amount <= 18446744073709551615),
      cooldown_amount numeric(20, 0) NOT NULL CONSTRAINT stakes_cooldown_amount_u64
                        CHECK (cooldown_amount >= 0 AND cooldown_amount <= 18446744073709551615),
      cooldown_end    bigint,
      effective_stake numeric(20, 0) NOT NULL CONSTRAINT stakes_effective_stake_u64
                        CHECK (effective_stake >= 0 AND effective_stake <= 18446744073709551615),
      discount_tier   text NOT NULL,
      discount_bps    integer NOT NULL CONSTRAINT stakes_discount_bps_range
                        CHECK (discount_bps BETWEEN 0 AND 10000),
      program_tier    smallint NOT NULL CONSTRAINT stakes_program_tier_range
                        CHECK (program_tier BETWEEN 0 AND 3),
      slot            bigint NOT NULL CONSTRAINT stakes_slot_nonnegative CHECK (slot >= 0),
      commitment      text NOT NULL CONSTRAINT stakes_commitment_known
                        CHECK (commitment IN ('processed', 'confirmed', 'finalized')),
      closed          boolean NOT NULL DEFAULT false,
      updated_at      timestamptz NOT NULL DEFAULT now()
    )
  `.execute(db);
  // A UserStake is the PDA of (pool, owner), so a second row for the same pair means a decoding bug.
  // Owner first: the price check looks a payer up by owner.
  await sql`CREATE UNIQUE INDEX stakes_owner_pool_key ON stakes (owner, pool)`.execute(db);
  await sql`CREATE INDEX stakes_slot_idx ON stakes (slot)`.execute(db);

  await sql`
    CREATE TABLE stake_events (
      id                       bigserial PRIMARY KEY,
      address                  text NOT NULL,
      owner                    text NOT NULL,
      pool                     text NOT NULL,
      slot                     bigint NOT NULL CONSTRAINT stake_events_slot_nonnegative CHECK (slot >= 0),
      source                   text NOT NULL CONSTRAINT stake_events_source_known
                                 CHECK (source IN ('ws', 'webhook', 'backfill', 'reconcile', 'resync')),
      previous_effective_stake numeric(20, 0) CONSTRAINT stake_events_previous_effective_stake_u64
                                 CHECK (previous_effective_stake >= 0 AND previous_effective_stake <= 18446744073709551615),
      effective_stake          numeric(20, 0) NOT NULL CONSTRAINT stake_events_effective_stake_u64
                                 CHECK (effective_stake >= 0 AND effective_stake <= 18446744073709551615),
      discount_tier            text NOT NULL,
      closed                   boolean NOT NULL,
      signature                text,
      recorded_at              timestamptz NOT NULL DEFAULT now()
    )
  `.execute(db);
  await sql`CREATE INDEX stake_events_address_slot_idx ON stake_events (address, slot)`.execute(db);

  await sql`
    CREATE TABLE indexer_state (
      key        text PRIMARY KEY,
      value      jsonb NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE indexer_state`.execute(db);
  await sql`DROP TABLE stake_events`.execute(db);
  await sql`DROP TABLE stakes`.execute(db);
}
