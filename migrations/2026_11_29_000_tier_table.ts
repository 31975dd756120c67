/**
 * The discount tier table in effect, one row. The indexer leader publishes its DISCOUNT_TIERS here when its
 * term starts; every reader (paywall, stake info, discount tiers) prices with this row, so processes started
 * with different DISCOUNT_TIERS cannot answer different tiers for one wallet. Amounts are decimal strings.
 */
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE discount_tier_table (
      id           smallint PRIMARY KEY DEFAULT 1 CONSTRAINT discount_tier_table_one_row CHECK (id = 1),
      tiers        jsonb NOT NULL CONSTRAINT discount_tier_table_tiers_array CHECK (jsonb_typeof(tiers) = 'array'),
      published_by text NOT NULL,
      published_at timestamptz NOT NULL DEFAULT now()
    )
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE discount_tier_table`.execute(db);
}
