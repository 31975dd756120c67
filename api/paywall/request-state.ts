/**
 * What the paywall knows about the paid-route request being handled, carried through @x402/express (which
 * calls our price function and resource-server hooks without passing the request along) by an
 * AsyncLocalStorage that the paywall's entry middleware opens around each paid-route request.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Response } from "express";
import type { PaidRoute } from "../../src/config.ts";
import type { ParsedPayment } from "./payment-header.ts";
import type { PriceDecision, Quote } from "../../src/domain/quote.ts";

export interface PaywallRequestState {
  /** performance.now() when the paywall first saw the request. */
  startedAt: number;
  res: Response;
  /** The parsed PAYMENT-SIGNATURE, or null on an unpaid request. */
  payment: ParsedPayment | null;
  /** Set by the price function: the route and what this request is charged (null when no price matches what was signed). */
  route: PaidRoute | null;
  decision: PriceDecision | null;
  /** Set by the price function on an unpaid request: how the quote was priced. */
  quote: Quote | null;
  /** This request inserted the payment's ledger reservation (and must release it if settlement fails). */
  reserved: boolean;
  /** This request holds the payment's in-process duplicate guard. */
  guarded: boolean;
}

export const paywallRequests = new AsyncLocalStorage<PaywallRequestState>();

export function newRequestState(res: Response, payment: ParsedPayment | null): PaywallRequestState {
  return { startedAt: performance.now(), res, payment, route: null, decision: null, quote: null, reserved: false, guarded: false };
}
