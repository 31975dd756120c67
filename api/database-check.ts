/** Startup check: the tables the API reads exist (the schema is migrated). */
import { sql, type Kysely } from "kysely";
import type { Database } from "../src/db/schema.ts";

const UNDEFINED_TABLE = "42P01";
const REQUIRED_TABLES = ["stakes", "indexer_state", "webhook_deliveries"] as const;

/** The database is reachable but not migrated. Running `kamiyo-stake migrate` fixes it. */
export class NotMigratedError extends Error {
  override name = "NotMigratedError";
}

export async function assertMigrated(db: Kysely<Database>): Promise<void> {
  for (const table of REQUIRED_TABLES) {
    try {
      await sql`SELECT 1 FROM ${sql.table(table)} LIMIT 0`.execute(db);
    } catch (err) {
      if ((err as { code?: unknown }).code === UNDEFINED_TABLE) {
        throw new NotMigratedError(`the database has no ${table} table; run kamiyo-stake migrate`);
      }
      throw err;
    }
  }
}
