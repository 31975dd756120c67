/**
 * A batch that COPYs its rows straight into `stakes` (an initial fill whose rows are all new, see
 * src/db/repositories/stakes-bulk.ts) stamps them with its id through the column's default: the transaction
 * sets `kamiyo.write_batch` locally. Everywhere else the setting is unset (or empty once a transaction that set
 * it has ended), and the default is null as before.
 */
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE stakes ALTER COLUMN write_batch SET DEFAULT nullif(current_setting('kamiyo.write_batch', true), '')::bigint`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE stakes ALTER COLUMN write_batch DROP DEFAULT`.execute(db);
}
