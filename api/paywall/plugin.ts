/**
 * The x402 paywall as an app plugin: paid routes from configuration (x402 v2, Solana exact, USDC) priced per
 * payer from the tier cache, the usage ledger, CORS for browser clients and the demo premium route. The
 * revenue reports are a plugin of their own (api/revenue/plugin.ts), mounted beside this one.
 *
 * Rooms: pure quoting (src/domain/quote.ts), the x402 glue (x402-server.ts), the settlement guard
 * (settlement-guard.ts), the entry middleware with the quote cache (entry.ts, quote-cache.ts). This file
 * assembles them with their dependencies (tier cache, ledger, facilitator).
 *
 * Request path of a paid route: entry (CORS, PAYMENT-SIGNATURE parsed or a 400, request state opened) ->
 * @x402/express (price function, verify hooks, handler, settle hooks) -> handler.
 */
import type { Express } from "express";
import type { Kysely } from "kysely";
import pg from "pg";
import type { Registry } from "prom-client";
import type { FacilitatorClient } from "@x402/core/server";
import type { Network } from "@x402/core/types";
import type { Config } from "../../src/config.ts";
import type { StakeView } from "../../src/domain/quote.ts";
import { walletProblem } from "../../src/domain/wallet.ts";
import type { Database } from "../../src/db/schema.ts";
import type { Logger } from "../../src/log.ts";
import { stakePoolPda } from "../../src/solana/program.ts";
import { addReadinessProbe, type ReadinessProbe } from "../routes/health.ts";
import { createPaywallEntry } from "./entry.ts";
import { facilitatorFromConfig, type PaywallFacilitator } from "./facilitator.ts";
import { createPaywallMetrics, type PaywallMetrics } from "./metrics.ts";
import { premiumHandler } from "./premium.ts";
import { createQuoteCache, type QuoteCache } from "./quote-cache.ts";
import { createTierCache, type TierCache, type TierCacheOptions, type TierCacheStatus } from "./tier-cache.ts";
import { createUsageLedger, type UsageLedger } from "./usage-ledger.ts";
import { createX402Server } from "./x402-server.ts";
import type { SettlementBoundary } from "./settlement-guard.ts";

export { WALLET_HINT_HEADER } from "../../src/domain/quote.ts";
/** The demo route with a handler of its own. Other configured routes protect handlers mounted elsewhere. */
export const PREMIUM_ROUTE = { method: "GET", path: "/api/premium" } as const;

export interface PaywallDeps {
  config: Config;
  db: Kysely<Database>;
  /** The database the tier cache opens its own LISTEN connection to (the same one as `db`). */
  database: { url: string; schema?: string };
  logger: Logger;
  /** The process's Prometheus registry, if any; the paywall registers its series on it. */
  metrics?: Registry;
  /** Replaces the facilitator chosen from configuration. */
  facilitator?: FacilitatorClient | PaywallFacilitator;
  tierCache?: Pick<TierCacheOptions, "reconnectMinMs" | "reconnectMaxMs" | "reloadIntervalMs" | "maxAgeMs">;
  /** Test seam: called at each settlement boundary (the ledger crash tests kill the process there). */
  settlementBoundary?: (name: SettlementBoundary) => void | Promise<void>;
}

export interface PaywallStatus {
  tierCache: TierCacheStatus;
  pendingLedgerWrites: number;
  facilitator: string;
}

export interface PaywallPlugin {
  (app: Express): void;
  /** Resolves once the facilitator answered and the tier cache is loaded; rejects after `timeoutMs`. */
  ready(timeoutMs?: number): Promise<void>;
  status(): PaywallStatus;
  readonly tierCache: TierCache;
  readonly ledger: UsageLedger;
  /** Unpaid answers recorded from @x402/express, replayed per price decision. */
  readonly quoteCache: QuoteCache;
  /** Re-reads the facilitator now (also done every X402_FACILITATOR_REFRESH_SECONDS and on fee_payer_not_managed). */
  refreshFacilitator(): Promise<void>;
  close(): Promise<void>;
}

function tierCacheFor(deps: PaywallDeps, pool: string, log: Logger): TierCache {
  return createTierCache({
    pool,
    tiers: deps.config.tiers,
    logger: log,
    maxAgeMs: deps.config.x402.stakeDataMaxAgeMs,
    ...deps.tierCache,
    connect: () =>
      new pg.Client({
        connectionString: deps.database.url,
        keepAlive: true,
        application_name: "kamiyo-stake tier-cache",
        ...(deps.database.schema !== undefined ? { options: `-c search_path=${deps.database.schema}` } : {}),
      }),
  });
}

/** The tier cache as quoting sees it. Hints found to be addresses are remembered, so a returning client's hint is not base58-decoded again. */
function stakeViewOf(tierCache: TierCache): StakeView {
  const validHints = new Set<string>();
  return {
    walletProblem(hint) {
      if (validHints.has(hint) || tierCache.has(hint)) return null;
      const problem = walletProblem(hint);
      if (problem === null) {
        if (validHints.size >= 50_000) validHints.clear();
        validHints.add(hint);
      }
      return problem;
    },
    tierOf: (wallet) => tierCache.lookup(wallet),
  };
}

/**
 * Recorded quotes that follow the facilitator: the answers carry its fee payer (extra.feePayer), so when it
 * changes every recording is dropped and the next quotes are recorded anew.
 */
function followingQuoteCache(keys: readonly string[]): QuoteCache & { reset(): void } {
  let inner = createQuoteCache(keys);
  return {
    slot: (key) => inner.slot(key),
    store: (key, route, decision, answer) => inner.store(key, route, decision, answer),
    get size() {
      return inner.size;
    },
    reset() {
      inner = createQuoteCache(keys);
    },
  };
}

const isPaywallFacilitator = (f: FacilitatorClient | PaywallFacilitator): f is PaywallFacilitator => "refresh" in f && "describe" in f;

/** /ready's view of the tier cache: down while discounts are suspended (every price is the full price). */
function stakeDataProbe(tierCache: TierCache): ReadinessProbe {
  return {
    name: "stake data",
    check() {
      const s = tierCache.status();
      const details = { trusted: s.healthy, proofOfLifeAgeMs: s.proofOfLifeAgeMs, maxAgeMs: s.maxAgeMs, indexerSlot: s.indexerSlot };
      if (s.healthy) return { ok: true, details };
      const silent = s.loadedAt !== null && s.maxAgeMs > 0 && (s.proofOfLifeAgeMs === null || s.proofOfLifeAgeMs > s.maxAgeMs);
      const reason = silent
        ? `no proof of life from the indexer within ${s.maxAgeMs} ms: discounts are suspended (full prices)`
        : "the stake data is not loaded: discounts are suspended (full prices)";
      return { ok: false, reason, details };
    },
  };
}

/** Resolves when the facilitator answers, or rejects after `timeoutMs`. */
async function facilitatorAnswers(facilitator: FacilitatorClient, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`facilitator did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([facilitator.getSupported(), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

export function createPaywallPlugin(deps: PaywallDeps): PaywallPlugin {
  const { config } = deps;
  const log = deps.logger.child({ component: "paywall" });
  const pool = stakePoolPda(config.solana.programId, config.solana.kamiyoMint)[0].toBase58();
  const metrics: PaywallMetrics | null = deps.metrics ? createPaywallMetrics(deps.metrics) : null;
  const tierCache = tierCacheFor(deps, pool, log);
  const ledger = createUsageLedger({ db: deps.db, logger: log });
  // A hosted facilitator that says the quoted fee payer is not its own has rotated its key: refresh at once.
  let onStale = () => undefined as void;
  const given = deps.facilitator;
  const chosen: PaywallFacilitator | null = given ? (isPaywallFacilitator(given) ? given : null) : facilitatorFromConfig(config, { logger: log, onStaleFeePayer: () => onStale() });
  const facilitator = { client: chosen ?? given!, describe: chosen?.describe ?? "provided" };
  metrics?.observe(() => ({ tierCache: tierCache.status(), pendingLedgerWrites: ledger.pendingCompletions() }));

  const stake = stakeViewOf(tierCache);
  const x402 = createX402Server({
    config,
    facilitator: facilitator.client,
    stake,
    tiers: () => tierCache.tiers(),
    ledger,
    metrics,
    log,
    identifiersDb: deps.db,
    boundary: deps.settlementBoundary,
  });
  const quoteCache = followingQuoteCache(x402.routeKeys);
  let refreshing: Promise<void> | null = null;
  /** Re-reads the facilitator; when its fee payer changed, x402's tables and the recorded quotes follow. */
  const refresh = (): Promise<void> =>
    (refreshing ??= (async () => {
      try {
        if (chosen && (await chosen.refresh())) {
          await x402.reinitialize();
          quoteCache.reset();
          log.info({ feePayer: chosen.feePayer() }, "facilitator changed: quotes follow its fee payer");
        }
      } catch (err) {
        log.warn({ err: (err as Error).message }, "facilitator refresh failed; keeping the last answer");
      } finally {
        refreshing = null;
      }
    })());
  onStale = () => void refresh();
  const refreshTimer = setInterval(() => void refresh(), config.x402.facilitatorRefreshSeconds * 1000);
  refreshTimer.unref();
  const entry = createPaywallEntry({ config, x402, quoteCache, stake, metrics });

  const plugin = ((app: Express) => {
    addReadinessProbe(app, stakeDataProbe(tierCache));
    app.use(entry);
    if (config.x402.routes.some((r) => r.method === PREMIUM_ROUTE.method && r.path === PREMIUM_ROUTE.path)) {
      app.get(PREMIUM_ROUTE.path, premiumHandler());
    }
    const network = config.x402.network as Network;
    log.info({ routes: x402.routeKeys, facilitator: facilitator.describe, network, payTo: config.x402.payTo, pool }, "x402 paywall mounted");
  }) as PaywallPlugin;

  Object.defineProperties(plugin, {
    tierCache: { value: tierCache },
    ledger: { value: ledger },
    quoteCache: { value: quoteCache },
  });
  // Ready once the facilitator answers and the table is loaded. The indexer's first heartbeat is awaited
  // for at most the staleness bound (a running indexer beats within it); without it the API starts anyway
  // and quotes full prices until one arrives: never open, but never down because the indexer is not up yet.
  plugin.ready = async (timeoutMs = 10_000) => {
    await facilitatorAnswers(facilitator.client, timeoutMs);
    await tierCache.whenLoaded(timeoutMs);
    const graceMs = Math.min(timeoutMs, tierCache.status().maxAgeMs);
    if (graceMs <= 0) return;
    try {
      await tierCache.whenHealthy(graceMs);
    } catch {
      log.warn({ maxAgeMs: tierCache.status().maxAgeMs }, "no heartbeat from the indexer yet: quoting full prices until it proves alive");
    }
  };
  plugin.status = () => ({ tierCache: tierCache.status(), pendingLedgerWrites: ledger.pendingCompletions(), facilitator: facilitator.describe });
  plugin.refreshFacilitator = refresh;
  plugin.close = async () => {
    clearInterval(refreshTimer);
    await refreshing;
    await tierCache.close();
    await ledger.close();
  };
  return plugin;
}
