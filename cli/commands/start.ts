/**
 * `kamiyo-stake start` (and `npm start`): everything in one process for local use — the local chain with
 * the demo pool, the database and its migrations, the indexer and the API — then prints where to look.
 *
 * The parts are services over one shared state, started in list order and stopped in reverse. Another part
 * (the paywall, the jobs UI) is one more entry in `localStackServices`; an API plugin is pushed onto
 * `state.plugins` by a service listed before "api".
 */
import type { Express } from "express";
import { collectDefaultMetrics, Registry } from "prom-client";
import { createApp } from "../../api/app.ts";
import { readIndexerStatus } from "../../api/indexer-status.ts";
import { listen, type ListeningServer } from "../../api/server.ts";
import { startServices, untilAborted, type Service } from "../../api/services.ts";
import { HELIUS_WEBHOOK_PATH } from "../../api/routes/helius-webhook.ts";
import { createIndexer, createIndexerApi, type Indexer, type IndexerOptions } from "../../indexer/index.ts";
import { createPaywallPlugin, type PaywallPlugin } from "../../api/paywall/plugin.ts";
import { createJobsPlugin, createJobsRuntimeFromConfig, type JobsRuntime } from "../../jobs/index.ts";
import { ConfigError, type Config } from "../../src/config.ts";
import { formatUnits, KAMIYO_DECIMALS, parseUnits, USDC_DECIMALS } from "../../src/domain/units.ts";
import { createDatabase, type DatabaseHandle } from "../../src/db/database.ts";
import { ensureDatabase, migrateToLatest } from "../../src/db/migrate.ts";
import { describeError } from "../../src/errors.ts";
import { startLocalnet, type Localnet } from "../../localnet/server.ts";
import type { Logger } from "../../src/log.ts";
import { stakePoolPda } from "../../src/solana/program.ts";
import type { CommandModule } from "../command.ts";

export interface LocalStackOptions {
  config: Config;
  logger: Logger;
  /** Local chain JSON-RPC port (0: any free port); default LOCALNET_RPC_PORT. */
  rpcPort?: number;
  slotMs?: number;
  /** API port; default PORT. */
  apiPort?: number;
  apiHost?: string;
  /** Postgres schema to use instead of the default search path (tests). */
  dbSchema?: string;
  indexerOptions?: Partial<IndexerOptions>;
  /** How long to wait for the indexer's first backfill before giving up on start. */
  backfillTimeoutMs?: number;
  /** Jupiter double port (0: any free port); default JUPITER_API_URL's port. */
  jupiterPort?: number;
  /** BullMQ key prefix (tests use a fresh one). */
  jobsPrefix?: string;
}

/** What the services share. Each field is set by the service that owns it, once it has started. */
export interface LocalStackState {
  /** The configuration as the running parts see it: RPC URLs and mint of the local chain. */
  config: Config;
  registry: Registry;
  /** Mounted on the API app, in order (see AppDeps.plugins). */
  plugins: Array<(app: Express) => void>;
  localnet: Localnet | null;
  /** The websocket URL the indexer subscribes to; defaults to the local chain's. */
  indexerWsUrl: string | null;
  database: DatabaseHandle | null;
  indexer: Indexer | null;
  paywall: PaywallPlugin | null;
  jobs: JobsRuntime | null;
  api: ListeningServer | null;
}

/** The Jupiter double's price of one KAMIYO on the local chain. */
export const DEMO_KAMIYO_PRICE_MICRO_USDC = parseUnits("0.01", USDC_DECIMALS);

const need = <T>(value: T | null, what: string): T => {
  if (value === null) throw new Error(`${what} is not running`);
  return value;
};

export function webhookUrl(publicUrl: string): string {
  return new URL(HELIUS_WEBHOOK_PATH, publicUrl.endsWith("/") ? publicUrl : `${publicUrl}/`).href;
}

export function createLocalStack(o: LocalStackOptions): { state: LocalStackState; services: Service[] } {
  if (o.config.cluster !== "localnet") {
    throw new ConfigError(`KAMIYO_CLUSTER: start runs the local chain and needs localnet (it is ${o.config.cluster})`);
  }
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const state: LocalStackState = {
    config: o.config,
    registry,
    plugins: [],
    localnet: null,
    indexerWsUrl: null,
    database: null,
    indexer: null,
    paywall: null,
    jobs: null,
    api: null,
  };
  const log = (component: string) => o.logger.child({ component });
  const apiPort = o.apiPort ?? o.config.port;
  // Deliveries go where Helius would send them: PUBLIC_URL, which defaults to this API.
  const publicUrl = o.config.publicUrl;

  const localnet: Service = {
    name: "local chain",
    async start() {
      const net = await startLocalnet({
        host: o.config.localnet.host,
        rpcPort: o.rpcPort ?? o.config.localnet.rpcPort,
        slotMs: o.slotMs ?? o.config.localnet.slotMs,
        programId: o.config.solana.programId,
        seedDemo: true,
        stateDir: o.config.localnet.stateDir,
        webhook: { urls: [webhookUrl(publicUrl)], authHeader: o.config.helius.webhookAuth },
        // The pipeline buys KAMIYO here: JUPITER_API_URL names the double's port.
        jupiter: {
          port: o.jupiterPort ?? Number(new URL(o.config.jobs.jupiterApiUrl ?? "http://127.0.0.1:8902").port || 80),
          priceMicroUsdcPerKamiyo: DEMO_KAMIYO_PRICE_MICRO_USDC,
          ...(o.config.jobs.jupiterApiKey ? { apiKey: o.config.jobs.jupiterApiKey } : {}),
        },
        logger: log("localnet"),
      });
      state.localnet = net;
      const seed = net.seed!;
      state.config = {
        ...state.config,
        solana: { ...state.config.solana, rpcUrl: net.httpUrl, wsUrl: net.wsUrl, kamiyoMint: seed.kamiyoMint, usdcMint: seed.usdcMint },
        x402: { ...state.config.x402, payTo: seed.payTo },
        jobs: { ...state.config.jobs, jupiterApiUrl: net.jupiter!.url },
      };
    },
    async stop() {
      await state.localnet?.close();
      state.localnet = null;
    },
  };

  const database: Service = {
    name: "database",
    async start() {
      await ensureDatabase(o.config.databaseUrl);
      const handle = createDatabase({
        url: o.config.databaseUrl,
        applicationName: "kamiyo-stake start",
        ...(o.dbSchema !== undefined ? { schema: o.dbSchema } : {}),
        onIdleError: (err) => o.logger.warn({ reason: describeError(err) }, "idle database connection failed"),
      });
      try {
        await migrateToLatest(handle.db);
      } catch (err) {
        await handle.close();
        throw err;
      }
      state.database = handle;
    },
    async stop() {
      await state.database?.close();
      state.database = null;
    },
  };

  const indexer: Service = {
    name: "indexer",
    async start() {
      const db = need(state.database, "the database");
      const net = need(state.localnet, "the local chain");
      const ix = createIndexer({
        config: state.config,
        db: db.db,
        pool: db.pool,
        logger: log("indexer"),
        registry,
        rpcUrl: net.httpUrl,
        wsUrl: state.indexerWsUrl ?? net.wsUrl,
        ...(o.indexerOptions ? { options: o.indexerOptions } : {}),
      });
      state.indexer = ix;
      await ix.start();
      // The API answers from the table, so it is not worth looking at before the first backfill; wait for the
      // persisted status (what /ready reads), not only the in-memory one.
      const timeoutMs = o.backfillTimeoutMs ?? 60_000;
      const deadline = Date.now() + timeoutMs;
      const backfilled = async () =>
        ix.status().backfillCompletedAt !== null && (await readIndexerStatus(db.db))?.snapshot.backfillCompletedAt != null;
      while (!(await backfilled())) {
        if (Date.now() > deadline) {
          const why = ix.isLeader ? "" : " (another indexer holds the lock on this database)";
          // A service whose start fails is not stopped by the runner: stop it here.
          await ix.stop();
          state.indexer = null;
          throw new Error(`the first backfill did not complete within ${timeoutMs / 1000} s${why}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async stop() {
      await state.indexer?.stop();
      state.indexer = null;
    },
  };

  const paywall: Service = {
    name: "paywall",
    async start() {
      const db = need(state.database, "the database");
      const plugin = createPaywallPlugin({
        config: state.config,
        db: db.db,
        database: { url: o.config.databaseUrl, ...(o.dbSchema !== undefined ? { schema: o.dbSchema } : {}) },
        logger: log("paywall"),
        metrics: registry,
      });
      state.paywall = plugin;
      try {
        await plugin.ready();
      } catch (err) {
        await plugin.close();
        state.paywall = null;
        throw err;
      }
      state.plugins.push(plugin);
    },
    async stop() {
      await state.paywall?.close();
      state.paywall = null;
    },
  };

  const jobs: Service = {
    name: "revenue pipeline",
    async start() {
      const db = need(state.database, "the database");
      const runtime = await createJobsRuntimeFromConfig({
        config: state.config,
        db: db.db,
        logger: log("jobs"),
        ...(o.jobsPrefix !== undefined ? { prefix: o.jobsPrefix } : {}),
      });
      state.jobs = runtime;
      await runtime.setup();
      state.plugins.push(createJobsPlugin({ db: db.db, adminKey: state.config.adminApiKey, queue: runtime.queue, logger: log("jobs-ui") }));
    },
    async stop() {
      await state.jobs?.close(10_000);
      state.jobs = null;
    },
  };

  const api: Service = {
    name: "api",
    async start() {
      const db = need(state.database, "the database");
      const app = createApp({
        config: state.config,
        db: db.db,
        logger: log("api"),
        metrics: registry,
        indexerApi: createIndexerApi({ config: state.config, db: db.db, logger: log("indexer-api") }),
        plugins: state.plugins,
      });
      state.api = await listen(app, { port: apiPort, host: o.apiHost ?? "127.0.0.1" });
    },
    async stop() {
      await state.api?.close();
      state.api = null;
    },
  };

  return { state, services: [localnet, database, indexer, paywall, jobs, api] };
}

/** Where to look, for people: URLs, the demo wallets and a first request to try. */
export function describeLocalStack(state: LocalStackState): string {
  const net = need(state.localnet, "the local chain");
  const api = need(state.api, "the API");
  const seed = net.seed!;
  const db = new URL(state.config.databaseUrl);
  db.password = "";
  const pool = stakePoolPda(state.config.solana.programId, seed.kamiyoMint)[0].toBase58();
  const lines = [
    "kamiyo-stake is running (local chain presenting itself as devnet)",
    "",
    `  API        ${api.url}   (/health, /ready, /metrics)`,
    `  RPC        ${net.httpUrl}   websocket ${net.wsUrl}`,
    `  database   ${db.href}`,
    `  program    ${state.config.solana.programId}`,
    `  pool       ${pool}   KAMIYO mint ${seed.kamiyoMint}`,
    `  webhooks   the chain posts staking transactions to ${webhookUrl(state.config.publicUrl)}`,
    "",
    `demo wallets (keypairs in ${seed.walletsDir}):`,
    ...seed.wallets.map((w) => {
      const cooldown = w.cooldown > 0n ? `, ${formatUnits(w.cooldown, KAMIYO_DECIMALS)} in cooldown` : "";
      return `  ${w.name.padEnd(10)} ${w.address}  staked ${formatUnits(w.staked, KAMIYO_DECIMALS)} KAMIYO${cooldown}`;
    }),
    "",
    "try:",
    `  curl ${api.url}/x402/staking/info/${seed.wallets.find((w) => w.name === "gold")?.address ?? seed.wallets[0]!.address}`,
    `  curl ${api.url}/x402/discount-tiers`,
    `  curl -i ${api.url}/api/premium -H 'x-wallet-address: ${seed.wallets.find((w) => w.name === "gold")?.address ?? ""}'   (402 with the gold discount)`,
    `  npm run kamiyo-stake -- pay --wallet gold   (pays with x402 from the demo wallet and prints the answer)`,
    `  ops UI: ${api.url}/admin/queues   (HTTP Basic: any user name, the admin key)`,
    "",
    "Ctrl-C stops everything.",
  ];
  return `${lines.join("\n")}\n`;
}

export default {
  usage: `Usage: kamiyo-stake start

Runs everything locally in one process: the local chain with the demo pool and stakers (webhooks to
PUBLIC_URL/webhooks/helius) and a Jupiter double at JUPITER_API_URL, the database (created and migrated),
the indexer, the x402 paywall with its in-process facilitator, the revenue pipeline (worker, daily
scheduler, queue UI at /admin/queues) and the API on PORT.
A stake made on the local chain shows in /x402/staking/info without a restart. Needs KAMIYO_CLUSTER=localnet
(the default), Postgres at DATABASE_URL, and free ports PORT, LOCALNET_RPC_PORT and LOCALNET_RPC_PORT+1.

Options:
  -h, --help  show this help`,
  async run(_args, ctx) {
    const config = ctx.config();
    const logger = ctx.logger("start");
    const { state, services } = createLocalStack({ config, logger });
    const running = await startServices(services, logger);
    ctx.stdout.write(describeLocalStack(state));
    await untilAborted(ctx.signal);
    await running.stop();
  },
} satisfies CommandModule;
