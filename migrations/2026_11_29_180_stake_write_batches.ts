/**
 * Batched stake writes (the backfill's COPY + set-based upsert): each batch takes an id from a sequence and
 * stamps the rows it wrote with it, so that its one notification ({"batch": id, ...} on stake_changes) can be
 * expanded by listeners into the rows it changed (`WHERE write_batch = id`). The partial index holds only rows
 * a batch wrote; per-row writes (websocket, webhook) leave the column alone.
 */
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE SEQUENCE stake_write_batch_seq`.execute(db);
  await sql`ALTER TABLE stakes ADD COLUMN write_batch bigint`.execute(db);
  await sql`CREATE INDEX stakes_write_batch_idx ON stakes (write_batch) WHERE write_batch IS NOT NULL`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS stakes_write_batch_idx`.execute(db);
  await sql`ALTER TABLE stakes DROP COLUMN IF EXISTS write_batch`.execute(db);
  await sql`DROP SEQUENCE IF EXISTS stake_write_batch_seq`.execute(db);
}
