/**
 * SQL lives in src/db (its repositories, the migrator and the pool), nowhere else in shipping code: the
 * service's floors (api, indexer, jobs, src, cli) call repositories. The local chain, migrations, tests and
 * benches are not scanned.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), "../.."));
const SHIPPING = ["api", "indexer", "jobs", "src", "cli"];
/** Kysely's statement builders, its raw `sql` template, and pg's query call. */
const SQL = /\b(selectFrom|insertInto|updateTable|deleteFrom)\b|\bsql`|\.query\(/;

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...tsFiles(path));
    else if (name.endsWith(".ts")) out.push(path);
  }
  return out;
}

const files = SHIPPING.flatMap((d) => tsFiles(join(ROOT, d))).map((f) => relative(ROOT, f).split(sep).join("/"));
const withSql = files.filter((f) => SQL.test(readFileSync(join(ROOT, f), "utf8")));

describe("SQL only in repositories", () => {
  it("scans the shipping folders and finds the repositories' SQL", () => {
    expect(files.length).toBeGreaterThan(100);
    for (const repo of ["stakes", "usage", "runs", "webhook-inbox", "indexer-state", "apy"]) {
      expect(withSql).toContain(`src/db/repositories/${repo}.ts`);
    }
  });

  it("no shipping file outside src/db/ holds a SQL statement", () => {
    expect(withSql.filter((f) => !f.startsWith("src/db/"))).toEqual([]);
  });
});
