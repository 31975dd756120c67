/**
 * Rate limits shared by every API replica (counts in Redis): admin routes per client address (refused
 * credentials only, so guessing the admin key is slow while the queue UI's polling is not counted), and unpaid quotes of
 * paid routes per client address. Over the limit: 429 with Retry-After.
 *
 * Redis down: admin requests answer 503 (never let a guesser through unlimited); quotes are served (a quote
 * is free information and the paid path does not depend on the limiter).
 */
import type { Express, Request, RequestHandler } from "express";
import { rateLimit, type Options } from "express-rate-limit";
import { Redis } from "ioredis";
import { RedisStore, type RedisReply } from "rate-limit-redis";
import type { Logger } from "../src/log.ts";
import { HttpError } from "./errors.ts";

/** Paths behind the admin key (read API's admin routes, revenue reports, dashboard, queue UI). */
export const ADMIN_PATH_PREFIXES = ["/x402/admin", "/x402/revenue", "/x402/analytics", "/admin/queues"] as const;

export interface RateLimitOptions {
  redisUrl: string;
  /** Redis key prefix (deployments sharing a Redis keep their counts apart). */
  prefix: string;
  /** Failed admin requests per client address per minute; 0: no limit. */
  adminPerMinute: number;
  /** Unpaid quotes per client address per minute; 0: no limit. */
  quotesPerMinute: number;
  /** "METHOD /path" of every paid route. */
  paidRoutes: readonly string[];
  logger: Logger;
  windowMs?: number;
}

export interface RateLimits {
  /** Mounts both limiters; call before any route. */
  (app: Express): void;
  close(): Promise<void>;
}

export const isAdminPath = (path: string): boolean => ADMIN_PATH_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`));

export function createRateLimits(o: RateLimitOptions): RateLimits {
  const log = o.logger.child({ component: "rate-limit" });
  // A limiter must answer within a second or two whatever Redis does: every command times out, none is retried.
  const redis = new Redis(o.redisUrl, { maxRetriesPerRequest: 0, commandTimeout: 1_000, connectTimeout: 2_000 });
  redis.on("error", (err) => log.debug({ err: err.message }, "rate-limit redis error"));
  const windowMs = o.windowMs ?? 60_000;
  const store = (name: string) =>
    new RedisStore({
      prefix: `${o.prefix}:rl:${name}:`,
      sendCommand: (command: string, ...args: string[]) => redis.call(command, ...args) as Promise<RedisReply>,
    });
  const paid = new Set(o.paidRoutes);
  const limited = (what: string): Options["handler"] => (req, _res, next, options) => {
    log.warn({ what, ip: req.ip, path: req.path }, "rate limit reached");
    const retryAfter = String(Math.ceil(options.windowMs / 1000));
    next(new HttpError("rate_limited", "rate_limited", `too many ${what} from this address; retry after ${retryAfter} s`, { headers: { "Retry-After": retryAfter } }));
  };
  const common = { windowMs, standardHeaders: "draft-7" as const, legacyHeaders: false, validate: false };
  const handlers: RequestHandler[] = [];
  if (o.adminPerMinute > 0) {
    const limiter = rateLimit({
      ...common,
      limit: o.adminPerMinute,
      // Only refused credentials count: guessing the key is what this limits, not an operator's refused action.
      skipSuccessfulRequests: true,
      requestWasSuccessful: (_req, res) => res.statusCode !== 401,
      skip: (req) => !isAdminPath(req.path),
      store: store("admin"),
      passOnStoreError: false,
      handler: limited("failed admin requests"),
    });
    handlers.push(storeFailure(limiter, "admin", log));
  }
  if (o.quotesPerMinute > 0) {
    const limiter = rateLimit({
      ...common,
      limit: o.quotesPerMinute,
      skip: (req: Request) => req.headers["payment-signature"] !== undefined || !paid.has(`${req.method} ${req.path}`),
      store: store("quotes"),
      passOnStoreError: true,
      handler: limited("unpaid quotes"),
    });
    handlers.push(limiter);
  }
  const mount = ((app: Express) => {
    for (const h of handlers) app.use(h);
  }) as RateLimits;
  mount.close = async () => {
    redis.disconnect();
    await Promise.resolve();
  };
  return mount;
}

/** A store failure on a limiter that must not pass becomes a 503, not a 500. */
function storeFailure(limiter: RequestHandler, name: string, log: Logger): RequestHandler {
  return (req, res, next) => {
    void limiter(req, res, (err?: unknown) => {
      if (err === undefined || err instanceof HttpError) {
        next(err);
        return;
      }
      log.warn({ limiter: name, err: (err as Error).message }, "rate-limit store unavailable");
      next(new HttpError("unavailable", "rate_limit_unavailable", "the rate limiter's store is unavailable; try again shortly"));
    });
  };
}
