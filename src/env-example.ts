/**
 * `.env.example`, generated from the configuration schema (src/config.ts): every variable the schema reads,
 * in its order, with its embedded default, who needs it outside localnet, and whether it is a secret.
 * test/unit/env-example.test.ts fails when the file and the schema drift apart. Regenerate with
 *   npx node src/env-example.ts > .env.example
 */
import { CONFIG_VARIABLES, embeddedDefault, type ConfigVariable } from "./config.ts";

interface VariableDoc {
  /** One or two lines for people. */
  doc: string;
  /** Outside localnet: which processes cannot start without it. */
  required?: string;
  /** Keep it in a secret store, not in a file in the repository. */
  secret?: string;
}

const ALL = "every process";
const DOCS: Partial<Record<ConfigVariable, VariableDoc>> = {
  KAMIYO_CLUSTER: { doc: "localnet, devnet or mainnet. localnet supplies demo defaults; elsewhere nothing defaults to a demo key or a local address." },
  LOG_LEVEL: { doc: "pino level: fatal, error, warn, info, debug, trace or silent." },
  DATABASE_URL: { doc: "Postgres, the system of record (one database for every replica).", required: ALL, secret: "may hold a password" },
  REDIS_URL: { doc: "Redis for the BullMQ queues and the shared rate limits (maxmemory-policy noeviction).", required: ALL, secret: "may hold a password" },
  SOLANA_RPC_URL: { doc: "Solana JSON-RPC over HTTP.", required: ALL, secret: "provider URLs often carry an API key" },
  SOLANA_WS_URL: { doc: "Solana JSON-RPC websockets (subscriptions).", required: ALL, secret: "provider URLs often carry an API key" },
  SOLANA_GRPC_URL: { doc: "Yellowstone gRPC endpoint for the indexer's live feed (instead of websockets)." },
  SOLANA_GRPC_TOKEN: { doc: "x-token for SOLANA_GRPC_URL.", secret: "yes" },
  SOLANA_COMMITMENT: { doc: "processed, confirmed or finalized." },
  STAKING_PROGRAM_ID: { doc: "The KAMIYO staking program.", required: ALL },
  KAMIYO_MINT: { doc: "The KAMIYO mint.", required: ALL },
  USDC_MINT: { doc: "USDC mint x402 payments use; defaults to Circle's USDC on devnet and mainnet." },
  HELIUS_API_KEY: { doc: "Helius API key, for `webhooks sync`.", secret: "yes" },
  HELIUS_API_URL: { doc: "Helius API base URL." },
  HELIUS_WEBHOOK_AUTH: { doc: "Authorization header value Helius webhook deliveries must carry (16+ characters).", required: ALL, secret: "yes" },
  PUBLIC_URL: { doc: "Public base URL of the API (resource URLs in quotes, webhook target, allowed origin of admin writes)." },
  ADMIN_API_KEY: { doc: "Key for the admin routes and the queue UI (16+ characters).", required: ALL, secret: "yes" },
  PORT: { doc: "HTTP port of the API." },
  DISCOUNT_TIERS: { doc: 'JSON array of { name, minStake, discountBps, priority }; default silver 100k / 10 %, gold 500k / 20 %, platinum 1M / 30 %.' },
  X402_PAY_TO: { doc: "Wallet that receives x402 payments; a demo wallet is refused outside localnet.", required: ALL },
  X402_NETWORK: { doc: "CAIP-2 network id; devnet's by default (mainnet's on mainnet)." },
  X402_FACILITATOR_URL: { doc: "A hosted x402 facilitator (POST /verify, /settle, GET /supported). Unset: the in-process facilitator." },
  X402_FACILITATOR_KEYPAIR: { doc: "Keypair file of the in-process facilitator's fee payer (a demo key is refused outside localnet).", required: "api, unless X402_FACILITATOR_URL is set", secret: "the file is" },
  X402_FACILITATOR_HEADERS: { doc: 'JSON object of headers sent to a hosted facilitator, e.g. {"Authorization":"Bearer ..."}.', secret: "yes" },
  X402_FACILITATOR_TIMEOUT_SECONDS: { doc: "A hosted facilitator's settle timeout; at least X402_MAX_TIMEOUT_SECONDS (default that plus 15)." },
  X402_FACILITATOR_REFRESH_SECONDS: { doc: "How often a hosted facilitator's fee payer is re-read (quotes follow a rotated key)." },
  X402_MAX_COMPUTE_UNITS: { doc: "In-process facilitator: largest compute-unit limit a payment may ask the fee payer to pay for." },
  X402_MAX_PRIORITY_FEE_MICROLAMPORTS: { doc: "In-process facilitator: largest compute-unit price (µlamports) a payment may set." },
  X402_MAX_REQUIRED_SIGNATURES: { doc: "In-process facilitator: most signatures (5,000 lamports each) a payment may require." },
  X402_ROUTES: { doc: "Paid routes: JSON array of { path, method, price, description }, price in USDC." },
  X402_MAX_TIMEOUT_SECONDS: { doc: "x402 maxTimeoutSeconds: how long a payment may take to settle (10 to 3600)." },
  STAKE_DATA_MAX_AGE_MS: { doc: "Stake data older than this (no sign of life from the indexer) is not trusted: full price." },
  X402_STAKING_URL: { doc: "Where the staking hint in a 402 answer sends people." },
  X402_CORS_ORIGINS: { doc: "Comma-separated origins allowed to call paid routes from a browser; * allows any." },
  API_PAYWALL: { doc: "api: serve the paid routes (true or false)." },
  API_REVENUE_REPORTS: { doc: "api: serve /x402/revenue/* (true or false)." },
  API_DASHBOARD: { doc: "api: serve /x402/analytics/dashboard (true or false)." },
  API_QUEUE_UI: { doc: "api: serve the queue UI at /admin/queues (true or false)." },
  TRUST_PROXY: { doc: "Proxy hops in front of the API whose X-Forwarded-For is believed (rate limits per client address)." },
  RATE_LIMIT_ADMIN_PER_MINUTE: { doc: "Failed admin requests per client address per minute (Redis, shared by replicas); 0 turns it off." },
  RATE_LIMIT_QUOTES_PER_MINUTE: { doc: "Unpaid quotes of paid routes per client address per minute; 0 turns it off." },
  ADMIN_KEYPAIR_PATH: { doc: "Keypair file of the stake pool admin, which signs the buyback and fund_pool (a demo key is refused).", required: "worker", secret: "the file is" },
  JUPITER_API_URL: { doc: "Jupiter Swap API host (the client appends /swap/v1).", required: "worker" },
  JUPITER_API_KEY: { doc: "Jupiter API key (x-api-key).", secret: "yes" },
  ALLOCATION_BPS: { doc: "Share of the previous day's x402 revenue that buys KAMIYO for rewards." },
  PIPELINE_CRON: { doc: "When the daily pipeline runs: 6-field cron (UTC), seconds first." },
  APY_SNAPSHOT_CRON: { doc: "When the APY snapshot is recorded: 6-field cron (UTC), seconds first." },
  JOBS_QUEUE_PREFIX: { doc: "BullMQ (and rate-limit) key prefix in Redis." },
  SWAP_SLIPPAGE_BPS: { doc: "Slippage allowed on the Jupiter swap." },
  SWAP_MAX_PRICE_IMPACT_BPS: { doc: "A quote with a larger price impact is refused." },
  ALERT_WEBHOOK_URL: { doc: "Where alerts are posted (Slack/Discord-compatible JSON).", secret: "webhook URLs are credentials" },
  WORKER_METRICS_PORT: { doc: "worker: port of its Prometheus /metrics listener." },
  LEDGER_RECONCILE_INTERVAL_SECONDS: { doc: "worker: how often the revenue ledger is reconciled against payTo's history on chain." },
  LOCALNET_STATE_DIR: { doc: "localnet: chain state and demo wallets." },
  LOCALNET_HOST: { doc: "localnet: interface the local chain listens on." },
  LOCALNET_RPC_PORT: { doc: "localnet: JSON-RPC port; websockets listen on the next port." },
  LOCALNET_GRPC_PORT: { doc: "localnet: port of the local chain's Yellowstone gRPC facade." },
  LOCALNET_SLOT_MS: { doc: "localnet: milliseconds per slot." },
  LOCALNET_WEBHOOK_URLS: { doc: "localnet: comma-separated URLs the local chain posts Helius-style webhooks to." },
};

export function renderEnvExample(): string {
  const lines = [
    "# kamiyo-stake configuration. Generated from src/config.ts by `npx node src/env-example.ts > .env.example`:",
    "# edit the schema, not this file (test/unit/env-example.test.ts fails when they differ).",
    "# Uncommented lines must be set outside localnet (KAMIYO_CLUSTER=devnet or mainnet); commented ones show the",
    "# embedded default. [secret] values belong in a secret store, not in a file checked in anywhere.",
    "",
  ];
  for (const name of CONFIG_VARIABLES) {
    const d = DOCS[name] ?? { doc: "(not described yet: see README.md)" };
    lines.push(`# ${d.doc}`);
    if (d.required) lines.push(`# required outside localnet by: ${d.required}`);
    if (d.secret) lines.push(`# [secret] ${d.secret}`);
    const value = embeddedDefault(name);
    lines.push(d.required ? `${name}=` : `#${name}=${value ?? ""}`, "");
  }
  return lines.join("\n");
}

if (import.meta.main) process.stdout.write(renderEnvExample());
