/**
 * The one place where errors become HTTP answers. Routes throw `HttpError` for what the client did wrong;
 * anything else is a 500 whose body carries no message, stack or secret (the log has the details).
 */
import type { ErrorRequestHandler, RequestHandler } from "express";
import type { Logger } from "../src/log.ts";

/** An answer the client caused or may act on. `code` is stable for programs, `message` is for people. */
export class HttpError extends Error {
  override name = "HttpError";
  readonly status: number;
  readonly code: string;
  /** Extra response headers (e.g. WWW-Authenticate on 401). */
  readonly headers: Readonly<Record<string, string>>;
  constructor(status: number, code: string, message: string, options: { headers?: Record<string, string>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.code = code;
    this.headers = options.headers ?? {};
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
      return new HttpError(400, "invalid_json", "the request body is not valid JSON");
    case "entity.too.large":
      return new HttpError(413, "payload_too_large", "the request body is larger than this endpoint accepts");
    case "encoding.unsupported":
    case "charset.unsupported":
      return new HttpError(415, "unsupported_encoding", "the request body's encoding or charset is not supported");
    case "request.aborted":
      return new HttpError(400, "request_aborted", "the request body ended early");
    case "request.size.invalid":
      return new HttpError(400, "invalid_length", "the request body does not match its Content-Length");
    default: {
      const status = typeof e.status === "number" && e.status >= 400 && e.status < 500 ? e.status : 400;
      return new HttpError(status, "invalid_body", "the request body cannot be read");
    }
  }
}

export function notFoundHandler(): RequestHandler {
  return (req, _res, next) => {
    next(new HttpError(404, "not_found", `no route for ${req.method} ${req.path}`));
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
    logger.error({ err, reqId: req.id, path: req.path }, "unhandled error");
    res.status(500).json({ error: "internal", message: "internal error" } satisfies ErrorBody);
  };
}
