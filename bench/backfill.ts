/**
 * `npm run bench:backfill [-- --accounts N]`: the indexer's first backfill of N (default 1,000,000) user
 * stake accounts from the local chain into Postgres, against the physical limit: a plain COPY of the same
 * rows into an identical table.
 *
 * The chain runs in a child process (bench/backfill-chain.ts) so that the memory figures are the indexer's
 * alone. Measured: wall time from start() to the completed backfill (subscribe, getProgramAccounts streamed,
 * decode, batched upserts with stake_events and NOTIFY), peak RSS and heap of this process, and COPY time.
 * Uses DATABASE_URL (default: the test database) and a schema of its own, dropped at the end.
 */
import { loadLocalnetConfig } from "../localnet/demo-env.ts";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createReadStream, createWriteStream, readFileSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import pg from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import { pino } from "pino";
import { Registry } from "prom-client";

import { createDatabase } from "../src/db/database.ts";
import { ensureDatabase, migrateToLatest } from "../src/db/migrate.ts";
import { DEMO_ADDRESSES } from "../localnet/demo-addresses.ts";
import { createIndexer } from "../indexer/indexer.ts";

const { values } = parseArgs({
  options: { accounts: { type: "string", default: "1000000" }, "database-url": { type: "string" } },
});
const accounts = Number(values.accounts);
if (!Number.isInteger(accounts) || accounts < 1) throw new Error("--accounts must be a positive integer");
const databaseUrl = values["database-url"] ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const programId = loadLocalnetConfig({}).solana.programId;
const mint = DEMO_ADDRESSES.kamiyoMint;
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
const CLOCK_TICKS = 100;
/** CPU seconds (user + system) of a process from /proc, or 0 when it is gone or unreadable. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
/** Every postgres server process (backends, WAL writer, checkpointer...) on this machine. */
function postgresPids(): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, "utf8").trim().startsWith("postgres");
      } catch {
        return false;
      }
    });
}
const sumCpu = (pids: number[]) => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
const say = (text: string) => process.stdout.write(`${text}\n`);

say(`creating ${accounts.toLocaleString("en")} UserStake accounts on a local chain (child process)...`);
const child = spawn(process.execPath, [new URL("./backfill-chain.ts", import.meta.url).pathname, String(accounts), programId, mint], {
  stdio: ["pipe", "pipe", "inherit"],
});
const exited = once(child, "exit");
const ready = await new Promise<{ httpUrl: string; wsUrl: string; pool: string; setupMs: number }>((resolve, reject) => {
  const lines = createInterface({ input: child.stdout! });
  lines.once("line", (line) => resolve(JSON.parse(line) as { httpUrl: string; wsUrl: string; pool: string; setupMs: number }));
  child.once("exit", (code) => reject(new Error(`the chain process exited (${code}) before it was ready`)));
});
say(`chain ready in ${(ready.setupMs / 1000).toFixed(1)} s at ${ready.httpUrl}`);

await ensureDatabase(databaseUrl);
const schema = `bench_${Date.now().toString(36)}`;
const admin = new pg.Client({ connectionString: databaseUrl });
await admin.connect();
await admin.query(`CREATE SCHEMA ${schema}`);
const database = createDatabase({ url: databaseUrl, schema, max: 4, applicationName: "kamiyo-stake bench" });
const workDir = await mkdtemp(join(tmpdir(), "kamiyo-bench-"));
try {
  await migrateToLatest(database.db);
  const config = loadLocalnetConfig({
    LOG_LEVEL: "warn",
    SOLANA_RPC_URL: ready.httpUrl,
    SOLANA_WS_URL: ready.wsUrl,
    KAMIYO_MINT: mint,
  });

  global.gc?.();
  const baseline = process.memoryUsage();
  let peakRss = baseline.rss;
  let peakHeap = baseline.heapUsed;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > peakRss) peakRss = m.rss;
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
  }, 20);

  const indexer = createIndexer({
    config,
    db: database.db,
    pool: database.pool,
    logger: pino({ level: "warn" }),
    registry: new Registry(),
    options: { reconcileIntervalMs: 0, stallTimeoutMs: 60_000 },
  });
  const pgPids = postgresPids();
  const cpuBefore = { indexer: process.cpuUsage(), chain: cpuSeconds(child.pid!), postgres: sumCpu(pgPids) };
  const started = performance.now();
  await indexer.start();
  while (indexer.status().backfillCompletedAt === null) await new Promise((r) => setTimeout(r, 20));
  const wallMs = performance.now() - started;
  const indexerCpu = process.cpuUsage(cpuBefore.indexer);
  const cpu = {
    indexer: (indexerCpu.user + indexerCpu.system) / 1e6,
    chain: cpuSeconds(child.pid!) - cpuBefore.chain,
    // all postgres processes (others' sessions on this server included)
    postgres: sumCpu(pgPids.concat(postgresPids().filter((pid) => !pgPids.includes(pid)))) - cpuBefore.postgres,
  };
  clearInterval(sampler);
  await indexer.stop();

  const count = await admin.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${schema}.stakes`);
  const events = await admin.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${schema}.stake_events`);
  if (Number(count.rows[0]!.n) !== accounts) throw new Error(`stakes has ${count.rows[0]!.n} rows, expected ${accounts}`);

  // The physical limit: the same rows COPYed into an identical table (same columns, constraints and indexes).
  const file = join(workDir, "stakes.copy");
  const dump = await database.pool.connect();
  try {
    await pipeline(dump.query(copyTo(`COPY ${schema}.stakes TO STDOUT`)), createWriteStream(file));
    await dump.query(`CREATE TABLE ${schema}.stakes_copy (LIKE ${schema}.stakes INCLUDING ALL)`);
    const copyStarted = performance.now();
    await pipeline(createReadStream(file), dump.query(copyFrom(`COPY ${schema}.stakes_copy FROM STDIN`)));
    const copyMs = performance.now() - copyStarted;

    say("");
    say(`backfill of ${accounts.toLocaleString("en")} user stake accounts into Postgres`);
    say(`  wall time (start -> backfill complete)  ${(wallMs / 1000).toFixed(2)} s  (${Math.round(accounts / (wallMs / 1000)).toLocaleString("en")} accounts/s)`);
    say(`  rows: stakes ${count.rows[0]!.n}, stake_events ${events.rows[0]!.n} (one NOTIFY per row)`);
    say(`  peak indexer memory: RSS ${mb(peakRss)} MB (baseline ${mb(baseline.rss)} MB), heap used ${mb(peakHeap)} MB (baseline ${mb(baseline.heapUsed)} MB)`);
    say(`  CPU during the backfill: indexer ${cpu.indexer.toFixed(1)} s, local chain ${cpu.chain.toFixed(1)} s, postgres ${cpu.postgres.toFixed(1)} s (machine load average ${loadavg()[0]!.toFixed(1)})`);
    say(`  plain COPY of the same rows into an identical table: ${(copyMs / 1000).toFixed(2)} s`);
    say(`  ratio backfill / COPY: ${(wallMs / copyMs).toFixed(2)}x`);
    say(`  target: under 60 s -> ${wallMs < 60_000 ? "met" : "NOT met"}`);
  } finally {
    dump.release();
  }
} finally {
  await database.close();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
  await rm(workDir, { recursive: true, force: true });
  child.stdin!.end();
  await exited;
}
