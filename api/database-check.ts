/** Startup check: the tables the API reads exist (the schema is migrated). */
import type { Kysely } from "kysely";
import { firstMissingTable } from "../src/db/migrate.ts";
import type { Database } from "../src/db/schema.ts";

const REQUIRED_TABLES = ["stakes", "indexer_state", "webhook_deliveries"] as const;

/** The database is reachable but not migrated. Running `kamiyo-stake migrate` fixes it. */
export class NotMigratedError extends Error {
  override name = "NotMigratedError";
}

export async function assertMigrated(db: Kysely<Database>): Promise<void> {
  const missing = await firstMissingTable(db, REQUIRED_TABLES);
  if (missing !== null) throw new NotMigratedError(`the database has no ${missing} table; run kamiyo-stake migrate`);
}
