/** The one table from an error's kind to its HTTP status: one cause gets one answer on every route. */
import type { ErrorKind } from "../src/errors.ts";

export const HTTP_STATUS: Readonly<Record<ErrorKind, number>> = Object.freeze({
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported: 415,
  rate_limited: 429,
  internal: 500,
  upstream: 502,
  unavailable: 503,
  stopped: 503,
});

/** What a client is told for each kind when the error's own message must not leave the process. */
export const PUBLIC_MESSAGE: Readonly<Record<ErrorKind, string>> = Object.freeze({
  invalid_input: "the request is invalid",
  unauthorized: "authentication required",
  forbidden: "not allowed",
  not_found: "not found",
  conflict: "the request conflicts with what is stored",
  too_large: "the request is too large",
  unsupported: "the request's media type or encoding is not supported",
  rate_limited: "too many requests",
  internal: "internal error",
  upstream: "the Solana RPC failed; try again shortly",
  unavailable: "a dependency of this service is unavailable; try again shortly",
  stopped: "the service is stopping; try again shortly",
});
