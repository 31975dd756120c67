/** Telling "the facilitator or its chain could not be reached" from "the payment was refused". */
import { isSolanaError, SOLANA_ERROR__RPC__TRANSPORT_HTTP_ERROR } from "@solana/kit";
import { FacilitatorResponseError } from "@x402/core/server";
import { describeError, isTransientFailure } from "../../src/errors.ts";

/** The facilitator, or the chain it settles on, cannot be reached. Retrying later can help. */
export class FacilitatorUnavailableError extends FacilitatorResponseError {
  override name = "FacilitatorUnavailableError";
  readonly operation: string;
  /** Read by isRetryable (src/errors.ts): the facilitator or its chain may answer a later attempt. */
  readonly retryable = true;
  /** `detail` reaches the client: it names no host, port or key. */
  constructor(operation: string, detail: string, options?: { cause?: unknown }) {
    super(`payment facilitator unavailable (${operation}): ${detail}`);
    this.operation = operation;
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

/**
 * True for an error that means "the other side could not be reached", not "the other side said no": the
 * shared transient-failure test (socket codes, timeouts), plus what @solana/kit and fetch report instead.
 */
export function isTransportError(err: unknown): boolean {
  if (isTransientFailure(err)) return true;
  let current: unknown = err;
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    if (isSolanaError(current, SOLANA_ERROR__RPC__TRANSPORT_HTTP_ERROR)) return true;
    if (current.name === "AbortError") return true;
    if (current instanceof TypeError && current.message === "fetch failed") return true;
    if (current instanceof AggregateError && current.errors.some(isTransportError)) return true;
    current = current.cause;
  }
  return false;
}

/** The error's message plus what caused it ("fetch failed: connect ECONNREFUSED 127.0.0.1:9"). */
export function transportDetail(err: unknown): string {
  let text = describeError(err);
  let current: unknown = err instanceof Error ? err.cause : undefined;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const inner = describeError(current);
    if (inner && !text.includes(inner)) text = `${text}: ${inner}`;
    current = current.cause;
  }
  return text;
}

/** Where an endpoint is, for people: scheme, host and path, without credentials or query (API keys live there). */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === "/" ? "" : u.pathname}`;
  } catch {
    return "(invalid URL)";
  }
}

/** A failed verify or settle that says "its chain could not be reached", not "the payment is wrong". */
const CHAIN_UNREACHABLE = /fetch failed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|socket hang up|timed? ?out|HTTP error|\b(429|502|503|504)\b|network error/i;
const CHAIN_REASONS = new Set(["invalid_exact_svm_transaction_simulation_failed", "invalid_exact_svm_transaction_failed", "transaction_failed", "unexpected_settle_error", "unexpected_verify_error"]);
/** The answer a facilitator gives when the payer's fee payer is not one of its keys (it rotated its key). */
export const FEE_PAYER_NOT_MANAGED = /fee_payer_not_managed/;

export function chainUnreachable(reason: string | undefined, message: string | undefined): boolean {
  return reason !== undefined && CHAIN_REASONS.has(reason) && message !== undefined && CHAIN_UNREACHABLE.test(message);
}
