/**
 * A fresh Postgres schema per test file: created with a random name, migrated (unless asked not to),
 * and dropped with everything in it by `close()`.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Kysely } from "kysely";
import { createDatabase } from "../../src/db/database.ts";
import { ensureDatabase, migrateToLatest } from "../../src/db/migrate.ts";
import type { Database } from "../../src/db/schema.ts";

export const TEST_DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export interface FreshSchema {
  db: Kysely<Database>;
  pool: pg.Pool;
  schema: string;
  url: string;
  /** Destroys the pool, then drops the schema. */
  close(): Promise<void>;
}

let ensured: Promise<boolean> | undefined;

export async function withFreshSchema(options: { migrate?: boolean; max?: number } = {}): Promise<FreshSchema> {
  const url = TEST_DATABASE_URL;
  await (ensured ??= ensureDatabase(url));
  const schema = `test_${randomBytes(6).toString("hex")}`;
  await adminQuery(url, `CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
  const handle = createDatabase({ url, schema, max: options.max ?? 4, applicationName: `kamiyo-stake test ${schema}` });
  const close = async () => {
    await handle.close();
    await adminQuery(url, `DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  };
  if (options.migrate ?? true) {
    try {
      await migrateToLatest(handle.db);
    } catch (err) {
      await close();
      throw err;
    }
  }
  return { db: handle.db, pool: handle.pool, schema, url, close };
}

export async function adminQuery(url: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}
