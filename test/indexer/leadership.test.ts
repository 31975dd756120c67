/**
 * One writer at a time: a standby waits on the advisory lock and takes over when the leader's connection
 * dies — a terminated backend here, a killed `kamiyo-stake indexer` process below.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { adminQuery, withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { readStatus } from "../../indexer/status.ts";
import { createStakers, sendTx, startTestChain, waitFor, type TestChain } from "./helpers/chain.ts";
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
    async () => (await s.db.selectFrom("stakes").select("address").where("address", "=", address).executeTakeFirst()) !== undefined,
    10_000,
    "the stake to be indexed",
  );
}

describe("leadership", () => {
  it("keeps a second indexer on standby and hands over when the leader's connection dies", async () => {
    const a = start();
    await waitFor(() => a.indexer.isLeader && a.indexer.status().backfillCompletedAt !== null, 10_000, "A to lead");
    const b = start();
    await new Promise((r) => setTimeout(r, 400));
    expect(b.indexer.isLeader).toBe(false);
    expect(b.indexer.activity().subscribed).toBe(false);
    expect(await lockHolders()).toHaveLength(1);
    expect(await b.registry.getSingleMetricAsString("kamiyo_indexer_leader")).toContain("kamiyo_indexer_leader 0");

    const [pid] = await lockHolders();
    await adminQuery(s.url, "SELECT pg_terminate_backend($1)", [pid]);
    await waitFor(() => b.indexer.isLeader, 10_000, "B to take over");
    await waitFor(() => !a.indexer.isLeader, 5_000, "A to step down");
    await waitFor(() => b.indexer.status().backfillCompletedAt !== null, 10_000, "B's backfill");
    await stakeAndExpectRow(300_000n * KAMIYO);
    // A stays a standby: B's session still holds the lock
    await new Promise((r) => setTimeout(r, 300));
    expect(a.indexer.isLeader).toBe(false);
    expect(await lockHolders()).toHaveLength(1);
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
    await waitFor(() => output.includes("indexer started"), 20_000, "the child to start");
    await waitFor(async () => (await lockHolders()).length === 1, 10_000, "the child to lead");
    const before = (await readStatus(s.db))?.updatedAt;
    await waitFor(async () => (await readStatus(s.db))?.updatedAt !== before, 5_000, "the child to write its status");

    const b = start();
    await new Promise((r) => setTimeout(r, 300));
    expect(b.indexer.isLeader).toBe(false);
    child.kill("SIGKILL");
    await exited;
    await waitFor(() => b.indexer.isLeader, 10_000, "B to take over from the killed process");
    await stakeAndExpectRow(700_000n * KAMIYO);
    expect(output).not.toMatch(/Error|error/);
  });
});
