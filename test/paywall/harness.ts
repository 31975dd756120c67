/**
 * A paywall under test: the local chain with the demo seed (USDC mint, payTo, funded facilitator, demo
 * stakers), a fresh schema whose `stakes` mirror the demo stakes, and the API with the paywall plugin on an
 * ephemeral port. Clients are the real @x402/fetch wrapper with the exact SVM client scheme pointed at the
 * local RPC. `close()` stops everything and removes the schema and the state directory.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { getAssociatedTokenAddressSync } from "@solana/spl-token";
import { PublicKey } from "@solana/web3.js";
import { createKeyPairSignerFromBytes } from "@solana/kit";
import { wrapFetchWithPayment, x402Client, type PaymentPolicy } from "@x402/fetch";
import type { Network } from "@x402/core/types";
import { decodePaymentRequiredHeader, encodePaymentSignatureHeader } from "@x402/core/http";
import { ExactSvmScheme } from "@x402/svm/exact/client";
import { sql } from "kysely";
import { Registry } from "prom-client";
import { createIndexer } from "../../indexer/index.ts";
import { createPaywallPlugin, type PaywallDeps, type PaywallPlugin } from "../../api/paywall/index.ts";
import type { Config } from "../../src/config.ts";
import type { Localnet } from "../../localnet/server.ts";
import type { DemoWallet } from "../../localnet/seed-demo.ts";
import { createLogger } from "../../src/log.ts";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { startTestLocalnet } from "../kit/localnet.ts";
import { startHeartbeat } from "../kit/heartbeat.ts";
import { createStakeSeeder } from "../kit/stakes.ts";
import { waitFor } from "../kit/wait-for.ts";
import { startTestApi, testConfig, type TestApi } from "../api/harness.ts";
import { FAST } from "../indexer/helpers/indexer.ts";

export const PREMIUM_PRICE = 100_000n; // 0.10 USDC, the default demo route


export interface PaywallHarness {
  chain: Localnet;
  schema: FreshSchema;
  config: Config;
  plugin: PaywallPlugin;
  api: TestApi;
  url: string;
  wallet(name: string): DemoWallet;
  /** A paying fetch for the demo wallet `name`; `policy` may rewrite what it signs. */
  payingFetch(name: string, options?: { policy?: PaymentPolicy; onRequest?: (req: Request) => void }): Promise<typeof fetch>;
  /** A payment transaction (base64) from `name` to payTo for `amount`, built without asking the server. */
  signedTransfer(name: string, amount?: bigint): Promise<string>;
  /** A signed PAYMENT-SIGNATURE header for `name`, made from the route's current quote, not sent. */
  signedPayment(name: string, path?: string, headers?: Record<string, string>): Promise<string>;
  usdcBalance(owner: string): Promise<bigint>;
  /** `owner` now stakes `effective` (no cooldown), read at `slot`: applied by the indexer's write path. */
  setStake(owner: string, effective: bigint, slot: bigint): Promise<void>;
  usageRows(): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  /** Changes the plugin's dependencies (e.g. a facilitator, a broken database). */
  deps?: (deps: PaywallDeps, chain: Localnet) => PaywallDeps | Promise<PaywallDeps>;
  /** Wait for the tier cache (default true). */
  waitForTiers?: boolean;
  /** Fill `stakes` with the real indexer following the chain, instead of seeding the demo stakes through its write path. */
  indexer?: boolean;
  /** Without `indexer`, the harness sends the indexer's heartbeat in its place (default true; false: the test runs its own indexer). */
  heartbeat?: boolean;
}

async function rpc<T>(url: string, method: string, params: unknown[]): Promise<T> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
  const body = (await res.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

export async function startPaywallHarness(options: HarnessOptions = {}): Promise<PaywallHarness> {
  const logger = createLogger({ level: "silent" });
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const chain = await startTestLocalnet({ slotMs: 100, logger });
    cleanups.push(() => chain.close());
    const seed = chain.seed;
    const schema = await withFreshSchema();
    cleanups.push(() => schema.close());

    const env = {
      SOLANA_RPC_URL: chain.httpUrl,
      SOLANA_WS_URL: chain.wsUrl,
      X402_FACILITATOR_KEYPAIR: join(seed.walletsDir, "facilitator.json"),
      ...options.env,
    };
    const config = testConfig(env);
    const seeder = createStakeSeeder({ db: schema.db, programId: seed.programId, tiers: config.tiers });
    if (options.indexer) {
      const indexer = createIndexer({ config, db: schema.db, pool: schema.pool, logger, registry: new Registry(), options: FAST });
      await indexer.start();
      cleanups.push(() => indexer.stop());
      const staked = seed.wallets.filter((w) => w.staked > 0n).length;
      await waitFor(
        "the indexer to backfill the demo stakes",
        async () => (await schema.db.selectFrom("stakes").select("address").execute()).length >= staked,
        { timeoutMs: 15_000, everyMs: 50 },
      );
    } else {
      // No indexer here: the harness stands in for it, proof of life included (the tier cache needs it).
      if (options.heartbeat ?? true) {
        const heartbeat = startHeartbeat(schema.db, seed.pool, 200);
        cleanups.push(async () => heartbeat.stop());
      }
      const stakers = seed.wallets.filter((w) => w.staked > 0n);
      await seeder.put(
        ...stakers.map((w) => ({
          owner: w.address,
          pool: seed.pool,
          staked: w.staked,
          cooldown: w.cooldown,
          cooldownEnd: w.cooldown > 0n ? 4_000_000_000n : null,
          slot: 10n,
        })),
      );
    }

    const baseDeps: PaywallDeps = { config, db: schema.db, database: { url: schema.url, schema: schema.schema }, logger, tierCache: { reconnectMinMs: 50, reconnectMaxMs: 500 } };
    const plugin = createPaywallPlugin(options.deps ? await options.deps(baseDeps, chain) : baseDeps);
    cleanups.push(() => plugin.close());
    if (options.waitForTiers ?? true) await plugin.ready(15_000);
    const api = await startTestApi({ schema, env, plugins: [plugin] });
    cleanups.push(() => api.close());

    const schemeFor = async (name: string) => {
      const bytes = Uint8Array.from(JSON.parse(await readFile(wallet(name).keypairPath, "utf8")) as number[]);
      return new ExactSvmScheme(await createKeyPairSignerFromBytes(bytes), { rpcUrl: chain.httpUrl });
    };
    const clientFor = async (name: string) => {
      const client = new x402Client();
      client.register(config.x402.network as Network, await schemeFor(name));
      client.setSpendControls({ allowedAssets: [{ network: config.x402.network as Network, asset: seed.usdcMint, maxAmountPerPayment: "1000000" }] });
      return client;
    };
    const wallet = (name: string) => {
      const w = seed.wallets.find((x) => x.name === name);
      if (!w) throw new Error(`no demo wallet ${name}`);
      return w;
    };
    return {
      chain,
      schema,
      config,
      plugin,
      api,
      url: api.url,
      wallet,
      async payingFetch(name, o = {}) {
        const client = await clientFor(name);
        if (o.policy) client.registerPolicy(o.policy);
        const base: typeof fetch = (input, init) => {
          const req = new Request(input, init);
          o.onRequest?.(req);
          return fetch(req);
        };
        return wrapFetchWithPayment(base, client);
      },
      async signedTransfer(name, amount = PREMIUM_PRICE) {
        const scheme = await schemeFor(name);
        const payload = await scheme.createPaymentPayload(2, {
          scheme: "exact",
          network: config.x402.network as Network,
          asset: seed.usdcMint,
          amount: amount.toString(),
          payTo: config.x402.payTo,
          maxTimeoutSeconds: 60,
          extra: { feePayer: seed.facilitator },
        });
        return (payload.payload as { transaction: string }).transaction;
      },
      async signedPayment(name, path = "/api/premium", headers = {}) {
        const client = await clientFor(name);
        const quote = await fetch(`${api.url}${path}`, { headers });
        const required = decodePaymentRequiredHeader(quote.headers.get("payment-required") ?? "");
        return encodePaymentSignatureHeader(await client.createPaymentPayload(required));
      },
      async usdcBalance(owner) {
        const ata = getAssociatedTokenAddressSync(new PublicKey(seed.usdcMint), new PublicKey(owner), true);
        const r = await rpc<{ value: { amount: string } }>(chain.httpUrl, "getTokenAccountBalance", [ata.toBase58(), { commitment: "confirmed" }]);
        return BigInt(r.value.amount);
      },
      async setStake(owner, effective, slot) {
        await seeder.put({ owner, pool: seed.pool, staked: effective, slot });
      },
      async usageRows() {
        const r = await sql<Record<string, unknown>>`SELECT * FROM x402_usage ORDER BY id`.execute(schema.db);
        return r.rows;
      },
      close: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** A policy that signs `discountBps` off the full price (a staker who knows its tier and sent no hint). */
export function signDiscounted(discountBps: number): PaymentPolicy {
  return (_version, reqs) =>
    reqs.map((r) => ({ ...r, amount: (BigInt(r.amount) - (BigInt(r.amount) * BigInt(discountBps)) / 10_000n).toString() }));
}
