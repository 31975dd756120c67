/**
 * x402's payment-identifier extension (@x402/extensions/payment-identifier) in front of @x402/express: a paid
 * request whose payment carries an identifier is bound to that payment in Postgres (payment_identifiers).
 *  - same identifier, same payment, already answered: the stored paid answer is given again (the same status,
 *    body and PAYMENT-RESPONSE), and nothing is verified or settled;
 *  - same identifier, another payment: 409 payment_identifier_conflict;
 *  - same identifier, same payment, settled but its answer never stored (the process died between settlement
 *    and storing it, or the database refused the answer; the row may have been completed by the ledger
 *    reconciler): the route's handler runs again in the settled payment's terms (price decision from its ledger
 *    row), with a PAYMENT-RESPONSE rebuilt from that row (success, its transaction, network, payer), and nothing
 *    is verified or settled. Only when the identifier was bound before the payment was reserved: an id attached
 *    later to an already taken payment (whose transaction anyone can read on chain) gets duplicate_payment;
 *  - first use (or an earlier attempt that is not settled): x402 runs as usual, and the paid answer is stored
 *    before it is sent, so a client whose response was lost gets it on its retry.
 * A payment without an identifier is untouched (a replay is still duplicate_payment). If the database cannot be
 * asked, the request goes on without idempotency: the settlement guard still refuses a second settlement.
 */
import type { NextFunction, Request, Response } from "express";
import type { Kysely } from "kysely";
import { encodePaymentResponseHeader } from "@x402/core/http";
import type { Network } from "@x402/core/types";
import { extractPaymentIdentifier, isValidPaymentId } from "@x402/extensions/payment-identifier";
import type { PaidRoute } from "../../src/config.ts";
import { createPaymentIdentifiersRepository, type PaidAnswer, type SettledPayment } from "../../src/db/repositories/payment-identifiers.ts";
import type { Database } from "../../src/db/schema.ts";
import { describeError } from "../../src/errors.ts";
import type { Logger } from "../../src/log.ts";
import { HttpError } from "../errors.ts";
import type { PaywallMetrics } from "./metrics.ts";
import { paywallRequests } from "./request-state.ts";

type Middleware = (req: Request, res: Response, next: NextFunction) => Promise<void>;

const PAYMENT_RESPONSE = "PAYMENT-RESPONSE";

/** Holds the response's writes until its end; a paid answer (2xx with PAYMENT-RESPONSE) is stored, then everything is sent. */
function storeBeforeSending(res: Response, store: (answer: PaidAnswer) => Promise<void>): void {
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => Response;
  const held: unknown[][] = [];
  const chunks: Buffer[] = [];
  const collect = (chunk: unknown, encoding: unknown) => {
    if (typeof chunk === "string") chunks.push(Buffer.from(chunk, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8"));
    else if (chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk));
  };
  res.write = ((...args: unknown[]) => {
    collect(args[0], args[1]);
    held.push(args);
    return true;
  }) as Response["write"];
  res.end = ((...args: unknown[]) => {
    if (typeof args[0] !== "function") collect(args[0], args[1]);
    res.write = write as Response["write"];
    res.end = end as Response["end"];
    const paymentResponse = res.getHeader(PAYMENT_RESPONSE);
    const send = () => {
      for (const w of held) write(...w);
      end(...args);
    };
    if (res.statusCode >= 200 && res.statusCode < 300 && typeof paymentResponse === "string") {
      const contentType = res.getHeader("content-type");
      void store({ statusCode: res.statusCode, contentType: typeof contentType === "string" ? contentType : null, body: Buffer.concat(chunks), paymentResponse }).finally(send);
    } else {
      send();
    }
    return res;
  }) as Response["end"];
}

export function withPaymentIdentifiers(
  middleware: Middleware,
  deps: { db: Kysely<Database>; log: Logger; metrics: PaywallMetrics | null; routes: readonly PaidRoute[] },
): Middleware {
  const repo = createPaymentIdentifiersRepository(deps.db);
  return async (req, res, next) => {
    const payment = paywallRequests.getStore()?.payment;
    // The declaration echoed back without an id (what a client that does not use the extension sends) is no id.
    const id = payment ? extractPaymentIdentifier(payment.payload, false) : null;
    if (!payment || id === null) return middleware(req, res, next);
    if (!isValidPaymentId(id)) {
      deps.metrics?.rejections.inc({ reason: "invalid_payment_identifier" });
      return next(new HttpError("invalid_input", "invalid_payment_identifier", "payment-identifier: the id must be 16-128 letters, digits, '-' or '_'"));
    }
    let bound;
    try {
      bound = await repo.claim(id, payment.paymentKey);
    } catch (err) {
      deps.log.warn({ err: describeError(err) }, "payment identifier not checked (database unavailable); the settlement guard still refuses a second settlement");
      return middleware(req, res, next);
    }
    if (bound.paymentKey !== payment.paymentKey) {
      deps.metrics?.rejections.inc({ reason: "payment_identifier_conflict" });
      return next(new HttpError("conflict", "payment_identifier_conflict", "this payment identifier was already used with a different payment"));
    }
    const answer = bound.answer;
    if (answer) {
      deps.log.info({ paymentKey: payment.paymentKey }, "payment identifier retried: the stored paid answer is given again, nothing settles");
      res.status(answer.statusCode);
      if (answer.contentType) res.setHeader("content-type", answer.contentType);
      res.setHeader(PAYMENT_RESPONSE, answer.paymentResponse);
      res.setHeader("cache-control", "private, no-store");
      res.end(answer.body);
      return;
    }
    let settled: SettledPayment | null = null;
    try {
      settled = await repo.settledPayment(id, payment.paymentKey);
    } catch (err) {
      deps.log.warn({ err: describeError(err), paymentKey: payment.paymentKey }, "payment identifier's settlement not checked (database unavailable)");
    }
    const state = paywallRequests.getStore();
    const route = settled && deps.routes.find((r) => r.method === settled.method && r.path === settled.endpoint);
    storeBeforeSending(res, async (a) => {
      try {
        await repo.answer(id, payment.paymentKey, a);
      } catch (err) {
        deps.log.error({ err: describeError(err), paymentKey: payment.paymentKey }, "paid answer not stored for its payment identifier (database unavailable); a retry runs the handler again from the settled row");
      }
    });
    if (settled && route && state && req.method === route.method && req.path === route.path) {
      // Paid and settled for this identifier, answer lost: serve it in the payment's terms, without settling.
      state.route = route;
      state.decision = { amount: settled.amountCharged, original: settled.originalAmount, savings: settled.savings, discountBps: settled.discountBps, tier: settled.discountTier };
      res.setHeader(
        PAYMENT_RESPONSE,
        encodePaymentResponseHeader({ success: true, transaction: settled.settlementSignature, network: settled.network as Network, payer: settled.payer }),
      );
      deps.log.info({ paymentKey: payment.paymentKey, signature: settled.settlementSignature }, "payment identifier retried after a lost answer: the handler runs again for the settled payment, nothing settles");
      return next();
    }
    return middleware(req, res, next);
  };
}
