/**
 * The x402 paywall as an app plugin: paid routes from configuration (x402 v2, Solana exact, USDC) priced per
 * payer from the tier cache, the usage ledger, CORS for browser clients, the demo premium route and the
 * revenue endpoints.
 *
 * Request path of a paid route: entry (CORS, PAYMENT-SIGNATURE parsed or a 400, request state opened) ->
 * @x402/express (price function, verify hooks, handler, settle hooks) -> handler. An unpaid request whose
 * price decision x402 has already answered for the same route is replayed from the quote cache instead
 * (see quote-cache.ts): the same status, headers and body, without running x402 again.
 */
import cors from "cors";
import type { Express, NextFunction, Request, RequestHandler, Response } from "express";
import type { Kysely } from "kysely";
import pg from "pg";
import type { Registry } from "prom-client";
import { ExpressAdapter, paymentMiddlewareFromHTTPServer, x402HTTPResourceServer, x402ResourceServer } from "@x402/express";
import type { FacilitatorClient, HTTPRequestContext, RouteConfig, RoutesConfig } from "@x402/core/server";
import type { Network, Price } from "@x402/core/types";
import { ExactSvmScheme } from "@x402/svm/exact/server";
import type { Config, PaidRoute } from "../../src/config.ts";
import type { TierMatch } from "../../src/domain/tiers.ts";
import type { Database } from "../../src/db/schema.ts";
import { describeError } from "../../src/errors.ts";
import type { Logger } from "../../src/log.ts";
import { stakePoolPda } from "../../src/solana/program.ts";
import { HttpError } from "../errors.ts";
import { revenueRoutes } from "../revenue/routes.ts";
import { walletProblem } from "../../src/domain/wallet.ts";
import { readKeypairFile } from "../../src/solana/keypair-file.ts";
import { createHostedFacilitator, createInProcessFacilitator } from "./facilitator.ts";
import { createPaywallMetrics, type PaywallMetrics } from "./metrics.ts";
import { parsePaymentHeader } from "./payment-header.ts";
import { premiumHandler } from "./premium.ts";
import { fullPrice, priceForSignedAmount, priceForTier, type PriceDecision } from "./price.ts";
import { createQuoteBodies, stakingHintJson, type Quote, type QuoteBody, type QuoteContext } from "./quote-body.ts";
import { createQuoteCache, watchAnswer, type QuoteCache } from "./quote-cache.ts";
import { newRequestState, paywallRequests } from "./request-state.ts";
import { createTierCache, type TierCache, type TierCacheOptions, type TierCacheStatus } from "./tier-cache.ts";
import { createUsageLedger, type UsageLedger } from "./usage-ledger.ts";

export const WALLET_HINT_HEADER = "x-wallet-address";
/** The demo route with a handler of its own. Other configured routes protect handlers mounted elsewhere. */
export const PREMIUM_ROUTE = { method: "GET", path: "/api/premium" } as const;
/** How long a settled payment's key stays in the in-process duplicate guard (past any blockhash's life). */
const SETTLED_KEY_TTL_MS = 10 * 60_000;

export interface PaywallDeps {
  config: Config;
  db: Kysely<Database>;
  /** The database the tier cache opens its own LISTEN connection to (the same one as `db`). */
  database: { url: string; schema?: string };
  logger: Logger;
  /** The process's Prometheus registry, if any; the paywall registers its series on it. */
  metrics?: Registry;
  /** Replaces the facilitator chosen from configuration. */
  facilitator?: FacilitatorClient;
  tierCache?: Pick<TierCacheOptions, "reconnectMinMs" | "reconnectMaxMs" | "reloadIntervalMs">;
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
  close(): Promise<void>;
}

/** Keys of payments settling or settled in this process: refuses a duplicate before any await. */
function createSettledKeys() {
  const keys = new Map<string, number>();
  return {
    /** False when the key is already held; otherwise holds it. */
    hold(key: string, now = Date.now()): boolean {
      for (const [k, expires] of keys) {
        if (expires > now) break;
        keys.delete(k);
      }
      if (keys.has(key)) return false;
      keys.set(key, now + SETTLED_KEY_TTL_MS);
      return true;
    },
    has: (key: string) => (keys.get(key) ?? 0) > Date.now(),
    drop: (key: string) => void keys.delete(key),
  };
}

function chooseFacilitator(deps: PaywallDeps, network: Network): { client: FacilitatorClient; describe: string } {
  if (deps.facilitator) return { client: deps.facilitator, describe: "provided" };
  const { x402, solana } = deps.config;
  if (x402.facilitatorUrl) return { client: createHostedFacilitator({ url: x402.facilitatorUrl }), describe: `hosted ${x402.facilitatorUrl}` };
  const secretKey = readKeypairFile(x402.facilitatorKeypairPath, "facilitator keypair");
  return { client: createInProcessFacilitator({ secretKey, rpcUrl: solana.rpcUrl, network }), describe: `in-process against ${solana.rpcUrl}` };
}

export function createPaywallPlugin(deps: PaywallDeps): PaywallPlugin {
  const { config, logger } = deps;
  const log = logger.child({ component: "paywall" });
  const network = config.x402.network as Network;
  const usdcMint = config.solana.usdcMint;
  const payTo = config.x402.payTo;
  const pool = stakePoolPda(config.solana.programId, config.solana.kamiyoMint)[0].toBase58();
  const metrics: PaywallMetrics | null = deps.metrics ? createPaywallMetrics(deps.metrics) : null;

  const tierCache = createTierCache({
    pool,
    tiers: config.tiers,
    logger: log,
    ...deps.tierCache,
    connect: () =>
      new pg.Client({
        connectionString: deps.database.url,
        keepAlive: true,
        application_name: "kamiyo-stake tier-cache",
        ...(deps.database.schema !== undefined ? { options: `-c search_path=${deps.database.schema}` } : {}),
      }),
  });
  const ledger = createUsageLedger({ db: deps.db, logger: log });
  const settledKeys = createSettledKeys();
  const facilitator = chooseFacilitator(deps, network);
  metrics?.observe(() => ({ tierCache: tierCache.status(), pendingLedgerWrites: ledger.pendingCompletions() }));

  // x402 copies a Price and never changes it, so one frozen object per amount serves every request.
  const priceObjects = new Map<bigint, Price>();
  const asPrice = (amount: bigint): Price => {
    let p = priceObjects.get(amount);
    if (!p) priceObjects.set(amount, (p = Object.freeze({ amount: amount.toString(), asset: usdcMint })));
    return p;
  };

  /** What a route costs at the full price and in each tier, computed once per route (decisions are never mutated). */
  const pricesFor = (route: PaidRoute) => {
    const full = fullPrice(route.price);
    const byTier = new Map<string, PriceDecision>();
    return {
      full,
      forTier(tier: TierMatch): PriceDecision {
        let d = byTier.get(tier.name);
        if (!d) byTier.set(tier.name, (d = priceForTier(route.price, tier)));
        return d;
      },
    };
  };

  // Hints already found to be addresses, so a returning client's hint is not base58-decoded again.
  const validHints = new Set<string>();
  const hintProblem = (hint: string): string | null => {
    if (validHints.has(hint) || tierCache.has(hint)) return null;
    const problem = walletProblem(hint);
    if (problem === null) {
      if (validHints.size >= 50_000) validHints.clear();
      validHints.add(hint);
    }
    return problem;
  };

  /** The unpaid quote: the hinted wallet's discount when stake data can be trusted, else the full price. */
  const quoteFor = (prices: ReturnType<typeof pricesFor>, hint: string | undefined): { decision: PriceDecision; quote: Quote } => {
    if (hint === undefined || hint === "") return { decision: prices.full, quote: { basis: "no_hint", wallet: null } };
    const problem = hintProblem(hint);
    if (problem !== null) return { decision: prices.full, quote: { basis: "invalid_hint", wallet: null, note: `${WALLET_HINT_HEADER}: ${problem}` } };
    const tier = tierCache.lookup(hint);
    if (tier === null) {
      return { decision: prices.full, quote: { basis: "stake_data_unavailable", wallet: hint, note: "stake data is being reloaded; full price until then" } };
    }
    return { decision: prices.forTier(tier), quote: { basis: "wallet_hint", wallet: hint } };
  };

  /** Per route: its prices and its 402 bodies (shared by x402's unpaidResponseBody and the quote cache). */
  const quoting = new Map<PaidRoute, { prices: ReturnType<typeof pricesFor>; quoteBody: (decision: PriceDecision, quote: Quote) => QuoteBody }>();

  const routeConfig = (route: PaidRoute): RouteConfig => {
    const quoteContext: QuoteContext = { route, usdcMint, network, payTo, hint: stakingHintJson(route, config.tiers, config.x402.stakingUrl) };
    const quoteBody = createQuoteBodies(quoteContext);
    const prices = pricesFor(route);
    quoting.set(route, { prices, quoteBody });
    const fullAmount = asPrice(route.price);
    return {
      accepts: {
        scheme: "exact",
        network,
        payTo,
        maxTimeoutSeconds: config.x402.maxTimeoutSeconds,
        // Runs on the unpaid request (to quote) and on the paid one (to rebuild what must have been signed).
        price: (ctx: HTTPRequestContext): Price => {
          const state = paywallRequests.getStore();
          if (!state) return fullAmount; // not through the entry middleware: never discounted
          state.route = route;
          if (state.payment) {
            // Priced by the payer recovered from the payment; the hint header plays no part.
            const decision = priceForSignedAmount(route.price, state.payment.signedAmount, tierCache.lookup(state.payment.payer));
            state.decision = decision;
            if (!decision) metrics?.rejections.inc({ reason: "amount_not_offered_to_payer" });
            return decision ? asPrice(decision.amount) : fullAmount;
          }
          const q = quoteFor(prices, ctx.adapter.getHeader(WALLET_HINT_HEADER));
          state.decision = q.decision;
          state.quote = q.quote;
          metrics?.quotes.inc({ basis: q.quote.basis });
          return asPrice(q.decision.amount);
        },
      },
      resource: `${config.publicUrl.replace(/\/+$/, "")}${route.path}`,
      description: route.description,
      mimeType: "application/json",
      unpaidResponseBody: (ctx) => {
        const state = paywallRequests.getStore();
        const q = state?.decision && state.quote ? { decision: state.decision, quote: state.quote } : quoteFor(prices, ctx.adapter.getHeader(WALLET_HINT_HEADER));
        return { contentType: "application/json", body: quoteBody(q.decision, q.quote) };
      },
      settlementFailedResponseBody: (_ctx, failure) => ({
        contentType: "application/json",
        body: {
          error: failure.errorReason === "duplicate_payment" ? "duplicate_payment" : "settlement_failed",
          message:
            failure.errorReason === "duplicate_payment"
              ? "this payment has already been used; sign a new one"
              : `the payment could not be settled (${failure.errorReason}); no content is served`,
        },
      }),
    };
  };

  const routes: RoutesConfig = Object.fromEntries(config.x402.routes.map((r) => [`${r.method} ${r.path}`, routeConfig(r)]));
  // No rpcUrl: the requirements carry no recent blockhash, so an unpaid answer depends only on route and price
  // (which the quote cache relies on).
  const resourceServer = new x402ResourceServer(facilitator.client).register(network, new ExactSvmScheme());

  resourceServer.onBeforeVerify(async ({ requirements }) => {
    const state = paywallRequests.getStore();
    if (!state?.payment || !state.decision) return { abort: true, reason: "payment_context_missing" };
    if (requirements.amount !== state.decision.amount.toString()) return { abort: true, reason: "price_mismatch" };
    const key = state.payment.paymentKey;
    if (settledKeys.has(key) || (await ledger.isSettled(key)) === true) {
      metrics?.rejections.inc({ reason: "duplicate_payment" });
      return { abort: true, reason: "duplicate_payment", message: "this payment has already been used; sign a new one" };
    }
    return undefined;
  });

  resourceServer.onBeforeSettle(async ({ requirements }) => {
    const state = paywallRequests.getStore();
    if (!state?.payment || !state.decision || !state.route) return { abort: true, reason: "payment_context_missing" };
    if (requirements.amount !== state.decision.amount.toString()) return { abort: true, reason: "price_mismatch" };
    const key = state.payment.paymentKey;
    // In-process first, before any await: two requests carrying one payment cannot both pass.
    if (!settledKeys.hold(key)) {
      metrics?.rejections.inc({ reason: "duplicate_payment" });
      return { abort: true, reason: "duplicate_payment", message: "this payment is already being settled" };
    }
    state.guarded = true;
    const outcome = await ledger.reserve({
      paymentKey: key,
      payer: state.payment.payer,
      endpoint: state.route.path,
      method: state.route.method,
      statusCode: state.res.statusCode,
      amountCharged: state.decision.amount,
      originalAmount: state.decision.original,
      discountTier: state.decision.tier,
      discountBps: state.decision.discountBps,
      savings: state.decision.savings,
      network: requirements.network,
      asset: requirements.asset,
      payTo: requirements.payTo,
    });
    if (outcome === "duplicate") {
      settledKeys.drop(key);
      state.guarded = false;
      metrics?.rejections.inc({ reason: "duplicate_payment" });
      return { abort: true, reason: "duplicate_payment", message: "this payment has already been used; sign a new one" };
    }
    state.reserved = outcome === "reserved";
    // "unavailable": the ledger cannot be written. The payment still settles (the content is paid for), guarded
    // against duplicates in this process only, and its row is written once the database is back.
    if (outcome === "unavailable") log.warn({ paymentKey: key }, "settling without a ledger reservation (database unavailable)");
    return undefined;
  });

  resourceServer.onAfterSettle(async ({ result, requirements }) => {
    const state = paywallRequests.getStore();
    if (!state?.payment || !state.decision || !state.route) {
      log.error({ signature: result.transaction }, "settled a payment without request context; not recorded");
      return;
    }
    metrics?.settled.inc({ tier: state.decision.tier ?? "none" });
    await ledger.complete({
      paymentKey: state.payment.paymentKey,
      payer: result.payer ?? state.payment.payer,
      endpoint: state.route.path,
      method: state.route.method,
      statusCode: state.res.statusCode,
      settlementSignature: result.transaction,
      amountCharged: state.decision.amount,
      originalAmount: state.decision.original,
      discountTier: state.decision.tier,
      discountBps: state.decision.discountBps,
      savings: state.decision.savings,
      responseTimeMs: Math.max(0, Math.round(performance.now() - state.startedAt)),
      network: requirements.network,
      asset: requirements.asset,
      payTo: requirements.payTo,
      settledAt: new Date(),
    });
  });

  resourceServer.onSettleFailure(async ({ error }) => {
    const state = paywallRequests.getStore();
    if (!state?.payment) return;
    metrics?.rejections.inc({ reason: "settlement_failed" });
    const transaction = (error as { transaction?: unknown }).transaction;
    log.warn(
      { paymentKey: state.payment.paymentKey, err: describeError(error), ...(typeof transaction === "string" && transaction ? { transaction } : {}) },
      "payment settlement failed; no content served",
    );
    if (state.guarded) settledKeys.drop(state.payment.paymentKey);
    if (state.reserved) await ledger.release(state.payment.paymentKey);
    state.guarded = false;
    state.reserved = false;
  });

  const httpServer = new x402HTTPResourceServer(resourceServer, routes);
  const x402 = paymentMiddlewareFromHTTPServer(httpServer, undefined, undefined, true);

  const corsOrigins = config.x402.corsOrigins;
  const corsMiddleware = cors({
    origin: corsOrigins.includes("*") ? "*" : corsOrigins,
    methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
    allowedHeaders: ["PAYMENT-SIGNATURE", WALLET_HINT_HEADER, "Content-Type", "Access-Control-Expose-Headers"],
    exposedHeaders: ["PAYMENT-REQUIRED", "PAYMENT-RESPONSE", "x-request-id"],
    maxAge: 600,
  });

  // The configured routes verbatim answer at once; anything else (other routes, or a paid path spelled
  // differently) is matched the way @x402/express will match it.
  const exactRoutes = new Set(config.x402.routes.map((r) => `${r.method} ${r.path}`));
  const quoteCache = createQuoteCache(exactRoutes);
  const isPaid = (req: Request, method: string): boolean =>
    exactRoutes.has(`${method} ${req.path}`) || httpServer.requiresPayment({ adapter: new ExpressAdapter(req), path: req.path, method });

  /** Entry for every request: paid routes (and their CORS preflights) go through the paywall, others pass. */
  const entry: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    if (req.method === "OPTIONS") {
      const requested = req.header("access-control-request-method");
      if (requested && isPaid(req, requested)) return corsMiddleware(req, res, next);
      return next();
    }
    if (!isPaid(req, req.method)) return next();
    // CORS headers matter only to browsers, which always send Origin on a cross-origin request.
    if (req.headers.origin === undefined) return paid(req, res, next);
    corsMiddleware(req, res, (err?: unknown) => (err ? next(err) : paid(req, res, next)));
  };

  /** A paid-route request: its PAYMENT-SIGNATURE read (or refused with a 400), then x402 in its own request state. */
  const paid = (req: Request, res: Response, next: NextFunction) => {
    const header = req.headers["payment-signature"];
    let payment = null;
    if (header !== undefined) {
      const parsed = typeof header === "string" ? parsePaymentHeader(header) : ({ ok: false, reason: "PAYMENT-SIGNATURE must be sent once" } as const);
      if (!parsed.ok) {
        metrics?.rejections.inc({ reason: "invalid_payment_signature" });
        return next(new HttpError("invalid_input", "invalid_payment_signature", parsed.reason));
      }
      payment = parsed.payment;
    } else if (req.headers["x-payment"] !== undefined) {
      return next(new HttpError("invalid_input", "unsupported_payment_header", "X-PAYMENT (x402 v1) is not accepted; send PAYMENT-SIGNATURE (x402 v2)"));
    }
    if (payment === null) {
      const key = `${req.method} ${req.path}`;
      // Browsers (Accept: text/html) may get x402's HTML paywall instead: never cached.
      if (exactRoutes.has(key) && !(req.header("accept") ?? "").includes("text/html")) return quoteFromCache(req, res, next, key);
    }
    paywallRequests.run(newRequestState(res, payment), () => {
      x402(req, res, next).catch(next);
    });
  };

  /**
   * An unpaid request on a configured route: priced exactly as x402's price function would, then the answer
   * x402 gave for that route and decision, replayed; or, the first time, x402's own answer, recorded.
   */
  const quoteFromCache = (req: Request, res: Response, next: NextFunction, key: string) => {
    const slot = quoteCache.slot(key);
    const rq = slot && quoting.get(slot.route);
    if (slot && rq) {
      const q = quoteFor(rq.prices, new ExpressAdapter(req).getHeader(WALLET_HINT_HEADER));
      const answer = slot.answers.get(q.decision);
      if (answer) {
        metrics?.quotes.inc({ basis: q.quote.basis });
        try {
          // What @x402/express does with an unpaid answer: status, its headers in order, the JSON body.
          res.status(answer.status);
          for (const [name, value] of answer.headers) res.setHeader(name, value);
          res.json(rq.quoteBody(q.decision, q.quote));
        } catch (err) {
          next(err);
        }
        return;
      }
    }
    const state = newRequestState(res, null);
    paywallRequests.run(state, () => {
      const unwatch = watchAnswer(res, (answer) => {
        // Only a 402 quote priced by our price function in this request (so its decision is the key).
        if (answer.status !== 402 || !state.route || !state.decision || !state.quote) return;
        if (!answer.headers.some(([name]) => name.toLowerCase() === "payment-required")) return;
        quoteCache.store(key, state.route, state.decision, answer);
      });
      x402(req, res, next).catch(next).finally(unwatch);
    });
  };

  const plugin = ((app: Express) => {
    app.use(entry);
    if (config.x402.routes.some((r) => r.method === PREMIUM_ROUTE.method && r.path === PREMIUM_ROUTE.path)) {
      app.get(PREMIUM_ROUTE.path, premiumHandler());
    }
    app.use(revenueRoutes({ db: deps.db, adminKey: config.adminApiKey }));
    log.info({ routes: Object.keys(routes), facilitator: facilitator.describe, network, payTo, pool }, "x402 paywall mounted");
  }) as PaywallPlugin;

  Object.defineProperties(plugin, {
    tierCache: { value: tierCache },
    ledger: { value: ledger },
    quoteCache: { value: quoteCache },
  });
  plugin.ready = async (timeoutMs = 10_000) => {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`facilitator did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([facilitator.client.getSupported(), timedOut]);
    } finally {
      clearTimeout(timer);
    }
    await tierCache.whenHealthy(timeoutMs);
  };
  plugin.status = () => ({ tierCache: tierCache.status(), pendingLedgerWrites: ledger.pendingCompletions(), facilitator: facilitator.describe });
  plugin.close = async () => {
    await tierCache.close();
    await ledger.close();
  };
  return plugin;
}
