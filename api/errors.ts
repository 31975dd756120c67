/**
 * The one place where errors become HTTP answers. The status comes from the error's kind through
 * HTTP_STATUS. `HttpError` carries a message meant for the client; any other classified error answers with
 * its code and the kind's public message, and an unclassified one is a 500 whose body carries no message,
 * stack, address or secret (the log has the details).
 */
import type { ErrorRequestHandler, RequestHandler } from "express";
import { describeError, errorKind, KamiyoError, type ErrorKind } from "../src/errors.ts";
import type { Logger } from "../src/log.ts";
import { HTTP_STATUS, PUBLIC_MESSAGE } from "./http-status.ts";

/** An answer the client caused or may act on. `code` is stable for programs, `message` is for people. */
export class HttpError extends KamiyoError {
  override name = "HttpError";
  readonly kind: ErrorKind;
  readonly retryable: boolean;
  /** Extra response headers (e.g. WWW-Authenticate on 401). */
  readonly headers: Readonly<Record<string, string>>;
  constructor(kind: ErrorKind, code: string, message: string, options: { headers?: Record<string, string>; cause?: unknown } = {}) {
    super(message, { code, cause: options.cause });
    this.kind = kind;
    this.retryable = kind === "unavailable" || kind === "upstream" || kind === "rate_limited" || kind === "stopped";
    this.headers = options.headers ?? {};
  }
  get status(): number {
    return HTTP_STATUS[this.kind];
  }
}

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: string;
  message: string;
}

/** body-parser (express.json) errors carry `type` and a 4xx `status`. */
interface BodyParserError {
  type?: unknown;
  status?: unknown;
  expose?: unknown;
}

function fromBodyParser(err: unknown): HttpError | null {
  const e = err as BodyParserError | null;
  if (!e || typeof e !== "object" || typeof e.type !== "string") return null;
  switch (e.type) {
    case "entity.parse.failed":
      return new HttpError("invalid_input", "invalid_json", "the request body is not valid JSON");
    case "entity.too.large":
      return new HttpError("too_large", "payload_too_large", "the request body is larger than this endpoint accepts");
    case "encoding.unsupported":
    case "charset.unsupported":
      return new HttpError("unsupported", "unsupported_encoding", "the request body's encoding or charset is not supported");
    case "request.aborted":
      return new HttpError("invalid_input", "request_aborted", "the request body ended early");
    case "request.size.invalid":
      return new HttpError("invalid_input", "invalid_length", "the request body does not match its Content-Length");
    default:
      return new HttpError("invalid_input", "invalid_body", "the request body cannot be read");
  }
}

export function notFoundHandler(): RequestHandler {
  return (req, _res, next) => {
    next(new HttpError("not_found", "not_found", `no route for ${req.method} ${req.path}`));
  };
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      // Too late to answer; express closes the connection.
      logger.error({ err, reqId: req.id, path: req.path }, "error after the response started");
      next(err);
      return;
    }
    const known = err instanceof HttpError ? err : fromBodyParser(err);
    if (known) {
      if (known.status >= 500) logger.error({ err: known.cause ?? known, reqId: req.id, path: req.path }, known.message);
      res.status(known.status).set(known.headers).json({ error: known.code, message: known.message } satisfies ErrorBody);
      return;
    }
    const kind = errorKind(err);
    const status = HTTP_STATUS[kind];
    const code = err instanceof KamiyoError && err.code !== "error" ? err.code : kind;
    if (kind === "internal") logger.error({ err, reqId: req.id, path: req.path }, "unhandled error");
    else {
      const cause = err instanceof Error && err.cause !== undefined ? { cause: describeError(err.cause) } : {};
      logger.warn({ reason: describeError(err), ...cause, kind, reqId: req.id, path: req.path }, "request failed");
    }
    // The error's own message can name internal hosts and ports: the client gets the kind's public message.
    res.status(status).json({ error: code, message: PUBLIC_MESSAGE[kind] } satisfies ErrorBody);
  };
}
