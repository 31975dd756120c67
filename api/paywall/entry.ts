/**
 * The paywall's entry middleware, in front of every route: paid routes (and their CORS preflights) go
 * through the paywall, everything else passes. A paid request's PAYMENT-SIGNATURE is parsed (or refused
 * with a 400) and x402 runs in the request's own paywall state. An unpaid request on a configured route
 * whose price decision x402 has already answered is replayed from the quote cache instead (see
 * quote-cache.ts): the same status, headers and body, without running x402 again.
 */
import cors from "cors";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { ExpressAdapter } from "@x402/express";
import type { Config } from "../../src/config.ts";
import { quoteUnpaid, WALLET_HINT_HEADER, type StakeView } from "../../src/domain/quote.ts";
import { HttpError } from "../errors.ts";
import type { PaywallMetrics } from "./metrics.ts";
import { V1_REFUSAL } from "./quote-body.ts";
import { parsePaymentHeader, type ParsedPayment } from "./payment-header.ts";
import { watchAnswer, type QuoteCache } from "./quote-cache.ts";
import { newRequestState, paywallRequests } from "./request-state.ts";
import type { X402Server } from "./x402-server.ts";

export interface PaywallEntryDeps {
  config: Config;
  x402: X402Server;
  quoteCache: QuoteCache;
  stake: StakeView;
  metrics: PaywallMetrics | null;
}

function paywallCors(origins: readonly string[]): RequestHandler {
  return cors({
    origin: origins.includes("*") ? "*" : [...origins],
    methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
    allowedHeaders: ["PAYMENT-SIGNATURE", WALLET_HINT_HEADER, "Content-Type", "Access-Control-Expose-Headers"],
    exposedHeaders: ["PAYMENT-REQUIRED", "PAYMENT-RESPONSE", "x-request-id"],
    maxAge: 600,
  });
}

/** The request's payment (null when unpaid), or the 400 it gets. */
function readPayment(req: Request, metrics: PaywallMetrics | null): ParsedPayment | null | HttpError | "v1" {
  const header = req.headers["payment-signature"];
  if (header !== undefined) {
    const parsed = typeof header === "string" ? parsePaymentHeader(header) : ({ ok: false, reason: "PAYMENT-SIGNATURE must be sent once" } as const);
    if (parsed.ok) return parsed.payment;
    metrics?.rejections.inc({ reason: "invalid_payment_signature" });
    return new HttpError("invalid_input", "invalid_payment_signature", parsed.reason);
  }
  if (req.headers["x-payment"] !== undefined) return "v1";
  return null;
}

/**
 * A v1 payment (X-PAYMENT): refused with a 402 a v1 client can parse (its version, an `error`, no
 * requirements it could pay), so it reports the refusal instead of crashing. Nothing was settled.
 */
function refuseV1(res: Response, metrics: PaywallMetrics | null): void {
  metrics?.rejections.inc({ reason: "x402_v1_payment" });
  res.status(402).set("Cache-Control", "no-store").json({ x402Version: 1, error: V1_REFUSAL, accepts: [] });
}

export function createPaywallEntry(deps: PaywallEntryDeps): RequestHandler {
  const { x402, quoteCache, metrics } = deps;
  const corsMiddleware = paywallCors(deps.config.x402.corsOrigins);
  // The configured routes verbatim answer at once; anything else (other routes, or a paid path spelled
  // differently) is matched the way @x402/express will match it.
  const exactRoutes = new Set(x402.routeKeys);
  const isPaid = (req: Request, method: string): boolean => exactRoutes.has(`${method} ${req.path}`) || x402.requiresPayment(req, method);

  /**
   * An unpaid request on a configured route: priced exactly as x402's price function would, then the answer
   * x402 gave for that route and decision, replayed; or, the first time, x402's own answer, recorded.
   */
  const quoteFromCache = (req: Request, res: Response, next: NextFunction, key: string) => {
    const slot = quoteCache.slot(key);
    const rq = slot && x402.quoting.get(slot.route);
    if (slot && rq) {
      const q = quoteUnpaid(rq.prices, new ExpressAdapter(req).getHeader(WALLET_HINT_HEADER), deps.stake);
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
      x402.middleware(req, res, next).catch(next).finally(unwatch);
    });
  };

  /** A paid-route request: its PAYMENT-SIGNATURE read (or refused with a 400), then x402 in its own request state. */
  const paid = (req: Request, res: Response, next: NextFunction) => {
    const payment = readPayment(req, metrics);
    if (payment instanceof HttpError) return next(payment);
    if (payment === "v1") return refuseV1(res, metrics);
    if (payment === null) {
      const key = `${req.method} ${req.path}`;
      // Browsers (Accept: text/html) may get x402's HTML paywall instead: never cached.
      if (exactRoutes.has(key) && !(req.header("accept") ?? "").includes("text/html")) return quoteFromCache(req, res, next, key);
    }
    paywallRequests.run(newRequestState(res, payment), () => {
      x402.middleware(req, res, next).catch(next);
    });
  };

  return (req, res, next) => {
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
}
