/**
 * The x402 glue: one x402 route per configured paid route, priced per request by the pure quoting in
 * src/domain/quote.ts, an x402ResourceServer with the Solana exact scheme and the settlement guard, and
 * @x402/express's middleware over it. The price function reads and fills the request's paywall state (see
 * request-state.ts), since x402 calls it without the request.
 */
import type { Request, RequestHandler } from "express";
import { ExpressAdapter, paymentMiddlewareFromHTTPServer, x402HTTPResourceServer, x402ResourceServer } from "@x402/express";
import type { FacilitatorClient, HTTPRequestContext, RouteConfig } from "@x402/core/server";
import type { Network, Price } from "@x402/core/types";
import { ExactSvmScheme } from "@x402/svm/exact/server";
import type { Config, PaidRoute } from "../../src/config.ts";
import { createRoutePrices, priceForSignedAmount, quoteUnpaid, WALLET_HINT_HEADER, type PriceDecision, type Quote, type RoutePrices, type StakeView } from "../../src/domain/quote.ts";
import type { Logger } from "../../src/log.ts";
import type { PaywallMetrics } from "./metrics.ts";
import { createQuoteBodies, stakingHintJson, type QuoteBody, type StakingHintJson } from "./quote-body.ts";
import type { DiscountTier } from "../../src/domain/tiers.ts";
import { paywallRequests } from "./request-state.ts";
import { guardSettlement, type SettlementBoundary } from "./settlement-guard.ts";
import { declarePaymentIdentifierExtension, PAYMENT_IDENTIFIER, paymentIdentifierResourceServerExtension } from "@x402/extensions/payment-identifier";
import type { Kysely } from "kysely";
import type { Database } from "../../src/db/schema.ts";
import { withPaymentIdentifiers } from "./payment-identity.ts";
import type { UsageLedger } from "./usage-ledger.ts";

/** One paid route's prices and its 402 bodies (shared by x402's unpaidResponseBody and the quote cache). */
export interface RouteQuoting {
  prices: RoutePrices;
  quoteBody(decision: PriceDecision, quote: Quote): QuoteBody;
}

export interface X402ServerDeps {
  config: Config;
  facilitator: FacilitatorClient;
  stake: StakeView;
  /** The tier table in effect (the tier cache's), for the staking hint's table of prices. */
  tiers: () => readonly DiscountTier[];
  ledger: UsageLedger;
  metrics: PaywallMetrics | null;
  log: Logger;
  /** Where payment identifiers are bound to payments (x402 payment-identifier extension); none without it. */
  identifiersDb?: Kysely<Database> | undefined;
  /** Test seam: called at each settlement boundary (crash tests). */
  boundary?: ((name: SettlementBoundary) => void | Promise<void>) | undefined;
}

export interface X402Server {
  /** @x402/express for one paid-route request; run it inside the request's paywall state. */
  middleware: (...args: Parameters<RequestHandler>) => Promise<void>;
  /** Whether @x402/express would treat `req` with `method` as a paid route. */
  requiresPayment(req: Request, method: string): boolean;
  /** The quoting of each configured route. */
  quoting: ReadonlyMap<PaidRoute, RouteQuoting>;
  /** "METHOD /path" of each configured route. */
  routeKeys: readonly string[];
  /** Rebuilds x402's table of supported kinds from the facilitator (after it rotated its fee payer). */
  reinitialize(): Promise<void>;
}

/** One frozen Price per amount: x402 copies a Price and never changes it. */
function priceObjects(asset: string): (amount: bigint) => Price {
  const cache = new Map<bigint, Price>();
  return (amount) => {
    let p = cache.get(amount);
    if (!p) cache.set(amount, (p = Object.freeze({ amount: amount.toString(), asset })));
    return p;
  };
}

const settlementFailedBody = (errorReason: string) => ({
  contentType: "application/json",
  body: {
    error: errorReason === "duplicate_payment" ? "duplicate_payment" : "settlement_failed",
    message:
      errorReason === "duplicate_payment"
        ? "this payment has already been used; sign a new one"
        : `the payment could not be settled (${errorReason}); no content is served`,
  },
});

function routeConfig(deps: X402ServerDeps, route: PaidRoute, quoting: RouteQuoting, asPrice: (amount: bigint) => Price): RouteConfig {
  const { config, stake, metrics } = deps;
  const network = config.x402.network as Network;
  const fullAmount = asPrice(route.price);
  const hintOf = (ctx: HTTPRequestContext) => ctx.adapter.getHeader(WALLET_HINT_HEADER);
  return {
    accepts: {
      scheme: "exact",
      network,
      payTo: config.x402.payTo,
      maxTimeoutSeconds: config.x402.maxTimeoutSeconds,
      // Runs on the unpaid request (to quote) and on the paid one (to rebuild what must have been signed).
      price: (ctx: HTTPRequestContext): Price => {
        const state = paywallRequests.getStore();
        if (!state) return fullAmount; // not through the entry middleware: never discounted
        state.route = route;
        if (state.payment) {
          // Priced by the payer recovered from the payment; the hint header plays no part.
          const decision = priceForSignedAmount(route.price, state.payment.signedAmount, stake.tierOf(state.payment.payer));
          state.decision = decision;
          if (!decision) metrics?.rejections.inc({ reason: "amount_not_offered_to_payer" });
          return decision ? asPrice(decision.amount) : fullAmount;
        }
        const q = quoteUnpaid(quoting.prices, hintOf(ctx), stake);
        state.decision = q.decision;
        state.quote = q.quote;
        metrics?.quotes.inc({ basis: q.quote.basis });
        return asPrice(q.decision.amount);
      },
    },
    resource: `${config.publicUrl.replace(/\/+$/, "")}${route.path}`,
    description: route.description,
    mimeType: "application/json",
    // Optional for clients: one that sends an id gets its paid answer again on a retry (payment-identity.ts).
    ...(deps.identifiersDb ? { extensions: { [PAYMENT_IDENTIFIER]: declarePaymentIdentifierExtension(false) } } : {}),
    unpaidResponseBody: (ctx) => {
      const state = paywallRequests.getStore();
      const q = state?.decision && state.quote ? { decision: state.decision, quote: state.quote } : quoteUnpaid(quoting.prices, hintOf(ctx), stake);
      return { contentType: "application/json", body: quoting.quoteBody(q.decision, q.quote) };
    },
    settlementFailedResponseBody: (_ctx, failure) => settlementFailedBody(failure.errorReason),
  };
}

export function createX402Server(deps: X402ServerDeps): X402Server {
  const { config } = deps;
  const network = config.x402.network as Network;
  const asPrice = priceObjects(config.solana.usdcMint);
  const quoting = new Map<PaidRoute, RouteQuoting>();
  const routes: Record<string, RouteConfig> = {};
  for (const route of config.x402.routes) {
    // Rebuilt only when the table in effect is replaced (its identity changes with each published table).
    let hinted: { tiers: readonly DiscountTier[]; json: StakingHintJson } | null = null;
    const hint = (): StakingHintJson => {
      const tiers = deps.tiers();
      if (hinted?.tiers !== tiers) hinted = { tiers, json: stakingHintJson(route, tiers, config.x402.stakingUrl) };
      return hinted.json;
    };
    const q: RouteQuoting = {
      prices: createRoutePrices(route.price),
      quoteBody: createQuoteBodies({ route, usdcMint: config.solana.usdcMint, network, payTo: config.x402.payTo, hint }),
    };
    quoting.set(route, q);
    routes[`${route.method} ${route.path}`] = routeConfig(deps, route, q, asPrice);
  }
  // No rpcUrl: the requirements carry no recent blockhash, so an unpaid answer depends only on route and price
  // (which the quote cache relies on).
  const resourceServer = new x402ResourceServer(deps.facilitator).register(network, new ExactSvmScheme());
  guardSettlement(resourceServer, { ledger: deps.ledger, metrics: deps.metrics, log: deps.log, boundary: deps.boundary });
  if (deps.identifiersDb) resourceServer.registerExtension(paymentIdentifierResourceServerExtension);
  const httpServer = new x402HTTPResourceServer(resourceServer, routes);
  return {
    middleware: deps.identifiersDb
      ? withPaymentIdentifiers(paymentMiddlewareFromHTTPServer(httpServer, undefined, undefined, true), { db: deps.identifiersDb, log: deps.log, metrics: deps.metrics, routes: config.x402.routes })
      : paymentMiddlewareFromHTTPServer(httpServer, undefined, undefined, true),
    requiresPayment: (req, method) => httpServer.requiresPayment({ adapter: new ExpressAdapter(req), path: req.path, method }),
    quoting,
    routeKeys: Object.keys(routes),
    reinitialize: () => httpServer.initialize(),
  };
}
