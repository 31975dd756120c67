/** `kamiyo-stake migrate` as a process, against databases it has to create. */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { ensureDatabase } from "../../src/db/migrate.ts";
import { adminQuery, TEST_DATABASE_URL } from "../kit/db.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const created: string[] = [];

/** A URL for a database that does not exist yet, on the test server. Dropped in afterAll. */
function newDatabaseUrl(name: string): string {
  created.push(name);
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.href;
}

afterAll(async () => {
  for (const name of created) await adminQuery(TEST_DATABASE_URL, `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
});

const exists = async (name: string) =>
  (await adminQuery(TEST_DATABASE_URL, "SELECT 1 FROM pg_database WHERE datname = $1", [name])).rowCount === 1;

function migrate(url: string, ...args: string[]) {
  return spawnSync(process.execPath, ["cli/main.ts", "migrate", ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: "silent" },
    encoding: "utf8",
    timeout: 60_000,
  });
}

describe("ensureDatabase", () => {
  it("creates a missing database once, quoting its name", async () => {
    const name = `kamiyo test "${randomBytes(4).toString("hex")}"-Db`;
    const url = newDatabaseUrl(name);
    expect(await exists(name)).toBe(false);
    expect(await ensureDatabase(url)).toBe(true);
    expect(await exists(name)).toBe(true);
    expect(await ensureDatabase(url)).toBe(false);
  });

  it("leaves an existing database alone", async () => {
    expect(await ensureDatabase(TEST_DATABASE_URL)).toBe(false);
  });

  it("refuses a URL without a database name", async () => {
    await expect(ensureDatabase("postgres://postgres@127.0.0.1:5432")).rejects.toThrow("the database URL names no database");
  });
});

describe("kamiyo-stake migrate", () => {
  it("creates the database, applies, reports up to date, and reverts with --down", async () => {
    const name = `kamiyo_cli_${randomBytes(4).toString("hex")}`;
    const url = newDatabaseUrl(name);

    const first = migrate(url);
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`^created database ${name}\\napplied 2026_11_24_000_stakes\\n`));

    const second = migrate(url);
    expect(second.status).toBe(0);
    expect(second.stdout).toBe(`database ${name} is up to date\n`);

    const tables = await adminQuery(url, "SELECT to_regclass('stakes') IS NOT NULL AS present");
    expect(tables.rows[0]).toEqual({ present: true });

    const applied = (await adminQuery(url, "SELECT name FROM kysely_migration ORDER BY name")).rows.map((r) => r.name as string);
    const downs: string[] = [];
    for (let i = 0; i < applied.length; i++) {
      const down = migrate(url, "--down");
      expect(down.status).toBe(0);
      downs.push(down.stdout);
    }
    expect(downs).toEqual([...applied].reverse().map((m) => `reverted ${m}\n`));
    const none = migrate(url, "--down");
    expect(none.status).toBe(0);
    expect(none.stdout).toBe("no migration to revert\n");
  });

  it("reports an unreachable server in one line with exit 1", () => {
    const r = migrate("postgres://postgres@127.0.0.1:1/kamiyo_unreachable");
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^kamiyo-stake: migrate: connect ECONNREFUSED 127\.0\.0\.1:1\n$/);
  });
});
