/**
 * The settlement guard around @x402's verify and settle: a paid request settles only the price its request
 * decided, and one payment settles at most once. In this process a key held before the first await refuses
 * a second request carrying the same payment (Node runs one callback at a time, so the check and the hold
 * cannot interleave); across processes the ledger's reservation, unique per payment key, does. The settled
 * payment is then completed in the ledger. A settlement the facilitator refused gives its key and reservation
 * back; one whose outcome is unknown (a timeout, a lost connection, a transaction sent but not confirmed) keeps
 * both, so the payment cannot settle a second time, until the ledger reconciler (jobs/ledger/) learns from the
 * chain whether it landed (and completes the row) or can no longer land (and releases it).
 *
 * x402 logs a before-hook that throws and goes on to settle, so these hooks answer (abort or proceed) and
 * never throw.
 */
import type { AfterSettleHook, BeforeSettleHook, BeforeVerifyHook, OnSettleFailureHook, x402ResourceServer } from "@x402/core/server";
import { SettleError } from "@x402/core/types";
import { describeError } from "../../src/errors.ts";
import type { Logger } from "../../src/log.ts";
import type { PaywallMetrics } from "./metrics.ts";
import { paywallRequests, type PaywallRequestState } from "./request-state.ts";
import type { UsageLedger, UsageRecord } from "./usage-ledger.ts";

/** How long a settled payment's key stays in the in-process duplicate guard (past any blockhash's life). */
const SETTLED_KEY_TTL_MS = 10 * 60_000;

/** Keys of payments settling or settled in this process, each held for `ttlMs`. */
export function createSettledKeys(ttlMs = SETTLED_KEY_TTL_MS) {
  const keys = new Map<string, number>();
  return {
    /** False when the key is already held; otherwise holds it. */
    hold(key: string, now = Date.now()): boolean {
      // Insertion order is expiry order: drop the expired prefix.
      for (const [k, expires] of keys) {
        if (expires > now) break;
        keys.delete(k);
      }
      if (keys.has(key)) return false;
      keys.set(key, now + ttlMs);
      return true;
    },
    has: (key: string) => (keys.get(key) ?? 0) > Date.now(),
    drop: (key: string) => void keys.delete(key),
  };
}

/** Where a paid request's settlement can be interrupted (the crash tests kill the process there). */
export type SettlementBoundary = "reserved" | "beforeComplete";

export interface SettlementGuardDeps {
  ledger: UsageLedger;
  metrics: PaywallMetrics | null;
  log: Logger;
  /** Test seam: called at each settlement boundary. */
  boundary?: ((name: SettlementBoundary) => void | Promise<void>) | undefined;
}

/** Reasons with which the facilitator says the transaction may have been sent: the outcome is not known. */
const OUTCOME_UNKNOWN_REASONS = new Set(["invalid_exact_svm_transaction_failed", "settlement_pending", "post_settlement_transfer_not_confirmed", "duplicate_settlement"]);

/**
 * True unless the facilitator answered that it refused the payment before sending anything: a timeout, a lost
 * connection, an unclassified error, or a SettleError that names a transaction or a possibly sent one.
 */
export function settleOutcomeUnknown(error: unknown): boolean {
  if (!(error instanceof SettleError)) return true;
  if (error.transaction) return true;
  return error.errorReason === undefined || OUTCOME_UNKNOWN_REASONS.has(error.errorReason);
}

interface GuardContext extends SettlementGuardDeps {
  settledKeys: ReturnType<typeof createSettledKeys>;
  duplicate(message: string): { abort: true; reason: string; message: string };
}

type Requirements = Parameters<BeforeSettleHook>[0]["requirements"];
type PricedState = PaywallRequestState & Required<{ [K in "payment" | "decision" | "route"]: NonNullable<PaywallRequestState[K]> }>;

/** The request's state when the price function has priced its payment; null otherwise. */
function pricedState(): PricedState | null {
  const state = paywallRequests.getStore();
  return state?.payment && state.decision && state.route ? (state as PricedState) : null;
}

/** The ledger row of a priced payment (`payer`: as the facilitator reports it, once settled). */
function usageRecord(state: PricedState, requirements: Requirements, payer = state.payment.payer): UsageRecord {
  return {
    paymentKey: state.payment.paymentKey,
    payer,
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
    recentBlockhash: state.payment.recentBlockhash,
  };
}

/** Before verify: the amount is this request's price, and the payment has not settled before. */
function beforeVerify(g: GuardContext): BeforeVerifyHook {
  return async ({ requirements }) => {
    const state = paywallRequests.getStore();
    if (!state?.payment || !state.decision) return { abort: true, reason: "payment_context_missing" };
    if (requirements.amount !== state.decision.amount.toString()) return { abort: true, reason: "price_mismatch" };
    const key = state.payment.paymentKey;
    if (g.settledKeys.has(key) || (await g.ledger.isSettled(key)) === true) return g.duplicate("this payment has already been used; sign a new one");
    return undefined;
  };
}

/** Before settle: holds the payment's key in this process, then reserves it in the ledger. */
function beforeSettle(g: GuardContext): BeforeSettleHook {
  return async ({ requirements }) => {
    const state = pricedState();
    if (!state) return { abort: true, reason: "payment_context_missing" };
    if (requirements.amount !== state.decision.amount.toString()) return { abort: true, reason: "price_mismatch" };
    const key = state.payment.paymentKey;
    // In-process first, before any await: two requests carrying one payment cannot both pass.
    if (!g.settledKeys.hold(key)) return g.duplicate("this payment is already being settled");
    state.guarded = true;
    const outcome = await g.ledger.reserve(usageRecord(state, requirements));
    if (outcome === "duplicate") {
      g.settledKeys.drop(key);
      state.guarded = false;
      return g.duplicate("this payment has already been used; sign a new one");
    }
    if (outcome === "failed") {
      // Not an outage that will pass: a payment the ledger refuses is not taken.
      g.settledKeys.drop(key);
      state.guarded = false;
      g.metrics?.rejections.inc({ reason: "ledger_refused" });
      return { abort: true, reason: "ledger_refused", message: "the payment could not be recorded, so it was not settled" };
    }
    state.reserved = outcome === "reserved";
    if (state.reserved) await g.boundary?.("reserved");
    // "unavailable": the ledger cannot be written now. The payment still settles (the content is paid for), guarded
    // against duplicates in this process only, and its row is written once the database is back.
    if (outcome === "unavailable") g.log.warn({ paymentKey: key }, "settling without a ledger reservation (database unavailable)");
    return undefined;
  };
}

/** After settle: the settled payment's ledger row (kept and retried by the ledger while the database is down). */
function afterSettle(g: GuardContext): AfterSettleHook {
  return async ({ result, requirements }) => {
    const state = pricedState();
    if (!state) {
      g.log.error({ signature: result.transaction }, "settled a payment without request context; not recorded");
      return;
    }
    g.metrics?.settled.inc({ tier: state.decision.tier ?? "none" });
    await g.boundary?.("beforeComplete");
    await g.ledger.complete({
      ...usageRecord(state, requirements, result.payer ?? state.payment.payer),
      settlementSignature: result.transaction,
      responseTimeMs: Math.max(0, Math.round(performance.now() - state.startedAt)),
      settledAt: new Date(),
    });
  };
}

/**
 * Settlement failed: no content is served. Refused by the facilitator: the payment's key and reservation are
 * given back. Outcome unknown: both stay until the ledger reconciler decides from the chain.
 */
function settleFailure(g: GuardContext): OnSettleFailureHook {
  return async ({ error }) => {
    const state = paywallRequests.getStore();
    if (!state?.payment) return;
    const transaction = (error as { transaction?: unknown }).transaction;
    const logged = { paymentKey: state.payment.paymentKey, err: describeError(error), ...(typeof transaction === "string" && transaction ? { transaction } : {}) };
    if (settleOutcomeUnknown(error)) {
      g.metrics?.rejections.inc({ reason: "settlement_outcome_unknown" });
      g.log.warn(logged, "payment settlement outcome unknown; no content served, the payment stays reserved until the ledger reconciler reads the chain");
      return;
    }
    g.metrics?.rejections.inc({ reason: "settlement_failed" });
    g.log.warn(logged, "payment settlement refused; no content served");
    if (state.guarded) g.settledKeys.drop(state.payment.paymentKey);
    if (state.reserved) await g.ledger.release(state.payment.paymentKey);
    state.guarded = false;
    state.reserved = false;
  };
}

/** Registers the guard's hooks on the resource server. */
export function guardSettlement(server: x402ResourceServer, deps: SettlementGuardDeps): void {
  const g: GuardContext = {
    ...deps,
    settledKeys: createSettledKeys(),
    duplicate(message) {
      deps.metrics?.rejections.inc({ reason: "duplicate_payment" });
      return { abort: true, reason: "duplicate_payment", message };
    },
  };
  server.onBeforeVerify(beforeVerify(g)).onBeforeSettle(beforeSettle(g)).onAfterSettle(afterSettle(g)).onSettleFailure(settleFailure(g));
}
