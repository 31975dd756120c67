/**
 * `npm run bench:backfill [-- --accounts N] [-- --samples N]`: the indexer's first backfill of N (default
 * 1,000,000) user stake accounts from the local chain into Postgres, against the physical limit: a plain COPY
 * of the same rows into an identical table, in the same run.
 *
 * The chain runs in a child process (bench/backfill-chain.ts) so that the memory figures are the indexer's
 * alone. The indexer's live source is the chain's Yellowstone gRPC. Measured: wall time from start() to the
 * completed backfill (subscribe, getProgramAccounts streamed, decode, COPY into staging + one slot-guarded
 * upsert per batch, one NOTIFY per batch), peak RSS and heap of this process during it, the COPY time, and
 * then the gRPC source's freshness: from a chain change (surfnet_setAccount of a stake account, over RPC) to
 * the committed `stakes` row (its notification), p50/p99 over --samples changes.
 * Uses DATABASE_URL (default: the test database) and a schema of its own, dropped at the end. The npm script
 * runs it under the service's own Node flags (bin/kamiyo-stake.js: a young generation of at most 8 MiB
 * semi-spaces), so that the memory figures are the indexer's as it runs.
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
import { PublicKey } from "@solana/web3.js";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import { pino } from "pino";
import { Registry } from "prom-client";

import { createDatabase } from "../src/db/database.ts";
import { ensureDatabase, migrateToLatest } from "../src/db/migrate.ts";
import { DEMO_ADDRESSES } from "../localnet/demo-addresses.ts";
import { STAKE_CHANGES_CHANNEL } from "../indexer/contracts.ts";
import { createIndexer, type Indexer } from "../indexer/indexer.ts";

const { values } = parseArgs({
  options: { accounts: { type: "string", default: "1000000" }, samples: { type: "string", default: "200" }, source: { type: "string", default: "grpc" }, "database-url": { type: "string" } },
});
const accounts = Number(values.accounts);
const samples = Number(values.samples);
const liveSource = values.source;
if (liveSource !== "grpc" && liveSource !== "websocket") {
  process.stderr.write("bench:backfill: --source must be grpc or websocket\n");
  process.exit(2);
}
if (!Number.isInteger(accounts) || accounts < 1 || !Number.isInteger(samples) || samples < 1) {
  process.stderr.write("bench:backfill: --accounts and --samples must be positive integers\n");
  process.exit(2);
}
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

function percentile(sorted: number[], p: number): number {
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

async function rpc<T>(method: string, params: unknown[]): Promise<T> {
  const res = await fetch(ready.httpUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
  const body = (await res.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

/**
 * Changes `samples` stake accounts on the chain one at a time (staked_amount + 1 KAMIYO, by cheatcode over
 * RPC) and times each from the call to the notification of its committed row (the live source's write).
 */
async function measureFreshness(indexer: Indexer, waiters: Map<string, () => void>): Promise<number[]> {
  const out: number[] = [];
  const pageAddresses = await rpc<{ accounts: { pubkey: string; account: { data: [string, string] } }[] }>("getProgramAccountsV2", [
    programId,
    { encoding: "base64", limit: Math.min(samples, 10_000) },
  ]);
  for (const { pubkey, account } of pageAddresses.accounts.slice(0, samples)) {
    const data = Buffer.from(account.data[0], "base64");
    const owner = new PublicKey(data.subarray(8, 40)).toBase58();
    data.writeBigUInt64LE(data.readBigUInt64LE(72) + 1_000_000_000n, 72);
    const seen = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no stake change for ${pubkey} within 10 s`)), 10_000);
      waiters.set(owner, () => {
        clearTimeout(timer);
        waiters.delete(owner);
        resolve();
      });
    });
    const t0 = performance.now();
    await rpc("surfnet_setAccount", [pubkey, { data: data.toString("hex") }]);
    await seen;
    out.push(performance.now() - t0);
  }
  if (!indexer.isLeader) throw new Error("the indexer lost its leadership during the freshness samples");
  return out;
}

say(`creating ${accounts.toLocaleString("en")} UserStake accounts on a local chain (child process)...`);
const child = spawn(process.execPath, [new URL("./backfill-chain.ts", import.meta.url).pathname, String(accounts), programId, mint], {
  stdio: ["pipe", "pipe", "inherit"],
});
const exited = once(child, "exit");
interface Ready {
  httpUrl: string;
  wsUrl: string;
  grpcUrl: string;
  pool: string;
  setupMs: number;
}
const ready = await new Promise<Ready>((resolve, reject) => {
  const lines = createInterface({ input: child.stdout! });
  lines.once("line", (line) => resolve(JSON.parse(line) as Ready));
  child.once("exit", (code) => reject(new Error(`the chain process exited (${code}) before it was ready`)));
});
say(`chain ready in ${(ready.setupMs / 1000).toFixed(1)} s at ${ready.httpUrl} (gRPC ${ready.grpcUrl})`);

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
    ...(liveSource === "grpc" ? { SOLANA_GRPC_URL: ready.grpcUrl } : {}),
    KAMIYO_MINT: mint,
  });
  // Notices sent during the backfill (one per batch), counted on a connection of its own.
  const listener = new pg.Client({ connectionString: databaseUrl });
  await listener.connect();
  let notices = 0;
  const noticeWaiters = new Map<string, () => void>();
  listener.on("notification", (n) => {
    if (n.channel !== STAKE_CHANGES_CHANNEL || !n.payload) return;
    // The channel is database-wide: other sessions' notices (of any shape) arrive here too; batch notices are
    // counted only for this bench's pool.
    let notice: { owner?: string; batch?: string; pool?: string };
    try {
      notice = JSON.parse(n.payload) as typeof notice;
    } catch {
      return;
    }
    if (notice.batch !== undefined && notice.pool === ready.pool) notices++;
    if (notice.owner) noticeWaiters.get(notice.owner)?.();
  });
  await listener.query(`LISTEN ${STAKE_CHANGES_CHANNEL}`);

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
    // The local chain serves the million-account response from one event loop turn after another, and its
    // slots (the live source's liveness signal) wait meanwhile: the stall bound must outlast the response.
    options: { reconcileIntervalMs: 0, stallTimeoutMs: 600_000 },
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
  const backfillNotices = notices;

  const count = await admin.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${schema}.stakes`);
  const events = await admin.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${schema}.stake_events`);
  if (Number(count.rows[0]!.n) !== accounts) throw new Error(`stakes has ${count.rows[0]!.n} rows, expected ${accounts}`);

  // The physical limit: the same rows COPYed into an identical table (same columns, constraints and indexes).
  const file = join(workDir, "stakes.copy");
  // A plain connection: the pool's client-side query deadline would cut a long COPY.
  const dump = new pg.Client({ connectionString: databaseUrl });
  await dump.connect();
  try {
    // The comparison is the plain COPY, however long it takes on this machine now.
    await dump.query("SET statement_timeout = 0");
    await pipeline(dump.query(copyTo(`COPY ${schema}.stakes TO STDOUT`)), createWriteStream(file));
    await dump.query(`CREATE TABLE ${schema}.stakes_copy (LIKE ${schema}.stakes INCLUDING ALL)`);
    const copyStarted = performance.now();
    await pipeline(createReadStream(file), dump.query(copyFrom(`COPY ${schema}.stakes_copy FROM STDIN`)));
    const copyMs = performance.now() - copyStarted;

    say("");
    say(`backfill of ${accounts.toLocaleString("en")} user stake accounts into Postgres`);
    say(`  wall time (start -> backfill complete)  ${(wallMs / 1000).toFixed(2)} s  (${Math.round(accounts / (wallMs / 1000)).toLocaleString("en")} accounts/s)`);
    say(`  rows: stakes ${count.rows[0]!.n}, stake_events ${events.rows[0]!.n} (initial fill: no per-row event), batch NOTIFYs ${backfillNotices}`);
    say(`  peak indexer memory: RSS ${mb(peakRss)} MB (baseline ${mb(baseline.rss)} MB), heap used ${mb(peakHeap)} MB (baseline ${mb(baseline.heapUsed)} MB)`);
    say(`  CPU during the backfill: indexer ${cpu.indexer.toFixed(1)} s, local chain ${cpu.chain.toFixed(1)} s, postgres ${cpu.postgres.toFixed(1)} s (machine load average ${loadavg()[0]!.toFixed(1)})`);
    say(`  plain COPY of the same rows into an identical table: ${(copyMs / 1000).toFixed(2)} s`);
    say(`  ratio backfill / COPY: ${(wallMs / copyMs).toFixed(2)}x`);
    say(`  target: at most 2x COPY -> ${wallMs <= 2 * copyMs ? "met" : "NOT met"}; peak RSS at most 256 MB -> ${peakRss <= 256 * 2 ** 20 ? "met" : "NOT met"}`);
    try {
      // The live source first settles (a reconnect during the long response is replayed or resynced).
      const settled = Date.now();
      while (!indexer.activity().subscribed || indexer.activity().resyncRunning) {
        if (Date.now() - settled > 300_000) throw new Error("the gRPC source did not settle within 300 s");
        await new Promise((r) => setTimeout(r, 100));
      }
      const inOrder = await measureFreshness(indexer, noticeWaiters);
      const slowestAt = inOrder.indexOf(Math.max(...inOrder)) + 1;
      const freshness = [...inOrder].sort((a, b) => a - b);
      say(
        `  ${liveSource} source freshness (chain change -> stakes row), ${freshness.length} samples: p50 ${percentile(freshness, 50).toFixed(1)} ms, ` +
          `p99 ${percentile(freshness, 99).toFixed(1)} ms, max ${freshness[freshness.length - 1]!.toFixed(1)} ms (sample ${slowestAt}) (load average ${loadavg().map((l) => l.toFixed(2)).join(" ")})`,
      );
    } catch (err) {
      say(`  ${liveSource} source freshness: not measured: ${(err as Error).message}`);
      process.exitCode = 1;
    }
  } finally {
    await dump.end();
    await indexer.stop();
    await listener.end();
  }
} finally {
  await database.close();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
  await rm(workDir, { recursive: true, force: true });
  child.stdin!.end();
  await exited;
}
