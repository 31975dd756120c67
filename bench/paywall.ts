/**
 * `npm run bench:paywall`: what pricing from the tier cache costs, in one run on this machine.
 *
 *   (a) a static-price route through stock @x402/express (the floor: x402 with no pricing logic);
 *   (b) our discounted route, unpaid requests with wallet hints spread over 10,000 stakers seeded in a fresh
 *       schema (tier cache lookups);
 *   (c) the seed's design: the same quote, priced by a chain read per request (getAccountInfo of the hinted
 *       wallet's UserStake PDA against the local chain);
 *   then paid requests through the in-process facilitator, settling on the local chain.
 *
 * Servers, the local chain and the facilitator run in this process; the load comes from a separate process
 * (bench/load-generator.ts) with a fixed number of keep-alive connections for a fixed duration.
 * Environment: BENCH_DATABASE_URL (default: the configured database's name + "_bench"), BENCH_CONCURRENCY (4),
 * BENCH_ROUNDS (3), BENCH_SECONDS per route and round (4), BENCH_PAID (300), BENCH_PAID_CONCURRENCY (16).
 */
import { loadLocalnetConfig } from "../localnet/demo-env.ts";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import bs58 from "bs58";
import express from "express";
import pg from "pg";
import { address, createKeyPairSignerFromBytes, createSolanaRpc } from "@solana/kit";
import { paymentMiddleware, x402ResourceServer } from "@x402/express";
import { decodePaymentRequiredHeader, encodePaymentSignatureHeader } from "@x402/core/http";
import type { Network } from "@x402/core/types";
import { x402Client } from "@x402/fetch";
import { ExactSvmScheme as ExactSvmClientScheme } from "@x402/svm/exact/client";
import { ExactSvmScheme } from "@x402/svm/exact/server";
import { createInProcessFacilitator, createPaywallPlugin } from "../api/paywall/index.ts";
import { readKeypairFile } from "../src/solana/keypair-file.ts";
import { fullPrice, priceForTier } from "../src/domain/quote.ts";
import { createQuoteBodies, stakingHintJson } from "../api/paywall/quote-body.ts";
import { listen } from "../api/server.ts";
import { STAKING_PROGRAM_PLACEHOLDER_ID } from "../src/config.ts";
import { effectiveStake, tierFor } from "../src/domain/tiers.ts";
import { createDatabase } from "../src/db/database.ts";
import { ensureDatabase, migrateToLatest } from "../src/db/migrate.ts";
import { createLogger } from "../src/log.ts";
import { startLocalnet } from "../localnet/server.ts";
import { decodeUserStake } from "../src/solana/accounts.ts";
import { userStakePda } from "../src/solana/program.ts";
import { percentile, type LoadResult, type LoadSpec } from "./load-generator.ts";

const KAMIYO = 10n ** 9n;
const STAKERS = 10_000;
// Enough connections to keep one server process busy on a 2-core machine without only measuring queueing.
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
// Paid requests mostly wait for confirmation, so more of them run at once.
const PAID_CONCURRENCY = Number(process.env.BENCH_PAID_CONCURRENCY ?? 16);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const PAID = Number(process.env.BENCH_PAID ?? 300);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LOAD_GENERATOR = fileURLToPath(new URL("./load-generator.ts", import.meta.url));

async function load(spec: LoadSpec, dir: string): Promise<LoadResult> {
  const file = join(dir, `load-${randomBytes(4).toString("hex")}.json`);
  await writeFile(file, JSON.stringify(spec));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOAD_GENERATOR, file], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load generator exited with ${code}`))));
  });
}

/** Runs of one route taken together: all requests over all time, percentiles over all latencies. */
function pooled(runs: LoadResult[]): LoadResult {
  const all = Float64Array.from(runs.flatMap((r) => r.latencies ?? [])).sort();
  const requests = runs.reduce((n, r) => n + r.requests, 0);
  const elapsedMs = runs.reduce((n, r) => n + r.elapsedMs, 0);
  const statuses: Record<string, number> = {};
  for (const r of runs) for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
  return {
    requests,
    unexpected: runs.reduce((n, r) => n + r.unexpected, 0),
    statuses,
    elapsedMs,
    rps: requests / (elapsedMs / 1000),
    p50Ms: percentile(all, 50),
    p99Ms: percentile(all, 99),
    maxMs: all.length ? all[all.length - 1]! : 0,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const fmt = (r: LoadResult) =>
  `${r.rps.toFixed(0).padStart(7)} req/s   p50 ${r.p50Ms.toFixed(2).padStart(7)} ms   p99 ${r.p99Ms.toFixed(2).padStart(7)} ms   (${r.requests} requests, ${r.unexpected} unexpected)`;

async function main(): Promise<void> {
  const logger = createLogger({ level: "silent" });
  const dir = await mkdtemp(join(tmpdir(), "kamiyo-bench-"));
  const cleanups: Array<() => Promise<unknown>> = [() => rm(dir, { recursive: true, force: true })];
  try {
    const chain = await startLocalnet({ host: "127.0.0.1", rpcPort: 0, slotMs: 100, blockhashValidity: 3_000, seedDemo: true, stateDir: dir, programId: STAKING_PROGRAM_PLACEHOLDER_ID, logger });
    cleanups.push(() => chain.close());
    const seed = chain.seed!;
    const config = loadLocalnetConfig({
      ...process.env,
      KAMIYO_CLUSTER: "localnet",
      LOG_LEVEL: "silent",
      SOLANA_RPC_URL: chain.httpUrl,
      X402_FACILITATOR_KEYPAIR: join(seed.walletsDir, "facilitator.json"),
      X402_FACILITATOR_URL: "",
    });
    const network = config.x402.network as Network;
    const route = config.x402.routes.find((r) => r.path === "/api/premium") ?? config.x402.routes[0]!;

    // A fresh schema with 10,000 stakers spread over the tiers (and below them), in a database of its own so
    // that nobody else's NOTIFY traffic reaches the tier cache while it is measured.
    const benchDb = new URL(process.env.BENCH_DATABASE_URL ?? config.databaseUrl);
    if (!process.env.BENCH_DATABASE_URL) benchDb.pathname = `${benchDb.pathname}_bench`;
    const databaseUrl = benchDb.href;
    await ensureDatabase(databaseUrl);
    const schema = `bench_${randomBytes(5).toString("hex")}`;
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    cleanups.push(async () => {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    });
    const database = createDatabase({ url: databaseUrl, schema, max: 4, applicationName: "kamiyo-stake bench" });
    cleanups.push(() => database.close());
    await migrateToLatest(database.db);
    const stakes = [0n, 150_000n, 600_000n, 1_500_000n];
    const wallets: string[] = [];
    for (let batch = 0; batch < STAKERS; batch += 1000) {
      const rows = Array.from({ length: Math.min(1000, STAKERS - batch) }, (_, i) => {
        const owner = bs58.encode(randomBytes(32));
        wallets.push(owner);
        const effective = (stakes[(batch + i) % stakes.length]! || 50_000n) * KAMIYO;
        const tier = tierFor(effective, config.tiers);
        return {
          address: bs58.encode(randomBytes(32)),
          owner,
          pool: seed.pool,
          staked_amount: effective,
          cooldown_amount: 0n,
          cooldown_end: null,
          effective_stake: effective,
          discount_tier: tier.name,
          discount_bps: tier.discountBps,
          program_tier: 0,
          slot: 1n,
          commitment: "confirmed" as const,
          closed: false,
        };
      });
      await database.db.insertInto("stakes").values(rows).execute();
    }
    const hints = wallets.map((w) => ({ "x-wallet-address": w }));

    const facilitator = createInProcessFacilitator({ secretKey: readKeypairFile(config.x402.facilitatorKeypairPath!), rpcUrl: chain.httpUrl, network });
    await facilitator.ready;
    const hintJson = stakingHintJson(route, config.tiers, config.x402.stakingUrl);
    const quoteContext = { route, usdcMint: config.solana.usdcMint, network, payTo: config.x402.payTo, hint: () => hintJson };
    const accepts = (price: (ctx: { adapter: { getHeader(n: string): string | undefined } }) => Promise<{ amount: string; asset: string }> | { amount: string; asset: string }) => ({
      scheme: "exact",
      network,
      payTo: config.x402.payTo,
      maxTimeoutSeconds: config.x402.maxTimeoutSeconds,
      price,
    });

    // (a) static price, stock middleware, with the same kind of 402 body (the full-price quote, built once).
    const quoteBody = createQuoteBodies(quoteContext);
    const staticBody = quoteBody(fullPrice(route.price), { basis: "no_hint", wallet: null });
    const appA = express();
    appA.use(
      paymentMiddleware(
        {
          [`GET ${route.path}`]: {
            accepts: accepts(() => ({ amount: route.price.toString(), asset: config.solana.usdcMint })),
            description: route.description,
            mimeType: "application/json",
            unpaidResponseBody: () => ({ contentType: "application/json", body: staticBody }),
          },
        },
        new x402ResourceServer(facilitator).register(network, new ExactSvmScheme()),
      ),
    );
    appA.get(route.path, (_req, res) => void res.json({ premium: true }));

    // (b) the paywall plugin.
    const plugin = createPaywallPlugin({ config, db: database.db, database: { url: databaseUrl, schema }, logger, facilitator });
    cleanups.push(() => plugin.close());
    await plugin.ready(30_000);
    const appB = express();
    plugin(appB);

    // (c) the seed's design: a getAccountInfo per quote.
    const rpc = createSolanaRpc(chain.httpUrl);
    const chainDecision = async (hint: string | undefined) => {
      if (!hint) return fullPrice(route.price);
      const pda = userStakePda(seed.programId, seed.pool, hint)[0].toBase58();
      const info = await rpc.getAccountInfo(address(pda), { encoding: "base64" }).send();
      if (!info.value) return priceForTier(route.price, null);
      const us = decodeUserStake(Buffer.from(info.value.data[0], "base64"));
      return priceForTier(route.price, tierFor(effectiveStake(us), config.tiers));
    };
    const decisions = new WeakMap<object, Awaited<ReturnType<typeof chainDecision>>>();
    const appC = express();
    appC.use(
      paymentMiddleware(
        {
          [`GET ${route.path}`]: {
            accepts: accepts(async (ctx) => {
              const d = await chainDecision(ctx.adapter.getHeader("x-wallet-address"));
              decisions.set(ctx.adapter, d);
              return { amount: d.amount.toString(), asset: config.solana.usdcMint };
            }),
            description: route.description,
            mimeType: "application/json",
            unpaidResponseBody: (ctx) => {
              const d = decisions.get(ctx.adapter) ?? fullPrice(route.price);
              const wallet = ctx.adapter.getHeader("x-wallet-address") ?? null;
              return { contentType: "application/json", body: quoteBody(d, { basis: wallet ? "wallet_hint" : "no_hint", wallet }) };
            },
          },
        },
        new x402ResourceServer(facilitator).register(network, new ExactSvmScheme()),
      ),
    );

    const servers = await Promise.all([appA, appB, appC].map((app) => listen(app, { port: 0 })));
    for (const s of servers) cleanups.push(() => s.close());
    const [a, b, c] = servers.map((s) => `${s.url}${route.path}`) as [string, string, string];

    console.log(
      `paywall benchmark: ${STAKERS} stakers, ${CONCURRENCY} connections, ${ROUNDS} interleaved rounds of ${SECONDS} s per route (after 1 s warm-up each), Node ${process.version}`,
    );
    const quoteSpec = (url: string, warmupMs = 0): LoadSpec => ({ url, concurrency: CONCURRENCY, durationMs: SECONDS * 1000, warmupMs, headers: hints, expectStatus: 402, raw: true });
    for (const url of [a, b, c]) await load({ ...quoteSpec(url, 1000), durationMs: 1 }, dir);
    // Rounds alternate the routes so that whatever else this machine is doing weighs on all three alike.
    const runs: Record<"a" | "b" | "c", LoadResult[]> = { a: [], b: [], c: [] };
    // CPU time this (server) process spends per request: steadier than throughput on a shared machine.
    const cpu: Record<"a" | "b" | "c", number> = { a: 0, b: 0, c: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [key, url] of [["a", a], ["b", b], ["c", c]] as const) {
        const before = process.cpuUsage();
        runs[key].push(await load(quoteSpec(url), dir));
        const used = process.cpuUsage(before);
        cpu[key] += used.user + used.system;
      }
    }
    const ra = pooled(runs.a);
    const rb = pooled(runs.b);
    const rc = pooled(runs.c);
    const cpuPer = (key: "a" | "b" | "c", r: LoadResult) => cpu[key] / r.requests;
    console.log(`(a) static price, stock @x402/express   ${fmt(ra)}   server CPU ${cpuPer("a", ra).toFixed(0)} us/req`);
    console.log(`(b) tier-cache discount (10k hints)     ${fmt(rb)}   server CPU ${cpuPer("b", rb).toFixed(0)} us/req`);
    console.log(`(c) chain read per request (seed)       ${fmt(rc)}   server CPU ${cpuPer("c", rc).toFixed(0)} us/req`);
    const roundRatios = runs.a.map((x, i) => runs.b[i]!.rps / x.rps);

    // Paid: prepared payments from the demo stakers (1,000 USDC each), full price, each sent once.
    const required = decodePaymentRequiredHeader((await fetch(b)).headers.get("payment-required") ?? "");
    const payers = await Promise.all(
      seed.wallets.map(async (w) => {
        const signer = await createKeyPairSignerFromBytes(Uint8Array.from(JSON.parse(await readFile(w.keypairPath, "utf8")) as number[]));
        const client = new x402Client();
        client.register(network, new ExactSvmClientScheme(signer, { rpcUrl: chain.httpUrl }));
        client.setSpendControls({ allowedAssets: [{ network, asset: config.solana.usdcMint, maxAmountPerPayment: "1000000" }] });
        return client;
      }),
    );
    const payments: Array<Record<string, string>> = [];
    for (let i = 0; i < PAID; i++) {
      const payload = await payers[i % payers.length]!.createPaymentPayload(required);
      payments.push({ "payment-signature": encodePaymentSignatureHeader(payload) });
    }
    const rp = await load({ url: b, concurrency: PAID_CONCURRENCY, headers: payments, once: true, expectStatus: 200 }, dir);
    const rows = await database.db.selectFrom("x402_usage").select((eb) => eb.fn.countAll<string>().as("n")).where("settlement_signature", "is not", null).executeTakeFirstOrThrow();
    console.log(`paid, in-process facilitator             ${fmt(rp)}; ${rows.n} ledger rows; ${PAID_CONCURRENCY} connections`);

    const ratio = rb.rps / ra.rps;
    const cpuRatio = cpuPer("a", ra) / cpuPer("b", rb);
    const p99 = rc.p99Ms / rb.p99Ms;
    console.log("");
    console.log(
      `throughput (b)/(a) = ${ratio.toFixed(3)} overall, per round ${roundRatios.map((r) => r.toFixed(3)).join(" ")} (median ${median(roundRatios).toFixed(3)})   (target >= 0.95: ${ratio >= 0.95 ? "met" : "NOT met"})`,
    );
    console.log(`capacity (b)/(a)   = ${cpuRatio.toFixed(3)}   (server CPU per request of (a) over (b))`);
    console.log(`p99 (c)/(b)        = ${p99.toFixed(1)}   (target >= 10: ${p99 >= 10 ? "met" : "NOT met"})`);
    if (ra.unexpected + rb.unexpected + rc.unexpected + rp.unexpected > 0) process.exitCode = 1;
  } finally {
    for (const c of cleanups.reverse()) await c().catch((err) => console.error(`cleanup: ${String(err)}`));
  }
}

await main();
