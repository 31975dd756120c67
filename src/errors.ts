/**
 * The one error vocabulary. Every error the service raises on purpose is a `KamiyoError` with a `kind`
 * (what went wrong, which fixes its HTTP status in api/http-status.ts) and `retryable` (whether doing the
 * same thing again later can succeed). Retry loops (indexer, jobs, paywall, ledger) decide with
 * `isRetryable`, never by message text, and an error nobody classified is not retried.
 */

export type ErrorKind =
  /** The caller sent something that can never be accepted as it is. */
  | "invalid_input"
  /** The caller did not prove who it is. */
  | "unauthorized"
  | "forbidden"
  | "not_found"
  /** The request contradicts what is stored (a payment identifier reused with another payment, ...). */
  | "conflict"
  | "too_large"
  /** A body in an encoding or media type this endpoint does not take. */
  | "unsupported"
  | "rate_limited"
  /** A dependency of ours (database, Redis, facilitator) did not answer in time or refused. */
  | "unavailable"
  /** The chain (RPC) failed or answered something unusable. */
  | "upstream"
  /** The operation was stopped because its owner is shutting down or lost its lease. */
  | "stopped"
  /** A state that should not happen; a bug. */
  | "internal";

export interface KamiyoErrorOptions {
  /** Stable machine-readable code for clients and logs (`invalid_wallet`, `database_unavailable`, ...). */
  code?: string;
  cause?: unknown;
}

export abstract class KamiyoError extends Error {
  abstract readonly kind: ErrorKind;
  abstract readonly retryable: boolean;
  readonly code: string;
  constructor(message: string, options: KamiyoErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code ?? "error";
  }
}

/** Trying again later can succeed: a dependency was down, slow or busy. */
export class RetryableError extends KamiyoError {
  override name = "RetryableError";
  readonly retryable = true;
  readonly kind: ErrorKind;
  constructor(kind: "unavailable" | "upstream" | "rate_limited", message: string, options: KamiyoErrorOptions = {}) {
    super(message, options);
    this.kind = kind;
  }
}

/** The same attempt fails the same way until someone changes the input, the configuration or the code. */
export class NonRetryableError extends KamiyoError {
  override name = "NonRetryableError";
  readonly retryable = false;
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string, options: KamiyoErrorOptions = {}) {
    super(message, options);
    this.kind = kind;
  }
}

/** The owner is stopping (or lost leadership) while the operation ran. Not a failure of the operation. */
export class StoppedError extends KamiyoError {
  override name = "StoppedError";
  readonly kind = "stopped" as const;
  readonly retryable = false;
  constructor(message = "stopping") {
    super(message, { code: "stopped" });
  }
}

/** Socket-level failures of any client (pg, ioredis, ws, fetch): the peer may answer on the next try. */
const TRANSIENT_NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

/** Postgres SQLSTATE classes that say "the server could not do it now", not "the statement is wrong". */
const TRANSIENT_SQLSTATE = /^(08|53|57P0[1-3]|40001|40P01|55P03|57014)/;

/** A connection, socket or timeout failure of any client library, recognised by its code or message. */
export function isTransientFailure(err: unknown): boolean {
  if (err instanceof AggregateError) return err.errors.some(isTransientFailure);
  if (typeof err !== "object" || err === null) return false;
  const e = err as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
  if (typeof e.code === "string" && (TRANSIENT_NETWORK_CODES.has(e.code) || TRANSIENT_SQLSTATE.test(e.code))) return true;
  if (e.name === "TimeoutError" || (e.name === "AbortError" && e.cause !== undefined)) return true;
  const message = typeof e.message === "string" ? e.message : "";
  // pg and ioredis report a dropped or never-established connection with these messages and no code.
  if (/Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection is closed|MaxRetriesPerRequestError|Reached the max retries per request/i.test(message)) return true;
  return e.cause !== undefined && e.cause !== err && isTransientFailure(e.cause);
}

/** Whether trying again can help. Classified errors say so; transient network failures can; the rest cannot. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof KamiyoError) return err.retryable;
  if (typeof err === "object" && err !== null && typeof (err as { retryable?: unknown }).retryable === "boolean") {
    return (err as { retryable: boolean }).retryable;
  }
  return isTransientFailure(err);
}

/** The kind of any thrown value: classified errors say it, transient failures are "unavailable", else internal. */
export function errorKind(err: unknown): ErrorKind {
  if (err instanceof KamiyoError) return err.kind;
  if (isTransientFailure(err)) return "unavailable";
  return "internal";
}

/**
 * The error's message on one line, falling back to its code or its first nested error: Node's connect
 * errors are AggregateErrors with an empty message when every address of a host refused.
 */
export function describeError(err: unknown): string {
  let text: string;
  if (err instanceof AggregateError && !err.message && err.errors.length > 0) text = describeError(err.errors[0]);
  else if (err instanceof Error) text = err.message || (err as { code?: unknown }).code?.toString() || err.name;
  else text = String(err);
  return text.replace(/\s*\n\s*/g, " ").trim();
}
