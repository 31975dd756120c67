/**
 * The revenue pipeline under test: the local chain (demo seed + Jupiter double) over real JSON-RPC, a fresh
 * Postgres schema, and a fresh BullMQ prefix on the real Redis. `close()` removes all of it.
 */
import { loadLocalnetConfig } from "../../localnet/demo-env.ts";
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { getAssociatedTokenAddressSync, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID } from "@solana/spl-token";
import { Connection, PublicKey } from "@solana/web3.js";
import { Redis } from "ioredis";
import type { Config } from "../../src/config.ts";
import { lastClosedUtcDay, utcDayWindow } from "../../src/domain/utc-day.ts";
import { stakingAddresses } from "../../src/solana/instructions.ts";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { startTestLocalnet, type SeededTestLocalnet } from "../kit/localnet.ts";

export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
/**
 * The jobs tests' clock, passed as `now` wherever the code takes one: fixed, so a test run that crosses
 * midnight UTC (or runs on any other day) sees the same "yesterday" as the pipeline it drives.
 */
export const TEST_NOW = new Date("2026-03-15T12:00:00.000Z");
export const now = (): Date => TEST_NOW;
export const YESTERDAY = lastClosedUtcDay(TEST_NOW);
/** 0.02 USDC per KAMIYO. */
export const PRICE = 20_000n;
const USDC = 1_000_000n;

export interface Harness {
  net: SeededTestLocalnet;
  schema: FreshSchema;
  config: Config;
  /** Environment that reproduces `config` in a child process. */
  env: Record<string, string>;
  prefix: string;
  stateDir: string;
  connection: Connection;
  admin: PublicKey;
  adminUsdc: PublicKey;
  adminKamiyo: PublicKey;
  liquidityUsdc: PublicKey;
  rewardVault: PublicKey;
  /** Sets the admin's USDC balance (surfnet_setTokenAccount). */
  setAdminUsdc(amount: bigint): void;
  /** Inserts settled x402 payments on `day` (micro-USDC each). */
  addRevenue(day: string, amounts: bigint[], tier?: string | null): Promise<void>;
  tokenBalance(account: PublicKey): Promise<bigint>;
  /** Transactions touching `address` that landed after the demo seed: [ok, failed]. */
  landed(address: PublicKey): Promise<{ ok: string[]; failed: string[] }>;
  close(): Promise<void>;
}

export async function startHarness(options: { blockhashValidity?: number; env?: Record<string, string> } = {}): Promise<Harness> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const net = await startTestLocalnet({
      ...(options.blockhashValidity ? { blockhashValidity: options.blockhashValidity } : {}),
      jupiter: { port: 0, priceMicroUsdcPerKamiyo: PRICE, apiKey: "test-jupiter-key" },
    });
    cleanups.push(() => net.close());
    const schema = await withFreshSchema();
    cleanups.push(() => schema.close());
    const prefix = `kamiyo-test-${randomBytes(5).toString("hex")}`;
    cleanups.push(() => deleteRedisPrefix(prefix));
    const seed = net.seed;
    const env: Record<string, string> = {
      KAMIYO_CLUSTER: "localnet",
      LOG_LEVEL: "silent",
      DATABASE_URL: schema.url,
      REDIS_URL,
      ...net.env,
      ADMIN_KEYPAIR_PATH: join(seed.walletsDir, "admin.json"),
      JUPITER_API_KEY: "test-jupiter-key",
      ...options.env,
    };
    const config = loadLocalnetConfig(env);
    const admin = new PublicKey(seed.admin);
    const adminUsdc = getAssociatedTokenAddressSync(new PublicKey(seed.usdcMint), admin, false, TOKEN_PROGRAM_ID);
    const adminKamiyo = getAssociatedTokenAddressSync(new PublicKey(seed.kamiyoMint), admin, false, TOKEN_2022_PROGRAM_ID);
    const liquidity = new PublicKey((await import("../../localnet/demo-addresses.ts")).DEMO_ADDRESSES.jupiterLiquidity);
    const liquidityUsdc = getAssociatedTokenAddressSync(new PublicKey(seed.usdcMint), liquidity, false, TOKEN_PROGRAM_ID);
    const { rewardVault } = stakingAddresses(seed.programId, seed.kamiyoMint);
    const connection = new Connection(net.httpUrl, "confirmed");
    let payment = 0;
    const seeded = new Set<string>();
    for (const a of [rewardVault, liquidityUsdc, adminUsdc, adminKamiyo]) {
      for (const s of await connection.getSignaturesForAddress(a, { limit: 1000 })) seeded.add(s.signature);
    }
    const harness: Harness = {
      net,
      schema,
      config,
      env,
      prefix,
      stateDir: net.stateDir,
      connection,
      admin,
      adminUsdc,
      adminKamiyo,
      liquidityUsdc,
      rewardVault,
      setAdminUsdc(amount) {
        net.chain.setTokenAccount(seed.admin, seed.usdcMint, { amount }, TOKEN_PROGRAM_ID.toBase58());
      },
      async addRevenue(day, amounts, tier = null) {
        const { start } = utcDayWindow(day);
        await schema.db
          .insertInto("x402_usage")
          .values(
            amounts.map((amount, i) => {
              payment += 1;
              return {
                payment_key: `test-payment-${payment}`,
                payer: seed.wallets[i % seed.wallets.length]!.address,
                endpoint: "/api/premium",
                method: "GET",
                status_code: 200,
                settlement_signature: `test-settlement-${payment}`,
                amount_charged: amount,
                original_amount: tier ? (amount * 10n) / 9n : amount,
                discount_tier: tier,
                discount_bps: tier ? 1000 : 0,
                savings: tier ? (amount * 10n) / 9n - amount : 0n,
                network: "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1",
                asset: seed.usdcMint,
                pay_to: seed.payTo,
                created_at: new Date(start.getTime() + 3_600_000 + i * 1000),
              };
            }),
          )
          .execute();
      },
      async tokenBalance(account) {
        const info = await connection.getAccountInfo(account);
        if (!info) return 0n;
        return BigInt((await connection.getTokenAccountBalance(account)).value.amount);
      },
      async landed(address) {
        const sigs = (await connection.getSignaturesForAddress(address, { limit: 1000 })).filter((s) => !seeded.has(s.signature)).reverse();
        return { ok: sigs.filter((s) => s.err === null).map((s) => s.signature), failed: sigs.filter((s) => s.err !== null).map((s) => s.signature) };
      },
      close,
    };
    harness.setAdminUsdc(1_000_000n * USDC);
    return harness;
  } catch (err) {
    await close();
    throw err;
  }
}

/** Removes every Redis key under the BullMQ prefix. */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/** A local HTTP server that records the JSON bodies POSTed to it (the alert webhook). */
export async function startAlertSink(): Promise<{ url: string; bodies: unknown[]; close(): Promise<void> }> {
  const bodies: unknown[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alert`,
    bodies,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
