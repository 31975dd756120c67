/**
 * Schema migrations: Kysely's Migrator over the timestamped modules in `migrations/`, plus creating the
 * database itself when it does not exist yet.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import pg from "pg";
import { sql, type Kysely } from "kysely";
import { FileMigrationProvider, Migrator, type MigrationResultSet } from "kysely/migration";
import { describeError } from "../errors.ts";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations/", import.meta.url));

/** A migration failed, or the migrator could not start. `migration` names the failed one when known. */
export class MigrationError extends Error {
  override name = "MigrationError";
  readonly migration: string | undefined;
  constructor(message: string, migration: string | undefined, cause: unknown) {
    super(message, { cause });
    this.migration = migration;
  }
}

/**
 * `schema` must be given: without it Kysely decides whether its bookkeeping tables exist by looking for
 * their names in every schema, so a second schema in the same database (a test's, a tenant's) would make
 * it skip creating them here.
 */
export function createMigrator(db: Kysely<any>, schema: string, folder: string = MIGRATIONS_DIR): Migrator {
  return new Migrator({
    db,
    migrationTableSchema: schema,
    provider: new FileMigrationProvider({
      fs,
      path,
      migrationFolder: folder,
      import: (file) => import(pathToFileURL(file).href),
    }),
  });
}

/** The schema unqualified names resolve to on this connection (the first existing one in search_path). */
async function currentSchema(db: Kysely<any>): Promise<string> {
  const { rows } = await sql<{ schema: string | null }>`SELECT current_schema() AS schema`.execute(db);
  const schema = rows[0]?.schema;
  if (!schema) throw new Error("no schema on the search_path exists");
  return schema;
}

async function run(db: Kysely<any>, direction: "up" | "down", folder: string | undefined): Promise<string[]> {
  let result: MigrationResultSet;
  try {
    const migrator = createMigrator(db, await currentSchema(db), folder);
    result = direction === "up" ? await migrator.migrateToLatest() : await migrator.migrateDown();
  } catch (err) {
    result = { error: err };
  }
  const failed = result.results?.find((r) => r.status === "Error");
  if (result.error !== undefined) {
    const reason = describeError(result.error);
    if (failed) {
      throw new MigrationError(`migration ${failed.migrationName} (${direction}) failed: ${reason}`, failed.migrationName, result.error);
    }
    throw new MigrationError(`migrations (${direction}) could not run: ${reason}`, undefined, result.error);
  }
  return (result.results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}

/**
 * Applies every pending migration in name order, all in one transaction; returns the names applied
 * (empty when already current). Throws MigrationError, and then nothing is applied.
 */
export function migrateToLatest(db: Kysely<any>, folder?: string): Promise<string[]> {
  return run(db, "up", folder);
}

/** Reverts the most recently applied migration; returns its name (empty when none is applied). */
export function migrateDown(db: Kysely<any>, folder?: string): Promise<string[]> {
  return run(db, "down", folder);
}

const UNDEFINED_TABLE = "42P01";

/** The first of `tables` that the schema lacks, or null when it has them all. Other failures (connection) are thrown. */
export async function firstMissingTable(db: Kysely<any>, tables: readonly string[]): Promise<string | null> {
  for (const table of tables) {
    try {
      await sql`SELECT 1 FROM ${sql.table(table)} LIMIT 0`.execute(db);
    } catch (err) {
      if ((err as { code?: unknown }).code === UNDEFINED_TABLE) return table;
      throw err;
    }
  }
  return null;
}

const INVALID_CATALOG_NAME = "3D000";
const DUPLICATE_DATABASE = "42P04";

/**
 * Creates the database named in `url` when it does not exist, connecting to the `postgres` database on the
 * same server to do so. Returns true when it created it.
 */
export async function ensureDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ""));
  if (!name) throw new RangeError("the database URL names no database");
  const probe = new pg.Client({ connectionString: url });
  try {
    await probe.connect();
    return false;
  } catch (err) {
    if ((err as { code?: string }).code !== INVALID_CATALOG_NAME) throw err;
  } finally {
    await probe.end().catch(() => {});
  }
  const maintenance = new URL(url);
  maintenance.pathname = "/postgres";
  const admin = new pg.Client({ connectionString: maintenance.href });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    return true;
  } catch (err) {
    // Someone else created it between the probe and here.
    if ((err as { code?: string }).code === DUPLICATE_DATABASE) return false;
    throw err;
  } finally {
    await admin.end();
  }
}
