/**
 * The HTTP app: common middleware, the read API, the Helius webhook receiver, health and metrics, then
 * whatever plugins (paywall, jobs UI) add, then 404 and the one error handler. Returned without listening,
 * so tests drive it directly.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import express, { type ErrorRequestHandler, type Express } from "express";
import type { Kysely } from "kysely";
import { pinoHttp } from "pino-http";
import type { Registry } from "prom-client";
import type { IndexerApi } from "../indexer/contracts.ts";
import type { Config } from "../src/config.ts";
import type { Database } from "../src/db/schema.ts";
import type { Logger } from "../src/log.ts";
import { stakePoolPda } from "../src/solana/program.ts";
import { errorHandler, HttpError, notFoundHandler } from "./errors.ts";
import { createApiMetrics } from "./metrics.ts";
import { adminRoutes } from "./routes/admin.ts";
import { addReadinessProbe, healthRoutes } from "./routes/health.ts";
import { heliusWebhookRoutes } from "./routes/helius-webhook.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { stakingRoutes } from "./routes/staking.ts";
import { createAdminPagePlugin } from "./admin-page/plugin.ts";
import { createFeedHealth } from "./feed-health.ts";
import { CORE_OPERATIONS, type DescribedPlugin } from "./openapi/operations.ts";
import { openApiRoutes } from "./openapi/routes.ts";

export interface AppDeps {
  config: Config;
  db: Kysely<Database>;
  logger: Logger;
  /** The process's Prometheus registry; this app registers its series on it. */
  metrics: Registry;
  indexerApi: IndexerApi;
  /** Mounted after the common middleware and before the 404 and error handlers, in order. */
  plugins?: Array<(app: Express) => void>;
  /** Mounted right after the request logger, before any route (rate limits). */
  guards?: Array<(app: Express) => void>;
  /** Body size limits in bytes. */
  limits?: { json?: number; webhook?: number };
  /** The admin page's view of the pipeline schedule (the composition reads it from the queue). */
  nextPipelineRun?: () => Promise<Date | null>;
}

export const DEFAULT_JSON_BODY_LIMIT = 100 * 1024;

const REQUEST_ID = /^[\w.:-]{1,128}$/;
/** Logged request headers. Everything else (authorization, x-admin-key, payment headers, cookies) is left out. */
const LOGGED_HEADERS = ["user-agent", "content-type", "content-length", "x-forwarded-for"];
const QUIET_PATHS = new Set(["/health", "/ready", "/metrics"]);

function requestLogger(logger: Logger) {
  return pinoHttp({
    logger: logger.child({ component: "http" }),
    genReqId(req: IncomingMessage, res: ServerResponse) {
      const given = req.headers["x-request-id"];
      const id = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
      res.setHeader("x-request-id", id);
      return id;
    },
    serializers: {
      req(req: { id: unknown; method: string; url: string; remoteAddress?: string; headers: Record<string, unknown> }) {
        const headers: Record<string, unknown> = {};
        for (const name of LOGGED_HEADERS) if (req.headers[name] !== undefined) headers[name] = req.headers[name];
        return { id: req.id, method: req.method, url: req.url, remoteAddress: req.remoteAddress, headers };
      },
      res(res: { statusCode: number }) {
        return { statusCode: res.statusCode };
      },
    },
    customLogLevel(req, res, err) {
      if (err || res.statusCode >= 500) return "error";
      // A 402 is the paywall's ordinary quote, not a problem: at warn it would be nearly every warning logged.
      if (res.statusCode === 402) return "debug";
      if (res.statusCode >= 400) return "warn";
      return QUIET_PATHS.has((req.url ?? "").split("?")[0] ?? "") ? "debug" : "info";
    },
  });
}

export function createApp(deps: AppDeps): Express {
  const { config, db, logger, indexerApi } = deps;
  const app = express();
  app.disable("x-powered-by");
  // Client addresses (rate limits, logs) come from X-Forwarded-For past this many proxies, never further.
  app.set("trust proxy", config.http.trustProxy);
  const apiMetrics = createApiMetrics({ registry: deps.metrics, db, logger });
  const pool = stakePoolPda(config.solana.programId, config.solana.kamiyoMint)[0].toBase58();
  const feedHealth = createFeedHealth(deps.metrics);
  addReadinessProbe(app, { name: "heliusWebhooks", check: () => ({ ok: true, details: { ...feedHealth.snapshot() } }) });
  const adminPage = createAdminPagePlugin({
    db,
    pool,
    cluster: config.cluster,
    rpcUrl: config.solana.rpcUrl,
    adminKey: config.adminApiKey,
    feed: feedHealth.snapshot,
    ...(deps.nextPipelineRun ? { nextRun: deps.nextPipelineRun } : {}),
  });

  app.use(requestLogger(logger));
  for (const guard of deps.guards ?? []) guard(app);
  app.use(healthRoutes({ db, logger, statusMaxAgeMs: config.x402.stakeDataMaxAgeMs }));
  app.use(metricsRoutes({ registry: deps.metrics, apiMetrics }));
  // Before the common JSON parser: it has its own auth check, size limit and content-type handling.
  app.use(
    heliusWebhookRoutes({
      db,
      authHeader: config.helius.webhookAuth,
      indexerApi,
      metrics: apiMetrics,
      feedHealth,
      logger,
      ...(deps.limits?.webhook !== undefined ? { bodyLimit: deps.limits.webhook } : {}),
    }),
  );
  app.use(express.json({ limit: deps.limits?.json ?? DEFAULT_JSON_BODY_LIMIT }));
  app.use(stakingRoutes({ db, tiers: config.tiers, pool }));
  app.use(adminRoutes({ adminKey: config.adminApiKey, indexerApi, logger }));

  adminPage(app);
  for (const plugin of deps.plugins ?? []) plugin(app);
  // The document lists what this app mounted: its own routes and each plugin's declared operations.
  const described: DescribedPlugin[] = [adminPage, ...(deps.plugins ?? [])];
  app.use(openApiRoutes(config, () => [...CORE_OPERATIONS, ...described.flatMap((p) => p.operations ?? [])]));

  app.use(notFoundHandler());
  app.use(malformedPathHandler());
  app.use(errorHandler(logger));
  return app;
}

/** A path parameter that is not valid percent-encoding (`/x402/staking/info/%ZZ`) is the client's mistake: 400. */
function malformedPathHandler(): ErrorRequestHandler {
  return (err: unknown, _req, _res, next) => {
    if (err instanceof URIError) next(new HttpError("invalid_input", "malformed_path", "the request path is not valid percent-encoding"));
    else next(err);
  };
}
