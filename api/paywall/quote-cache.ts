/**
 * Unpaid quotes served without running @x402/express again for an answer it has already given.
 *
 * For a request without PAYMENT-SIGNATURE on a paid route, what x402 does to the response (status 402 and
 * its headers: Content-Type, PAYMENT-REQUIRED with the base64 requirements, Cache-Control) depends only on the
 * route config and the price the price function returned: the resource URL is configured (never the request's
 * host), no request hooks or extensions are declared, and the SVM scheme server is built without an RPC URL
 * (so the requirements carry no recent blockhash). The JSON body next to it is built by our own quoteBody from
 * the price decision and the quote (basis, hinted wallet, note).
 *
 * So the first answer x402 gives for a (method, path) and a price decision is recorded here exactly as x402
 * set it (status and headers in order), and later requests with the same decision replay it: the same
 * res.status / res.setHeader calls and res.json of the body, as the stock middleware does. The decision
 * comes from the tier cache on every request (an untrusted cache is the full price), so a stake change or a
 * reload immediately selects another recorded answer (or a new recording). Routes and tiers are fixed per
 * process, so entries never go stale; they are bounded by the configured routes times their decisions.
 */
import type { Response } from "express";
import type { PaidRoute } from "../../src/config.ts";
import type { PriceDecision } from "../../src/domain/quote.ts";

/** What x402 did to an unpaid response before serializing its body. */
export interface RecordedAnswer {
  status: number;
  headers: ReadonlyArray<readonly [string, number | string | readonly string[]]>;
}

/** Recorded answers of one (method, path), for the route x402 matched it to. */
export interface QuoteSlot {
  route: PaidRoute;
  answers: Map<PriceDecision, RecordedAnswer>;
}

/** Decisions per route: one full price and one per tier; anything past this is not recorded. */
const MAX_ANSWERS_PER_SLOT = 64;

export interface QuoteCache {
  /** The slot of a configured `${method} ${path}`, once x402 has answered it. */
  slot(key: string): QuoteSlot | undefined;
  /** Records one answer; refused (false) when the key is not configured, the slot belongs to another route, or it is full. */
  store(key: string, route: PaidRoute, decision: PriceDecision, answer: RecordedAnswer): boolean;
  /** Number of recorded answers (tests, diagnostics). */
  readonly size: number;
}

/** A cache for the configured `${method} ${path}` keys only (so it cannot grow with request paths). */
export function createQuoteCache(keys: Iterable<string>): QuoteCache {
  const allowed = new Set(keys);
  const slots = new Map<string, QuoteSlot>();
  let size = 0;
  return {
    slot: (key) => slots.get(key),
    store(key, route, decision, answer) {
      if (!allowed.has(key)) return false;
      let s = slots.get(key);
      if (!s) slots.set(key, (s = { route, answers: new Map() }));
      if (s.route !== route) return false;
      if (s.answers.has(decision)) return true;
      if (s.answers.size >= MAX_ANSWERS_PER_SLOT) return false;
      s.answers.set(decision, answer);
      size++;
      return true;
    },
    get size() {
      return size;
    },
  };
}

/**
 * Watches `res` while x402 answers: the status and every header it sets until it calls res.json. `onJson`
 * gets them when the answer is a JSON body (an HTML paywall, a redirect or an error sent otherwise is not
 * reported). The returned function removes the watch (call it once x402 is done, whatever happened).
 */
export function watchAnswer(res: Response, onJson: (answer: RecordedAnswer) => void): () => void {
  const headers: Array<readonly [string, number | string | readonly string[]]> = [];
  let status: number | null = null;
  let watching = true;
  // What was there before (own properties put back as they were, inherited ones uncovered again).
  const names = ["status", "setHeader", "json"] as const;
  const own = names.map((n) => Object.getOwnPropertyDescriptor(res, n));
  const { status: prevStatus, setHeader: prevSetHeader, json: prevJson } = res;
  const unwatch = () => {
    if (!watching) return;
    watching = false;
    names.forEach((n, i) => {
      const d = own[i];
      if (d) Object.defineProperty(res, n, d);
      else delete (res as Partial<Response>)[n];
    });
  };
  res.status = function (this: Response, code: number) {
    status = code;
    return prevStatus.call(this, code);
  };
  res.setHeader = function (this: Response, name: string, value: number | string | readonly string[]) {
    headers.push([name, value]);
    return prevSetHeader.call(this, name, value);
  } as Response["setHeader"];
  res.json = function (this: Response, body?: unknown) {
    unwatch();
    if (status !== null) onJson({ status, headers });
    return prevJson.call(this, body);
  };
  return unwatch;
}
