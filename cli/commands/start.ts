/**
 * `kamiyo-stake start` (and `npm start`): the local chain with the demo pool, then the same composition the
 * production processes use (cli/compose.ts) with every role in one process, then prints where to look.
 */
import { HELIUS_WEBHOOK_PATH } from "../../api/routes/helius-webhook.ts";
import type { IndexerOptions } from "../../indexer/index.ts";
import { startLocalnet, type Localnet } from "../../localnet/server.ts";
import { ConfigError, type Config } from "../../src/config.ts";
import { formatUnits, KAMIYO_DECIMALS, parseUnits, USDC_DECIMALS } from "../../src/domain/units.ts";
import type { Logger } from "../../src/log.ts";
import { stakePoolPda } from "../../src/solana/program.ts";
import type { CommandModule } from "../command.ts";
import { composeServices, createCompositionState, describeFacilitator, type CompositionState } from "../compose.ts";
import { startServices, untilAborted, type Service } from "../services.ts";

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

/** The composition's state plus the local chain it runs on. */
export interface LocalStackState extends CompositionState {
  localnet: Localnet | null;
}

/** The Jupiter double's price of one KAMIYO on the local chain. */
export const DEMO_KAMIYO_PRICE_MICRO_USDC = parseUnits("0.01", USDC_DECIMALS);

const DEFAULT_JUPITER_URL = "http://127.0.0.1:8902";

const need = <T>(value: T | null, what: string): T => {
  if (value === null) throw new Error(`${what} is not running`);
  return value;
};

export function webhookUrl(publicUrl: string): string {
  return new URL(HELIUS_WEBHOOK_PATH, publicUrl.endsWith("/") ? publicUrl : `${publicUrl}/`).href;
}

/** `start`: the local chain, then the one composition with every role, on the chain's addresses. */
export function createLocalStack(o: LocalStackOptions): { state: LocalStackState; services: Service[] } {
  if (o.config.cluster !== "localnet") {
    throw new ConfigError(`KAMIYO_CLUSTER: start runs the local chain and needs localnet (it is ${o.config.cluster})`);
  }
  const state: LocalStackState = { ...createCompositionState(o.config), localnet: null };
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
          port: o.jupiterPort ?? Number(new URL(o.config.jobs.jupiterApiUrl ?? DEFAULT_JUPITER_URL).port || 80),
          priceMicroUsdcPerKamiyo: DEMO_KAMIYO_PRICE_MICRO_USDC,
          ...(o.config.jobs.jupiterApiKey ? { apiKey: o.config.jobs.jupiterApiKey } : {}),
        },
        logger: o.logger.child({ component: "localnet" }),
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

  const services = composeServices(state, {
    logger: o.logger,
    roles: ["indexer", "api", "worker"],
    migrate: true,
    applicationName: "kamiyo-stake start",
    backfillTimeoutMs: o.backfillTimeoutMs ?? 60_000,
    ...(o.apiPort !== undefined ? { apiPort: o.apiPort } : {}),
    ...(o.apiHost !== undefined ? { apiHost: o.apiHost } : {}),
    ...(o.dbSchema !== undefined ? { dbSchema: o.dbSchema } : {}),
    ...(o.indexerOptions ? { indexerOptions: o.indexerOptions } : {}),
    ...(o.jobsPrefix !== undefined ? { jobsPrefix: o.jobsPrefix } : {}),
  });
  return { state, services: [localnet, ...services] };
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
    `  x402       ${describeFacilitator(state)}; USDC ${seed.usdcMint} (devnet's canonical mint)`,
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
