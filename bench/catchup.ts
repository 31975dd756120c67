/**
 * `npm run bench:catchup`: how long the pipeline takes to catch up N missed days (default 30) on the local
 * chain, from a cold worker start to every run done: per day one allocation, one Jupiter quote + swap
 * (through the double), one fund_pool, each transaction stored before its send and recorded from the chain.
 *
 * Everything runs in this process against the configured Postgres (a fresh schema, dropped after) and
 * Redis (a fresh key prefix, deleted after). Environment: DATABASE_URL, REDIS_URL, BENCH_DAYS (30),
 * BENCH_PAYMENTS on the first day (50; each later day has one more), BENCH_SLOT_MS (400, the validator's slot time).
 */
import { loadLocalnetConfig } from "../localnet/demo-env.ts";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TOKEN_PROGRAM_ID } from "@solana/spl-token";
import { Redis } from "ioredis";
import pg from "pg";
import { createJobsRuntime } from "../jobs/runtime.ts";
import { STAKING_PROGRAM_PLACEHOLDER_ID } from "../src/config.ts";
import { addUtcDays, lastClosedUtcDay, utcDayWindow } from "../src/domain/utc-day.ts";
import { formatUnits, KAMIYO_DECIMALS, USDC_DECIMALS } from "../src/domain/units.ts";
import { createDatabase } from "../src/db/database.ts";
import { ensureDatabase, migrateToLatest } from "../src/db/migrate.ts";
import { startLocalnet } from "../localnet/server.ts";
import { createLogger } from "../src/log.ts";

const DAYS = Number(process.env.BENCH_DAYS ?? "30");
const PAYMENTS = Number(process.env.BENCH_PAYMENTS ?? "50");
const SLOT_MS = Number(process.env.BENCH_SLOT_MS ?? "400");
const base = loadLocalnetConfig({ ...process.env, LOG_LEVEL: "silent" });

async function admin(url: string, text: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

async function main() {
  const logger = createLogger({ level: process.env.BENCH_LOG_LEVEL ?? "silent" });
  const stateDir = await mkdtemp(join(tmpdir(), "kamiyo-bench-catchup-"));
  const schema = `bench_${randomBytes(5).toString("hex")}`;
  const prefix = `kamiyo-bench-${randomBytes(5).toString("hex")}`;
  await ensureDatabase(base.databaseUrl);
  await admin(base.databaseUrl, `CREATE SCHEMA ${schema}`);
  const handle = createDatabase({ url: base.databaseUrl, schema, max: 4 });
  const net = await startLocalnet({
    host: "127.0.0.1",
    rpcPort: 0,
    slotMs: SLOT_MS,
    seedDemo: true,
    stateDir,
    programId: STAKING_PROGRAM_PLACEHOLDER_ID,
    jupiter: { port: 0, priceMicroUsdcPerKamiyo: 20_000n },
    logger,
  });
  try {
    await migrateToLatest(handle.db);
    const seed = net.seed!;
    const config = loadLocalnetConfig({
      ...process.env,
      LOG_LEVEL: "silent",
      SOLANA_RPC_URL: net.httpUrl,
      KAMIYO_MINT: seed.kamiyoMint,
      USDC_MINT: seed.usdcMint,
      ADMIN_KEYPAIR_PATH: join(seed.walletsDir, "admin.json"),
      JUPITER_API_URL: net.jupiter!.url,
    });
    net.chain.setTokenAccount(seed.admin, seed.usdcMint, { amount: 1_000_000_000_000n }, TOKEN_PROGRAM_ID.toBase58());
    const last = lastClosedUtcDay(new Date());
    let revenue = 0n;
    for (let d = 0; d < DAYS; d++) {
      const day = addUtcDays(last, d - DAYS + 1);
      const { start } = utcDayWindow(day);
      // Days differ in revenue, as real days do (equal amounts would build byte-identical swaps in one slot).
      const rows = Array.from({ length: PAYMENTS + d }, (_, i) => {
        const amount = 100_000n - BigInt(i % 3) * 10_000n;
        revenue += amount;
        return {
          payment_key: `bench-${day}-${i}`,
          payer: seed.wallets[i % seed.wallets.length]!.address,
          endpoint: "/api/premium",
          method: "GET",
          status_code: 200,
          settlement_signature: `bench-settlement-${day}-${i}`,
          amount_charged: amount,
          original_amount: 100_000n,
          discount_tier: i % 3 === 0 ? null : "silver",
          discount_bps: i % 3 === 0 ? 0 : 1000,
          savings: 100_000n - amount,
          network: config.x402.network,
          asset: seed.usdcMint,
          pay_to: seed.payTo,
          created_at: new Date(start.getTime() + i * 60_000),
        };
      });
      await handle.db.insertInto("x402_usage").values(rows).execute();
    }

    const t0 = performance.now();
    const runtime = await createJobsRuntime({ db: handle.db, redisUrl: config.redisUrl, prefix, config, logger });
    let elapsed = 0;
    try {
      await runtime.setup();
      for (;;) {
        const runs = await runtime.store.listRuns(DAYS + 5);
        const done = runs.filter((r) => r.status === "done").length;
        const failed = runs.filter((r) => r.status === "failed");
        if (failed.length) throw new Error(`run ${failed[0]!.run_date} failed: ${failed[0]!.error}`);
        if (runs.length === DAYS && done === DAYS) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      elapsed = performance.now() - t0;
    } finally {
      await runtime.close(5_000);
    }
    const funded = await handle.db.selectFrom("staking_pool_fundings").select(({ fn }) => [fn.countAll<bigint>().as("n"), fn.sum<bigint>("kamiyo_amount").as("kamiyo")]).executeTakeFirstOrThrow();
    const spent = await handle.db.selectFrom("kamiyo_buybacks").select(({ fn }) => fn.sum<bigint>("usdc_amount").as("usdc")).executeTakeFirstOrThrow();
    process.stdout.write(
      [
        `catch-up of ${DAYS} missed days (${PAYMENTS}..${PAYMENTS + DAYS - 1} payments/day, slot ${SLOT_MS} ms) on the local chain:`,
        `  ${(elapsed / 1000).toFixed(2)} s from worker start to all runs done, ${(elapsed / DAYS).toFixed(0)} ms per day`,
        `  ${funded.n} fundings; revenue ${formatUnits(revenue, USDC_DECIMALS)} USDC, spent ${formatUnits(BigInt(spent.usdc), USDC_DECIMALS)} USDC, funded ${formatUnits(BigInt(funded.kamiyo), KAMIYO_DECIMALS)} KAMIYO`,
        "",
      ].join("\n"),
    );
  } finally {
    await net.close();
    await handle.close();
    await admin(base.databaseUrl, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    const redis = new Redis(base.redisUrl);
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== "0");
    redis.disconnect();
    await rm(stateDir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
