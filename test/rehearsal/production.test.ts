/**
 * A rehearsal of production (issue 14). The production processes run as separate OS processes from the CLI
 * (`migrate`, `indexer`, two `api` replicas, `worker`) with KAMIYO_CLUSTER=devnet against the local chain
 * standing in for devnet, with freshly generated keys for payTo, the facilitator and the pool admin (the
 * chain's demo seeding initialises the pool with the operator's admin). A stock @x402/fetch client with no
 * spend controls pays through each replica; a staker gets its discount (one staked while the indexer was
 * down); the worker buys back and funds the pool for that day. Each process is SIGKILLed once mid-run and
 * restarted, and at the end the ledger equals the chain: every USDC transfer to payTo is one settled row,
 * no payment is recorded twice, one swap and one funding landed for the day.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getAssociatedTokenAddressSync, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID } from "@solana/spl-token";
import { Keypair, PublicKey, Transaction } from "@solana/web3.js";
import { createKeyPairSignerFromBytes } from "@solana/kit";
import { wrapFetchWithPayment, x402Client } from "@x402/fetch";
import { ExactSvmScheme } from "@x402/svm/exact/client";
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalnet, type Localnet } from "../../localnet/server.ts";
import { SOLANA_DEVNET_CAIP2, STAKING_PROGRAM_PLACEHOLDER_ID, USDC_MINT_BY_CLUSTER } from "../../src/config.ts";
import { createStakingInstructions } from "../../src/solana/instructions.ts";
import { stakePoolPda } from "../../src/solana/program.ts";
import { adminQuery, TEST_DATABASE_URL } from "../kit/db.ts";
import { waitFor } from "../kit/wait-for.ts";
import { deleteRedisPrefix, REDIS_URL } from "../jobs/harness.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const MAIN = join(ROOT, "cli/main.ts");
const CLOCK = join(ROOT, "test/rehearsal/clock.ts");
const KAMIYO = 10n ** 9n;
const PRICE = 100_000n; // the default premium route, micro-USDC
const KAMIYO_PRICE = 20_000n; // the Jupiter double: micro-USDC per KAMIYO
const DAY_MS = 86_400_000;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Proc {
  name: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Numbers printed at the end (the closing note). */
const figures: Record<string, unknown> = {};

describe("a rehearsal of production", () => {
  let dir: string;
  let net: Localnet;
  let db: pg.Client;
  let dbName: string;
  let dbUrl: string;
  const prefix = `rehearsal-${randomBytes(4).toString("hex")}`;
  const procs = new Set<Proc>();
  const everyProc: Proc[] = [];
  const admin = Keypair.generate();
  const payTo = Keypair.generate();
  const facilitator = Keypair.generate();
  let env: Record<string, string>;
  const ports = { a: 0, b: 0, metrics: 0 };

  const start = (name: string, args: string[], extra: Record<string, string> = {}, nodeArgs: string[] = []): Proc => {
    let out = "";
    const child = spawn(process.execPath, [...nodeArgs, MAIN, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", ...env, ...extra },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const proc: Proc = { name, child, output: () => out, exited };
    procs.add(proc);
    everyProc.push(proc);
    void exited.then(() => procs.delete(proc));
    return proc;
  };
  const kill = async (p: Proc, signal: NodeJS.Signals = "SIGKILL") => {
    p.child.kill(signal);
    await p.exited;
  };
  const query = async <T extends pg.QueryResultRow>(text: string, values: unknown[] = []) => (await db.query<T>(text, values)).rows;
  const ready = (port: number) => async () => {
    try {
      return (await fetch(`http://127.0.0.1:${port}/ready`)).status === 200;
    } catch {
      return false;
    }
  };
  const startApi = (port: number) => start(`api:${port}`, ["api", "--host", "127.0.0.1"], { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` });

  /** A stock x402 client (no spend controls) paying from a demo staker's wallet. */
  const payer = async (name: string) => {
    const w = net.seed!.wallets.find((x) => x.name === name)!;
    const signer = await createKeyPairSignerFromBytes(Uint8Array.from(JSON.parse(await readFile(w.keypairPath, "utf8")) as number[]));
    const client = new x402Client();
    client.register(SOLANA_DEVNET_CAIP2, new ExactSvmScheme(signer, { rpcUrl: net.httpUrl }));
    const paying = wrapFetchWithPayment(fetch, client);
    return async (port: number) => {
      const res = await paying(`http://127.0.0.1:${port}/api/premium`, { headers: { "x-wallet-address": w.address } });
      const body = (await res.json()) as { premium?: boolean; charged?: { amount?: string }; required?: unknown };
      const required = res.headers.get("payment-required");
      if (res.status === 402 && required) body.required = JSON.parse(Buffer.from(required, "base64").toString("utf8")) as unknown;
      return { status: res.status, body };
    };
  };
  const payToAccount = () => getAssociatedTokenAddressSync(new PublicKey(USDC_MINT_BY_CLUSTER.devnet), payTo.publicKey, false, TOKEN_PROGRAM_ID);
  const tokenAmount = (address: PublicKey): bigint => {
    const account = net.chain.getAccount(address.toBase58());
    return account ? Buffer.from(account.data).readBigUInt64LE(64) : 0n;
  };
  /** Successful transactions that moved USDC into payTo's account, from the chain's own records (its creation is not one). */
  const landedPayments = (): string[] =>
    net.chain.addressSignatures(payToAccount().toBase58()).filter((sig) => {
      const tx = net.chain.getTransaction(sig);
      if (tx === null || tx.err !== null) return false;
      const index = tx.accountKeys.indexOf(payToAccount().toBase58());
      const amount = (list: typeof tx.postTokenBalances) => list.find((b) => b.accountIndex === index)?.amount ?? 0n;
      return amount(tx.postTokenBalances) > amount(tx.preTokenBalances);
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kamiyo-rehearsal-"));
    net = await startLocalnet({
      host: "127.0.0.1",
      rpcPort: 0,
      slotMs: 50,
      confirmedLag: 0,
      finalizedLag: 0,
      programId: STAKING_PROGRAM_PLACEHOLDER_ID,
      seedDemo: true,
      seedAdmin: admin,
      seedPayTo: payTo.publicKey.toBase58(),
      stateDir: join(dir, "chain"),
      jupiter: { port: 0, priceMicroUsdcPerKamiyo: KAMIYO_PRICE },
      logger: pino({ level: "silent" }),
    });
    net.chain.requestAirdrop(facilitator.publicKey.toBase58(), 10n * 1_000_000_000n);
    await writeFile(join(dir, "facilitator.json"), JSON.stringify([...facilitator.secretKey]), { mode: 0o600 });
    await writeFile(join(dir, "admin.json"), JSON.stringify([...admin.secretKey]), { mode: 0o600 });
    dbName = `kamiyo_rehearsal_${randomBytes(4).toString("hex")}`;
    const u = new URL(TEST_DATABASE_URL);
    u.pathname = `/${dbName}`;
    dbUrl = u.href;
    Object.assign(ports, { a: await freePort(), b: await freePort(), metrics: await freePort() });
    env = {
      KAMIYO_CLUSTER: "devnet",
      LOG_LEVEL: "info",
      DATABASE_URL: dbUrl,
      REDIS_URL,
      SOLANA_RPC_URL: net.httpUrl,
      SOLANA_WS_URL: net.wsUrl,
      STAKING_PROGRAM_ID: STAKING_PROGRAM_PLACEHOLDER_ID,
      KAMIYO_MINT: net.seed!.kamiyoMint,
      X402_PAY_TO: payTo.publicKey.toBase58(),
      X402_FACILITATOR_KEYPAIR: join(dir, "facilitator.json"),
      ADMIN_KEYPAIR_PATH: join(dir, "admin.json"),
      JUPITER_API_URL: net.jupiter!.url,
      ADMIN_API_KEY: randomBytes(16).toString("hex"),
      HELIUS_WEBHOOK_AUTH: randomBytes(16).toString("hex"),
      JOBS_QUEUE_PREFIX: prefix,
      WORKER_METRICS_PORT: String(ports.metrics),
      LEDGER_RECONCILE_INTERVAL_SECONDS: "5",
    };
  });

  afterAll(async () => {
    for (const p of [...procs]) await kill(p);
    // Each process's output, for whoever reads a failure.
    await writeFile(join(tmpdir(), "kamiyo-rehearsal-processes.log"), everyProc.map((p) => `===== ${p.name}\n${p.output()}`).join("\n"));
    await db?.end().catch(() => undefined);
    await net?.close();
    if (dbName) await adminQuery(TEST_DATABASE_URL, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
    await deleteRedisPrefix(prefix);
    if (dir) await rm(dir, { recursive: true, force: true });
    // The closing note's figures, for people reading the test output.
    console.log(`rehearsal figures: ${JSON.stringify(figures, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2)}`);
  });

  it("runs every process on its own, survives a SIGKILL of each, and loses or doubles nothing", async () => {
    // --- migrate: killed mid-run, then run again to completion ---------------------------------------
    const doomedMigrate = start("migrate", ["migrate"]);
    await waitFor("migrate to connect", () => adminQuery(TEST_DATABASE_URL, "SELECT 1 FROM pg_database WHERE datname = $1", [dbName]).then((r) => r.rowCount === 1), { timeoutMs: 30_000, everyMs: 5 });
    await kill(doomedMigrate);
    figures.migrateKill = `SIGKILLed once the database existed (exit ${String(doomedMigrate.child.signalCode)}); migrations applied before the kill: ${await adminQuery(dbUrl, "SELECT count(*)::int AS n FROM kysely_migration").then((r) => (r.rows[0] as { n: number }).n, () => 0)}`;
    const migrate = start("migrate", ["migrate"]);
    expect(await migrate.exited, migrate.output()).toBe(0);
    db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
    const applied = (await query<{ n: number }>("SELECT count(*)::int AS n FROM kysely_migration"))[0]!.n;
    figures.migrations = applied;
    expect(applied).toBeGreaterThan(0);

    // --- indexer and two api replicas -----------------------------------------------------------------
    let indexer = start("indexer", ["indexer"]);
    let apiA = startApi(ports.a);
    let apiB = startApi(ports.b);
    await waitFor("replica A ready", ready(ports.a), { timeoutMs: 60_000, everyMs: 100 });
    await waitFor("replica B ready", ready(ports.b), { timeoutMs: 60_000, everyMs: 100 });
    expect(apiA.output()).toMatch(/facilitator: in-process against http:\/\/127\.0\.0\.1:\d+/);

    const nonstaker = await payer("nonstaker");
    const gold = await payer("gold");
    const paid: { who: string; replica: string; charged: bigint }[] = [];
    const pay = async (who: string, f: (port: number) => Promise<{ status: number; body: { charged?: { amount?: string } } }>, replica: "a" | "b") => {
      const r = await f(ports[replica]);
      expect(r.status, `${who} via ${replica}: ${JSON.stringify(r.body)}\n${(replica === "a" ? apiA : apiB).output().slice(-3000)}`).toBe(200);
      paid.push({ who, replica, charged: BigInt(r.body.charged?.amount ?? "-1") });
    };
    await pay("nonstaker", nonstaker, "a");
    await pay("nonstaker", nonstaker, "b");
    await pay("gold", gold, "a");
    await pay("gold", gold, "b");

    // --- the indexer, SIGKILLed; a stake made while it is down; restarted ------------------------------
    await kill(indexer);
    const small = net.seed!.wallets.find((w) => w.name === "small")!;
    const smallKey = Keypair.fromSecretKey(Uint8Array.from(JSON.parse(await readFile(small.keypairPath, "utf8")) as number[]));
    const kamiyoMint = new PublicKey(net.seed!.kamiyoMint);
    const smallKamiyo = getAssociatedTokenAddressSync(kamiyoMint, smallKey.publicKey, true, TOKEN_2022_PROGRAM_ID);
    net.chain.setTokenAccount(smallKey.publicKey.toBase58(), kamiyoMint.toBase58(), { amount: 200_000n * KAMIYO }, TOKEN_2022_PROGRAM_ID.toBase58());
    const staking = createStakingInstructions(STAKING_PROGRAM_PLACEHOLDER_ID, kamiyoMint);
    const stakeTx = new Transaction({ feePayer: smallKey.publicKey, recentBlockhash: net.chain.latestBlockhash().blockhash });
    stakeTx.add(await staking.stake(smallKey.publicKey, smallKamiyo, 150_000n * KAMIYO)).sign(smallKey);
    net.chain.sendTransaction(stakeTx.serialize(), { skipPreflight: false });
    indexer = start("indexer", ["indexer"]);
    const quoteFor = async (port: number, wallet: string) =>
      (await (await fetch(`http://127.0.0.1:${port}/api/premium`, { headers: { "x-wallet-address": wallet } })).json()) as { discount?: { tier?: string } | null };
    await waitFor("the restarted indexer to pick up the stake made while it was down", async () => (await quoteFor(ports.b, small.address)).discount?.tier === "silver", {
      timeoutMs: 60_000,
      everyMs: 200,
    });
    figures.indexerKill = "SIGKILLed after the backfill; a 150,000 KAMIYO stake landed while it was down; after restart its backfill put the wallet in silver on both replicas";
    await pay("small (staked while the indexer was down)", await payer("small"), "b");

    // --- each replica SIGKILLed in the middle of a burst of payments -----------------------------------
    const platinum = await payer("platinum");
    const silver = await payer("silver");
    for (const [replica, f, who] of [["a", platinum, "platinum"], ["b", silver, "silver"]] as const) {
      const before = landedPayments().length;
      const burst = Array.from({ length: 4 }, () => f(ports[replica]).then((r) => r, (err: unknown) => ({ status: 0, body: {}, err })));
      await waitFor(`a payment through replica ${replica} to land`, () => landedPayments().length > before, { timeoutMs: 30_000, everyMs: 5 });
      const victim = replica === "a" ? apiA : apiB;
      await kill(victim);
      const results = await Promise.all(burst);
      for (const r of results) if (r.status === 200) paid.push({ who, replica, charged: BigInt((r.body as { charged?: { amount?: string } }).charged?.amount ?? "-1") });
      figures[`api${replica.toUpperCase()}Kill`] = `SIGKILLed while 4 ${who} payments were in flight: ${results.filter((r) => r.status === 200).length} answered 200, ${results.filter((r) => r.status === 0).length} cut off; ${landedPayments().length - before} landed on chain`;
      if (replica === "a") apiA = startApi(ports.a);
      else apiB = startApi(ports.b);
      await waitFor(`replica ${replica} ready again`, ready(ports[replica]), { timeoutMs: 60_000, everyMs: 100 });
      await pay(who, f, replica);
    }

    // --- the ledger equals the chain: every landed payment is one settled row, none twice ---------------
    const onChain = landedPayments();
    await waitFor(
      "every landed payment in the ledger (the worker's reconciler repairs what a killed replica did not record)",
      async () => {
        const rows = await query<{ n: number }>("SELECT count(*)::int AS n FROM x402_usage WHERE settlement_signature IS NOT NULL");
        return rows[0]!.n === onChain.length ? true : null;
      },
      { timeoutMs: 5_000, everyMs: 200 },
    ).catch(() => undefined); // before the worker runs, only the replicas have written rows
    const usageBefore = await query<{ n: number }>("SELECT count(*)::int AS n FROM x402_usage WHERE settlement_signature IS NOT NULL");
    figures.ledgerBeforeWorker = { landedOnChain: onChain.length, settledRows: usageBefore[0]!.n };

    // --- the worker, its clock a day ahead; the chain past the day's end ------------------------------
    const day = (await query<{ day: string }>("SELECT to_char(min(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day FROM x402_usage"))[0]!.day;
    const dayEnd = Date.parse(`${day}T00:00:00Z`) + DAY_MS;
    if (Number(net.chain.clock().unixTimestamp) * 1000 < dayEnd + 5_000) net.chain.timeTravel({ absoluteTimestamp: BigInt(dayEnd + 5_000) });
    const clock = { REHEARSAL_CLOCK_OFFSET_MS: String(dayEnd + 3_600_000 - Date.now()) };
    let worker = start("worker", ["worker"], clock, ["--import", CLOCK]);
    const run = async () => (await query<{ status: string }>("SELECT * FROM pipeline_runs WHERE run_date = $1", [day]))[0];
    await waitFor("the worker to sign the day's swap", async () => ["swap_signed", "swapped", "fund_signed", "funded", "done"].includes((await run())?.status ?? ""), {
      timeoutMs: 120_000,
      everyMs: 5,
    });
    const statusAtKill = (await run())!.status;
    await kill(worker);
    figures.workerKill = `SIGKILLed with the day's run at ${statusAtKill}; restarted, it asked the chain about the stored transaction and carried on`;
    worker = start("worker", ["worker"], clock, ["--import", CLOCK]);
    await waitFor("the day's run done", async () => (await run())?.status === "done", { timeoutMs: 120_000, everyMs: 100 });

    // --- the figures, and nothing lost or paid twice --------------------------------------------------
    const done = (await run()) as unknown as Record<string, string | null>;
    const landedNow = landedPayments();
    const rows = await query<{ payer: string; amount_charged: string; discount_tier: string | null; settlement_signature: string }>(
      "SELECT payer, amount_charged::text, discount_tier, settlement_signature FROM x402_usage WHERE settlement_signature IS NOT NULL",
    );
    const missing = landedNow.filter((sig) => !rows.some((r) => r.settlement_signature === sig));
    figures.missingFromLedger = missing.map((sig) => ({ sig, slot: net.chain.getTransaction(sig)?.slot, blockTime: net.chain.getTransaction(sig)?.blockTime }));
    figures.otherTransfers = await query("SELECT signature, amount::text, reason, block_time FROM ledger_incoming_transfers");
    figures.unsettledReservations = (await query<{ n: number }>("SELECT count(*)::int AS n FROM x402_usage WHERE settlement_signature IS NULL"))[0]!.n;
    expect(new Set(rows.map((r) => r.settlement_signature)).size).toBe(rows.length);
    expect(rows.map((r) => r.settlement_signature).sort()).toEqual([...landedNow].sort());
    const revenue = rows.reduce((s, r) => s + BigInt(r.amount_charged), 0n);
    expect(tokenAmount(payToAccount())).toBe(revenue);
    const allocation = (BigInt(done.revenue_micro_usdc!) * 3000n) / 10_000n;
    expect(BigInt(done.allocation_micro_usdc!)).toBe(allocation);
    expect(BigInt(done.usdc_spent!)).toBe(allocation);
    expect(BigInt(done.kamiyo_bought!)).toBe((allocation * KAMIYO) / KAMIYO_PRICE);
    expect(done.kamiyo_funded).toBe(done.kamiyo_bought);
    const buybacks = await query<{ n: number }>("SELECT count(*)::int AS n FROM kamiyo_buybacks");
    const fundings = await query<{ n: number }>("SELECT count(*)::int AS n FROM staking_pool_fundings");
    expect([buybacks[0]!.n, fundings[0]!.n]).toEqual([1, 1]);
    const pool = stakePoolPda(STAKING_PROGRAM_PLACEHOLDER_ID, kamiyoMint);
    const swaps = await query<{ status: string; purpose: string }>("SELECT purpose, status FROM pipeline_transactions");
    for (const p of paid) expect(p.charged).toBe(p.who.startsWith("gold") ? 80_000n : p.who.startsWith("platinum") ? 70_000n : p.who.startsWith("nonstaker") ? PRICE : 90_000n);

    Object.assign(figures, {
      day,
      pool: pool[0].toBase58(),
      paymentsAnswered200: paid.map((p) => `${p.who} via ${p.replica}: ${p.charged}`),
      paymentsLandedOnChain: landedNow.length,
      settledLedgerRows: rows.length,
      byTier: Object.fromEntries(
        [...new Set(rows.map((r) => r.discount_tier ?? "none"))].map((t) => [t, rows.filter((r) => (r.discount_tier ?? "none") === t).map((r) => r.amount_charged)]),
      ),
      revenueMicroUsdc: done.revenue_micro_usdc,
      allocationMicroUsdc: done.allocation_micro_usdc,
      usdcSpent: done.usdc_spent,
      kamiyoBought: done.kamiyo_bought,
      kamiyoFunded: done.kamiyo_funded,
      pipelineTransactions: swaps,
    });
  }, 600_000);
});
