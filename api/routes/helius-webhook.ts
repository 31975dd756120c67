/**
 * `POST /webhooks/helius`: Helius raw deliveries. The Authorization header must equal the configured auth
 * header (constant-time); the body must be a JSON array. It is stored in the indexer's durable inbox and
 * acknowledged at once (Helius wants 200 within 1 s); the indexer processes it afterwards.
 */
import express, { Router, type ErrorRequestHandler, type RequestHandler } from "express";
import type { Kysely } from "kysely";
import type { IndexerApi } from "../../indexer/contracts.ts";
import type { Database } from "../../src/db/schema.ts";
import type { Logger } from "../../src/log.ts";
import { safeEqual } from "../admin-auth.ts";
import { HttpError } from "../errors.ts";
import type { ApiMetrics } from "../metrics.ts";
import { ENHANCED_FORMAT_CAUSE, elementsWithoutTransaction, type FeedHealth } from "../feed-health.ts";

export const HELIUS_WEBHOOK_PATH = "/webhooks/helius";
/** A raw delivery carries whole transactions; a large batch is a few MB. */
export const DEFAULT_WEBHOOK_BODY_LIMIT = 5 * 1024 * 1024;

// Valid JSON that Postgres jsonb refuses: U+0000, and UTF-16 surrogates without their pair.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, "g");

/**
 * JSON.parse reviver: such characters become U+FFFD. They can only occur in free text (program log
 * messages); left in, one of them would make the inbox refuse the whole delivery, and Helius would drop
 * the batch after its retries.
 */
export function storableString(_key: string, value: unknown): unknown {
  return typeof value === "string" && UNSTORABLE.test(value) ? value.replace(UNSTORABLE_ALL, "\ufffd") : value;
}

/**
 * Transactions per delivery. Helius batches far fewer; a larger array is refused (413) before it is stored,
 * so one delivery cannot hold the inbox or the event loop for seconds.
 */
export const MAX_DELIVERY_ELEMENTS = 1_000;

export interface HeliusWebhookDeps {
  db: Kysely<Database>;
  authHeader: string;
  indexerApi: IndexerApi;
  metrics: ApiMetrics;
  /** Counts deliveries in the enhanced format (no `transaction`): a misconfigured webhook. */
  feedHealth?: FeedHealth;
  logger: Logger;
  /** Bytes; larger bodies get 413. */
  bodyLimit?: number;
}

export function heliusWebhookRoutes(deps: HeliusWebhookDeps): Router {
  const router = Router();
  const count = (result: string) => deps.metrics.webhookDeliveries.inc({ result });

  // Checked before the body is read, so an unauthenticated caller cannot make us parse megabytes.
  const auth: RequestHandler = (req, _res, next) => {
    const given = req.headers.authorization;
    if (given === undefined || !safeEqual(given, deps.authHeader)) {
      count("unauthorized");
      next(new HttpError("unauthorized", "unauthorized", "the Authorization header does not match the webhook's auth header"));
      return;
    }
    next();
  };
  // Parsed whatever the Content-Type says: a body that is not JSON is a 400, not an empty delivery.
  const parse = express.json({
    limit: deps.bodyLimit ?? DEFAULT_WEBHOOK_BODY_LIMIT,
    strict: false,
    type: () => true,
    reviver: storableString,
  });
  const countParseFailure: ErrorRequestHandler = (err, _req, _res, next) => {
    const type = (err as { type?: unknown } | null)?.type;
    if (type === "entity.too.large") count("too_large");
    else if (typeof type === "string") count("invalid");
    next(err);
  };

  const accept: RequestHandler = async (req, res) => {
    const body: unknown = req.body;
    if (!Array.isArray(body)) {
      count("invalid");
      throw new HttpError("invalid_input", "invalid_delivery", "the body must be a JSON array of transactions");
    }
    if (body.length > MAX_DELIVERY_ELEMENTS) {
      count("too_large");
      throw new HttpError(
        "too_large",
        "too_many_elements",
        `a delivery may carry at most ${MAX_DELIVERY_ELEMENTS} transactions; this one has ${body.length}`,
      );
    }
    if (body.length === 0) {
      count("empty");
      res.json({ received: 0 });
      return;
    }
    const enhanced = elementsWithoutTransaction(body);
    if (enhanced > 0) {
      deps.feedHealth?.recordEnhanced(enhanced);
      deps.logger.warn({ elements: body.length, withoutTransaction: enhanced }, `webhook delivery without transactions: ${ENHANCED_FORMAT_CAUSE}`);
    }
    let stored: Awaited<ReturnType<IndexerApi["enqueueWebhookDelivery"]>>;
    try {
      stored = await deps.indexerApi.enqueueWebhookDelivery(deps.db, body);
    } catch (err) {
      count("failed");
      // A 5xx makes Helius retry, which is what we want when the inbox could not take it.
      throw new HttpError("unavailable", "inbox_unavailable", "the delivery could not be stored; retry", { cause: err });
    }
    count("accepted");
    deps.metrics.webhookTransactions.inc(stored.elements);
    deps.logger.debug({ inboxId: stored.id, elements: stored.elements }, "webhook delivery stored");
    res.json({ received: stored.elements, id: stored.id });
  };

  router.post(HELIUS_WEBHOOK_PATH, auth, parse, countParseFailure, accept);
  return router;
}
