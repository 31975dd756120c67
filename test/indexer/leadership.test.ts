/**
 * One writer at a time: a standby waits on the advisory lock and takes over when the leader's connection
 * dies — a terminated backend here, a killed `kamiyo-stake indexer` process below.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { adminQuery, withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { readStatus } from "../../indexer/status.ts";
import { createStakers, sendTx, startTestChain, type TestChain } from "./helpers/chain.ts";
import { waitFor } from "../kit/wait-for.ts";
import { testIndexer, type TestIndexer } from "./helpers/indexer.ts";
import { KAMIYO } from "./helpers/accounts.ts";

let chain: TestChain;
let s: FreshSchema;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  chain = await startTestChain();
  s = await withFreshSchema();
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

afterAll(async () => {
  await s?.close();
  await chain?.close();
});

function start(): TestIndexer {
  const t = testIndexer(s, chain.config);
  cleanups.push(() => t.indexer.stop());
  void t.indexer.start();
  return t;
}

/** Backends of this test's schema that hold an advisory lock (only the leader's lock connection does). */
async function lockHolders(): Promise<number[]> {
  const r = await adminQuery(
    s.url,
    `SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = $1`,
    [`kamiyo-stake test ${s.schema}`],
  );
  return r.rows.map((row: { pid: number }) => row.pid);
}

async function stakeAndExpectRow(amount: bigint): Promise<void> {
  const [a] = createStakers(chain, 1, 1_000_000n * KAMIYO);
  await sendTx(chain, a!.keypair, [await chain.staking.stake(a!.wallet, a!.tokenAccount, amount)]);
  const address = chain.staking.userStake(a!.wallet).toBase58();
  await waitFor(
    "the stake to be indexed",
    async () => (await s.db.selectFrom("stakes").select("address").where("address", "=", address).executeTakeFirst()) !== undefined,
    { timeoutMs: 10_000 },
  );
}

describe("leadership", () => {
  it("keeps a second indexer on standby and hands over when the leader's connection dies", async () => {
    const a = start();
    await waitFor("A to lead", () => a.indexer.isLeader && a.indexer.status().backfillCompletedAt !== null, { timeoutMs: 10_000 });
    const b = start();
    // B must NOT take the lock: only a bounded wait can show that nothing happens.
    await new Promise((r) => setTimeout(r, 400));
    expect(b.indexer.isLeader).toBe(false);
    expect(b.indexer.activity().subscribed).toBe(false);
    expect(await lockHolders()).toHaveLength(1);
    expect(await b.registry.getSingleMetricAsString("kamiyo_indexer_leader")).toContain("kamiyo_indexer_leader 0");

    const [pid] = await lockHolders();
    await adminQuery(s.url, "SELECT pg_terminate_backend($1)", [pid]);
    await waitFor("B to take over", () => b.indexer.isLeader, { timeoutMs: 10_000 });
    await waitFor("A to step down", () => !a.indexer.isLeader, { timeoutMs: 5_000 });
    await waitFor("B's backfill", () => b.indexer.status().backfillCompletedAt !== null, { timeoutMs: 10_000 });
    await stakeAndExpectRow(300_000n * KAMIYO);
    // A stays a standby: B's session still holds the lock (a negative, so a bounded wait)
    await new Promise((r) => setTimeout(r, 300));
    expect(a.indexer.isLeader).toBe(false);
    expect(await lockHolders()).toHaveLength(1);
  });

  it("stops when asked while it is still taking the lock, and leaves the lock free", async () => {
    const t = testIndexer(s, chain.config);
    void t.indexer.start();
    // start() has opened the lock connection; its connect and tryLock are still in flight.
    let stopped = false;
    const stopping = t.indexer.stop().then(() => (stopped = true));
    await waitFor("stop() to resolve", () => stopped, { timeoutMs: 5_000 });
    await stopping;
    expect(t.indexer.isLeader).toBe(false);
    expect(t.indexer.activity().subscribed).toBe(false);
    expect(await lockHolders()).toEqual([]);
    // The lock is free: the next indexer leads.
    const b = start();
    await waitFor("the next indexer to lead", () => b.indexer.isLeader, { timeoutMs: 10_000 });
  });

  it("takes over from a `kamiyo-stake indexer` process that is killed", async () => {
    const url = new URL(s.url);
    url.searchParams.set("options", `-c search_path=${s.schema}`);
    url.searchParams.set("application_name", `kamiyo-stake test ${s.schema}`);
    const child: ChildProcess = spawn(process.execPath, ["cli/main.ts", "indexer", "--stall-timeout", "2"], {
      env: {
        ...process.env,
        DATABASE_URL: url.href,
        SOLANA_RPC_URL: chain.net.httpUrl,
        SOLANA_WS_URL: chain.net.wsUrl,
        KAMIYO_MINT: chain.seed.kamiyoMint,
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    const exited = once(child, "exit");
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await exited;
      }
    });
    await waitFor("the child to start", () => output.includes("indexer started"), { timeoutMs: 20_000 });
    await waitFor("the child to lead", async () => (await lockHolders()).length === 1, { timeoutMs: 10_000 });
    const before = (await readStatus(s.db))?.updatedAt;
    await waitFor("the child to write its status", async () => (await readStatus(s.db))?.updatedAt !== before, { timeoutMs: 5_000 });

    const b = start();
    // B must NOT lead while the child lives: only a bounded wait can show that nothing happens.
    await new Promise((r) => setTimeout(r, 300));
    expect(b.indexer.isLeader).toBe(false);
    child.kill("SIGKILL");
    await exited;
    await waitFor("B to take over from the killed process", () => b.indexer.isLeader, { timeoutMs: 10_000 });
    await stakeAndExpectRow(700_000n * KAMIYO);
    expect(output).not.toMatch(/Error|error/);
  });
});
