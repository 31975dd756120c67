/**
 * The only module that reads the environment. Everything else receives a `Config`.
 * Unset values take embedded defaults: local Postgres and Redis on this machine. Addresses of the local chain
 * (mints, payTo, endpoints) are not known here: on localnet the caller supplies them (`localnetDefaults`).
 */
import { z } from "zod";
import { DEFAULT_TIERS, validateTiers, type DiscountTier } from "./domain/tiers.ts";
import { parseUnits, U64_MAX, USDC_DECIMALS } from "./domain/units.ts";
import { isWalletAddress } from "./domain/wallet.ts";

export const STAKING_PROGRAM_PLACEHOLDER_ID = "Fg6PaFpoGXkYsidMpWTK6W2BeZ7FEfcYkg476zPFsLnS";
export const SOLANA_DEVNET_CAIP2 = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";
export const SOLANA_MAINNET_CAIP2 = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp";
/** Circle's USDC on each public cluster: what stock x402 clients pay with. */
export const USDC_MINT_BY_CLUSTER = Object.freeze({
  devnet: "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU",
  mainnet: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
});

/**
 * Public keys whose secret keys anyone can compute: the local chain's demo wallets, derived from seeds in its
 * public source (test/unit/demo-addresses.test.ts proves this list equals those derivations). Outside
 * localnet a wallet or keypair with one of these keys is refused: funds sent to it can be taken by anyone.
 */
export const PUBLICLY_KNOWN_KEYS: ReadonlyMap<string, string> = new Map([
  ["Ad1nGR2Xt29MYZC69wMp2K6At5o5E4cZATgb26iwyTUH", "admin"],
  ["AESikcywi2kofYE8Y1msoEKKesWtnepqqTJ1ePgFXyPV", "payTo"],
  ["8eQLmLuHYBBLykMsXBXRaqyzTqHSLubVhVbprfbfhk98", "facilitator"],
  ["7EzQb6oySnEVPuQRj1Mgkmb8NkgU97n75L3sVfcvp663", "jupiterLiquidity"],
]);

const BASE58_ADDRESS = /^[1-9A-HJ-NP-Za-km-z]{32,44}$/;
// The length range alone admits strings that decode to 31 or 33+ bytes, which no public key is.
const address = () =>
  z
    .string()
    .regex(BASE58_ADDRESS, "must be a base58 Solana address")
    .refine(isWalletAddress, "must be a base58 Solana address (32 bytes)");
const url = (protocols: string[]) =>
  z.string().refine((v) => {
    try {
      return protocols.includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, `must be a ${protocols.map((p) => p.replace(":", "")).join(" or ")} URL`);
// Decimal digits only: Number() would also read "0x10" as 16, "1e3" as 1000 and " 7 " as 7.
const decimal = () => z.string().regex(/^\d{1,15}$/, "must be an integer, as a decimal number").transform(Number);
const intIn = (min: number, max: number) =>
  decimal().pipe(z.number().min(min, `must be ${min}..${max}`).max(max, `must be ${min}..${max}`));
const port = () => intIn(1, 65535);
const bps = () => intIn(0, 10_000);
const secret = () => z.string().min(16, "must be at least 16 characters");
const onOff = () => z.enum(["true", "false"], "must be true or false").default("true").transform((v) => v === "true");
const jsonText = <T extends z.ZodType>(schema: T) =>
  z.string().transform((text, ctx) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      ctx.addIssue({ code: "custom", message: "must be valid JSON" });
      return z.NEVER;
    }
    const result = schema.safeParse(parsed);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      ctx.addIssue({ code: "custom", message: `${issue.path.join(".") || "value"}: ${issue.message}` });
      return z.NEVER;
    }
    return result.data as z.output<T>;
  });

const tierSchema = z.array(
  z.object({
    name: z.string().min(1),
    minStake: z.string().regex(/^\d+$/, "must be an integer string of KAMIYO base units").transform(BigInt),
    // 100 % would price requests at 0 (content for free, the facilitator paying the fees). Below it, the
    // floored reduction leaves every positive price at 1 micro-USDC or more.
    discountBps: z.number().int().min(1).max(9_999),
    priority: z.enum(["standard", "priority", "premium"]),
  }),
);

const routeSchema = z.array(
  z.object({
    path: z.string().startsWith("/", "must start with /"),
    method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE"]).default("GET"),
    price: z.string().transform((v, ctx) => {
      try {
        return parseUnits(v, USDC_DECIMALS);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: `price ${(err as Error).message}` });
        return z.NEVER;
      }
    }),
    description: z.string().default(""),
  }),
);

const DEFAULT_ROUTES = JSON.stringify([
  { path: "/api/premium", method: "GET", price: "0.10", description: "Premium API access" },
]);

const envSchema = z.object({
  KAMIYO_CLUSTER: z.enum(["localnet", "devnet", "mainnet"]).default("localnet"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  DATABASE_URL: url(["postgres:", "postgresql:"]).optional(),
  REDIS_URL: url(["redis:", "rediss:"]).optional(),
  SOLANA_RPC_URL: url(["http:", "https:"]).optional(),
  SOLANA_WS_URL: url(["ws:", "wss:"]).optional(),
  SOLANA_GRPC_URL: url(["http:", "https:"]).optional(),
  SOLANA_GRPC_TOKEN: z.string().min(1).optional(),
  SOLANA_COMMITMENT: z.enum(["processed", "confirmed", "finalized"]).default("confirmed"),
  STAKING_PROGRAM_ID: address().optional(),
  KAMIYO_MINT: address().optional(),
  USDC_MINT: address().optional(),
  HELIUS_API_KEY: z.string().min(1).optional(),
  HELIUS_API_URL: url(["http:", "https:"]).optional(),
  HELIUS_WEBHOOK_AUTH: secret().optional(),
  PUBLIC_URL: url(["http:", "https:"]).optional(),
  ADMIN_API_KEY: secret().optional(),
  PORT: port().default(3000),
  DISCOUNT_TIERS: jsonText(tierSchema).optional(),
  X402_PAY_TO: address().optional(),
  X402_NETWORK: z.enum([SOLANA_DEVNET_CAIP2, SOLANA_MAINNET_CAIP2]).optional(),
  X402_FACILITATOR_URL: url(["http:", "https:"]).optional(),
  X402_FACILITATOR_KEYPAIR: z.string().min(1).optional(),
  X402_FACILITATOR_HEADERS: jsonText(z.record(z.string().regex(/^[!#$%&'*+.^_`|~\w-]+$/, "header names are tokens"), z.string())).optional(),
  X402_FACILITATOR_TIMEOUT_SECONDS: intIn(10, 3700).optional(),
  X402_FACILITATOR_REFRESH_SECONDS: intIn(5, 86_400).default(300),
  X402_MAX_COMPUTE_UNITS: intIn(1_000, 1_400_000).default(50_000),
  X402_MAX_PRIORITY_FEE_MICROLAMPORTS: intIn(0, 5_000_000).default(10_000),
  X402_MAX_REQUIRED_SIGNATURES: intIn(1, 16).default(2),
  X402_ROUTES: jsonText(routeSchema).default(routeSchema.parse(JSON.parse(DEFAULT_ROUTES))),
  X402_MAX_TIMEOUT_SECONDS: intIn(10, 3600).default(60),
  STAKE_DATA_MAX_AGE_MS: intIn(1_000, 600_000).default(5_000),
  X402_STAKING_URL: url(["http:", "https:"]).default("https://kamiyo.ai/stake"),
  X402_CORS_ORIGINS: z
    .string()
    .default("*")
    .transform((v) => v.split(",").map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(z.union([z.literal("*"), url(["http:", "https:"])])).min(1, "must name at least one origin or *")),
  API_PAYWALL: onOff(),
  API_REVENUE_REPORTS: onOff(),
  API_DASHBOARD: onOff(),
  API_QUEUE_UI: onOff(),
  TRUST_PROXY: intIn(0, 10).default(0),
  RATE_LIMIT_ADMIN_PER_MINUTE: intIn(0, 1_000_000).default(60),
  RATE_LIMIT_QUOTES_PER_MINUTE: intIn(0, 1_000_000).default(600),
  ADMIN_KEYPAIR_PATH: z.string().min(1).optional(),
  JUPITER_API_URL: url(["http:", "https:"]).optional(),
  JUPITER_API_KEY: z.string().min(1).optional(),
  ALLOCATION_BPS: bps().default(3000),
  PIPELINE_CRON: z
    .string()
    .regex(/^\S+( \S+){5}$/, "must be a 6-field cron pattern (seconds first)")
    .default("0 0 2 * * *"),
  APY_SNAPSHOT_CRON: z
    .string()
    .regex(/^\S+( \S+){5}$/, "must be a 6-field cron pattern (seconds first)")
    .default("0 30 2 * * *"),
  JOBS_QUEUE_PREFIX: z.string().regex(/^[\w.-]{1,64}$/, "must be 1-64 letters, digits, '_', '.' or '-'").default("kamiyo-stake"),
  SWAP_SLIPPAGE_BPS: bps().default(50),
  SWAP_MAX_PRICE_IMPACT_BPS: bps().default(100),
  ALERT_WEBHOOK_URL: url(["http:", "https:"]).optional(),
  WORKER_METRICS_PORT: port().default(9464),
  LEDGER_RECONCILE_INTERVAL_SECONDS: intIn(5, 86_400).default(60),
  LOCALNET_STATE_DIR: z.string().min(1).default(".localnet"),
  LOCALNET_HOST: z.string().min(1).default("127.0.0.1"),
  LOCALNET_RPC_PORT: port().default(8899),
  LOCALNET_GRPC_PORT: port().default(10000),
  LOCALNET_SLOT_MS: intIn(1, 10_000).default(400),
  LOCALNET_WEBHOOK_URLS: z
    .string()
    .default("")
    .transform((v) => v.split(",").map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(url(["http:", "https:"]))),
});

/** Every variable the configuration reads, in schema order (.env.example and the README follow it). */
export type ConfigVariable = keyof typeof envSchema.shape;
export const CONFIG_VARIABLES = Object.keys(envSchema.shape) as ConfigVariable[];

/** The embedded default of a variable as text, or undefined when it has none (cluster defaults are not embedded). */
export function embeddedDefault(name: ConfigVariable): string | undefined {
  if (name === "X402_ROUTES") return DEFAULT_ROUTES;
  const parsed = envSchema.shape[name].safeParse(undefined);
  if (!parsed.success || parsed.data === undefined) return undefined;
  const value: unknown = parsed.data;
  return Array.isArray(value) ? value.join(",") : String(value as string | number | boolean);
}

export type Commitment = "processed" | "confirmed" | "finalized";
export type Cluster = "localnet" | "devnet" | "mainnet";

export interface PaidRoute {
  path: string;
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** micro-USDC */
  price: bigint;
  description: string;
}

export interface Config {
  cluster: Cluster;
  logLevel: string;
  databaseUrl: string;
  redisUrl: string;
  port: number;
  publicUrl: string;
  adminApiKey: string;
  tiers: readonly DiscountTier[];
  solana: {
    rpcUrl: string;
    wsUrl: string;
    /** Yellowstone gRPC endpoint: when set, the indexer's live source is gRPC instead of the websocket. */
    grpcUrl: string | undefined;
    /** Sent as the x-token header of every gRPC call; a secret (never logged). */
    grpcToken: string | undefined;
    commitment: Commitment;
    programId: string;
    kamiyoMint: string;
    usdcMint: string;
  };
  helius: { apiKey: string | undefined; apiUrl: string | undefined; webhookAuth: string };
  x402: {
    payTo: string;
    network: string;
    facilitatorUrl: string | undefined;
    /** Required by the api role unless facilitatorUrl is set (checked by cli/compose.ts validate). */
    facilitatorKeypairPath: string | undefined;
    /** Sent with every request to a hosted facilitator (e.g. its API key). */
    facilitatorHeaders: Readonly<Record<string, string>>;
    /** A hosted facilitator's request timeout; never below maxTimeoutSeconds (a settle may take that long). */
    facilitatorTimeoutSeconds: number;
    /** How often a hosted facilitator's fee payer is re-read. */
    facilitatorRefreshSeconds: number;
    /** What the in-process facilitator accepts paying fees for. */
    feeCaps: { maxComputeUnits: number; maxPriorityFeeMicroLamports: number; maxRequiredSignatures: number };
    routes: readonly PaidRoute[];
    maxTimeoutSeconds: number;
    /**
     * Discounts are given only while the indexer proved itself alive (heartbeat or stake change) within this
     * many milliseconds; past it every price is the full price. /ready reports an older indexer status too.
     */
    stakeDataMaxAgeMs: number;
    /** Where the 402 answer's staking hint sends people. */
    stakingUrl: string;
    /** Origins allowed to call paid routes from a browser; ["*"] allows any. */
    corsOrigins: string[];
  };
  /** What `kamiyo-stake api` mounts. */
  features: { paywall: boolean; revenueReports: boolean; dashboard: boolean; queueUi: boolean };
  http: {
    /** Proxy hops in front of the API (express "trust proxy"); client addresses come from X-Forwarded-For past them. */
    trustProxy: number;
    /** Per client address per minute; 0 turns the limit off. */
    rateLimits: { adminPerMinute: number; quotesPerMinute: number };
  };
  jobs: {
    /** Required by the worker (checked by cli/compose.ts validate). */
    adminKeypairPath: string | undefined;
    /** Required by the worker (checked where the worker is built); the API never calls Jupiter. */
    jupiterApiUrl: string | undefined;
    jupiterApiKey: string | undefined;
    allocationBps: number;
    pipelineCron: string;
    /** 6-field cron (UTC) of the APY snapshot job. */
    apyCron: string;
    /** BullMQ key prefix (several deployments can share one Redis). */
    queuePrefix: string;
    slippageBps: number;
    maxPriceImpactBps: number;
    alertWebhookUrl: string | undefined;
    /** Port of the worker's own /health and /metrics when it runs alone (`kamiyo-stake worker`). */
    metricsPort: number;
    /** Seconds between the worker's revenue-ledger reconciliations with the chain (jobs/ledger/). */
    ledgerReconcileIntervalSeconds: number;
  };
  localnet: {
    stateDir: string;
    host: string;
    rpcPort: number;
    grpcPort: number;
    slotMs: number;
    webhookUrls: string[];
  };
}

/** A configuration error: one line, naming the variable and what is wrong. Retrying does not help. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

// Local-only defaults for secrets. Outside the local chain they must be set explicitly.
const LOCAL_WEBHOOK_AUTH = "localnet-webhook-auth-0000";
const LOCAL_ADMIN_KEY = "localnet-admin-key-00000";
const LOCAL_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/kamiyo_stake";
const LOCAL_REDIS_URL = "redis://127.0.0.1:6379";

/** Refuses, outside localnet, a wallet whose secret key is public (see PUBLICLY_KNOWN_KEYS). */
export function refusePubliclyKnown(variable: string, publicKey: string): void {
  const demo = PUBLICLY_KNOWN_KEYS.get(publicKey);
  if (demo !== undefined) {
    throw new ConfigError(`${variable}: ${publicKey} is the local chain's demo ${demo} wallet, whose secret key is public; use a key of your own`);
  }
}

export interface LoadConfigOptions {
  /**
   * Values for unset variables when KAMIYO_CLUSTER is localnet: the local chain's mints, payTo and endpoints.
   * Supplied by the commands that know the local chain; ignored on every other cluster.
   */
  localnetDefaults?: (env: Readonly<Record<string, string | undefined>>) => Readonly<Record<string, string>>;
}

export function loadConfig(env: Record<string, string | undefined> = process.env, options: LoadConfigOptions = {}): Config {
  const given = (key: string): string | undefined => {
    const value = env[key];
    return value === undefined || value === "" ? undefined : value;
  };
  const onLocalnet = (given("KAMIYO_CLUSTER") ?? "localnet") === "localnet";
  const defaults = onLocalnet ? (options.localnetDefaults?.(env) ?? {}) : {};
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = given(key) ?? defaults[key];
    if (value !== undefined && value !== "") cleaned[key] = value;
  }
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? "environment");
    throw new ConfigError(`${name}: ${issue.message}`);
  }
  const e = parsed.data;
  const local = e.KAMIYO_CLUSTER === "localnet";
  const requireOutsideLocal = (name: string, value: string | undefined, fallback: string): string => {
    if (value !== undefined) return value;
    if (local) return fallback;
    throw new ConfigError(`${name}: required when KAMIYO_CLUSTER is ${e.KAMIYO_CLUSTER}`);
  };
  const required = (name: string, value: string | undefined): string => {
    if (value !== undefined) return value;
    throw new ConfigError(`${name}: required${local ? " (no local chain default was supplied)" : ` when KAMIYO_CLUSTER is ${e.KAMIYO_CLUSTER}`}`);
  };
  const tiers = e.DISCOUNT_TIERS ?? DEFAULT_TIERS;
  const tierProblem = validateTiers(tiers);
  if (tierProblem) throw new ConfigError(`DISCOUNT_TIERS: ${tierProblem}`);
  const routeKeys = new Set<string>();
  for (const r of e.X402_ROUTES) {
    const key = `${r.method} ${r.path}`;
    if (routeKeys.has(key)) throw new ConfigError(`X402_ROUTES: duplicate route ${key}`);
    if (r.price <= 0n) throw new ConfigError(`X402_ROUTES: ${key} price must be positive`);
    if (r.price > U64_MAX) throw new ConfigError(`X402_ROUTES: ${key} price is above the largest token amount (u64)`);
    routeKeys.add(key);
  }
  const stateDir = e.LOCALNET_STATE_DIR;
  // Secrets are named first, then addresses and endpoints, in the order the README lists them.
  const adminApiKey = requireOutsideLocal("ADMIN_API_KEY", e.ADMIN_API_KEY, LOCAL_ADMIN_KEY);
  const webhookAuth = requireOutsideLocal("HELIUS_WEBHOOK_AUTH", e.HELIUS_WEBHOOK_AUTH, LOCAL_WEBHOOK_AUTH);
  const databaseUrl = requireOutsideLocal("DATABASE_URL", e.DATABASE_URL, LOCAL_DATABASE_URL);
  const redisUrl = requireOutsideLocal("REDIS_URL", e.REDIS_URL, LOCAL_REDIS_URL);
  const programId = requireOutsideLocal("STAKING_PROGRAM_ID", e.STAKING_PROGRAM_ID, STAKING_PROGRAM_PLACEHOLDER_ID);
  const rpcUrl = required("SOLANA_RPC_URL", e.SOLANA_RPC_URL);
  const wsUrl = required("SOLANA_WS_URL", e.SOLANA_WS_URL);
  const kamiyoMint = required("KAMIYO_MINT", e.KAMIYO_MINT);
  const usdcMint = required("USDC_MINT", e.USDC_MINT ?? (e.KAMIYO_CLUSTER === "localnet" ? undefined : USDC_MINT_BY_CLUSTER[e.KAMIYO_CLUSTER]));
  const payTo = required("X402_PAY_TO", e.X402_PAY_TO);
  if (!local) refusePubliclyKnown("X402_PAY_TO", payTo);
  const facilitatorTimeoutSeconds = e.X402_FACILITATOR_TIMEOUT_SECONDS ?? e.X402_MAX_TIMEOUT_SECONDS + 15;
  if (facilitatorTimeoutSeconds < e.X402_MAX_TIMEOUT_SECONDS) {
    throw new ConfigError(
      `X402_FACILITATOR_TIMEOUT_SECONDS: ${facilitatorTimeoutSeconds} is shorter than X402_MAX_TIMEOUT_SECONDS (${e.X402_MAX_TIMEOUT_SECONDS}), which a settle may take`,
    );
  }
  return {
    cluster: e.KAMIYO_CLUSTER,
    logLevel: e.LOG_LEVEL,
    databaseUrl,
    redisUrl,
    port: e.PORT,
    publicUrl: e.PUBLIC_URL ?? `http://127.0.0.1:${e.PORT}`,
    adminApiKey,
    tiers,
    solana: {
      rpcUrl,
      wsUrl,
      grpcUrl: e.SOLANA_GRPC_URL,
      grpcToken: e.SOLANA_GRPC_TOKEN,
      commitment: e.SOLANA_COMMITMENT,
      programId,
      kamiyoMint,
      usdcMint,
    },
    helius: {
      apiKey: e.HELIUS_API_KEY,
      apiUrl: e.HELIUS_API_URL,
      webhookAuth,
    },
    x402: {
      payTo,
      network: e.X402_NETWORK ?? (e.KAMIYO_CLUSTER === "mainnet" ? SOLANA_MAINNET_CAIP2 : SOLANA_DEVNET_CAIP2),
      facilitatorUrl: e.X402_FACILITATOR_URL,
      facilitatorKeypairPath: e.X402_FACILITATOR_KEYPAIR,
      facilitatorHeaders: e.X402_FACILITATOR_HEADERS ?? {},
      facilitatorTimeoutSeconds,
      facilitatorRefreshSeconds: e.X402_FACILITATOR_REFRESH_SECONDS,
      feeCaps: {
        maxComputeUnits: e.X402_MAX_COMPUTE_UNITS,
        maxPriorityFeeMicroLamports: e.X402_MAX_PRIORITY_FEE_MICROLAMPORTS,
        maxRequiredSignatures: e.X402_MAX_REQUIRED_SIGNATURES,
      },
      routes: e.X402_ROUTES,
      maxTimeoutSeconds: e.X402_MAX_TIMEOUT_SECONDS,
      stakeDataMaxAgeMs: e.STAKE_DATA_MAX_AGE_MS,
      stakingUrl: e.X402_STAKING_URL,
      corsOrigins: e.X402_CORS_ORIGINS,
    },
    features: { paywall: e.API_PAYWALL, revenueReports: e.API_REVENUE_REPORTS, dashboard: e.API_DASHBOARD, queueUi: e.API_QUEUE_UI },
    http: {
      trustProxy: e.TRUST_PROXY,
      rateLimits: { adminPerMinute: e.RATE_LIMIT_ADMIN_PER_MINUTE, quotesPerMinute: e.RATE_LIMIT_QUOTES_PER_MINUTE },
    },
    jobs: {
      adminKeypairPath: e.ADMIN_KEYPAIR_PATH,
      jupiterApiUrl: e.JUPITER_API_URL,
      jupiterApiKey: e.JUPITER_API_KEY,
      allocationBps: e.ALLOCATION_BPS,
      pipelineCron: e.PIPELINE_CRON,
      apyCron: e.APY_SNAPSHOT_CRON,
      queuePrefix: e.JOBS_QUEUE_PREFIX,
      slippageBps: e.SWAP_SLIPPAGE_BPS,
      maxPriceImpactBps: e.SWAP_MAX_PRICE_IMPACT_BPS,
      alertWebhookUrl: e.ALERT_WEBHOOK_URL,
      metricsPort: e.WORKER_METRICS_PORT,
      ledgerReconcileIntervalSeconds: e.LEDGER_RECONCILE_INTERVAL_SECONDS,
    },
    localnet: {
      stateDir,
      host: e.LOCALNET_HOST,
      rpcPort: e.LOCALNET_RPC_PORT,
      grpcPort: e.LOCALNET_GRPC_PORT,
      slotMs: e.LOCALNET_SLOT_MS,
      webhookUrls: e.LOCALNET_WEBHOOK_URLS,
    },
  };
}
