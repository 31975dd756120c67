/**
 * The API's operations as data: each part of the app (the core routes, the paywall, the revenue reports,
 * the jobs UI, the admin page) declares what it mounts, with the zod schemas its routes validate with. The
 * app gathers the declarations of the parts it actually mounted (`describedBy`), so the document lists
 * exactly what runs; test/ops/openapi.test.ts compares the two.
 */
import type { Express } from "express";
import type { z } from "zod";
import type { Config } from "../../src/config.ts";
import { priceForTier } from "../../src/domain/quote.ts";
import { formatUnits, USDC_DECIMALS } from "../../src/domain/units.ts";
import * as S from "./schemas.ts";

export type Method = "get" | "post" | "put" | "patch" | "delete";

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** Default application/json. */
  contentType?: string;
}

export interface Operation {
  method: Method;
  /** Express style: /x402/staking/info/:wallet. */
  path: string;
  summary: string;
  tag: string;
  security?: "admin" | "webhook";
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  responses: Record<string, ResponseSpec>;
  /** Paid with x402: the price range (micro-USDC) from the best discount to the full price. */
  payment?: { min: bigint; max: bigint };
  /** A mounted sub-application (its own pages and API under this prefix), documented as its entry page. */
  mount?: boolean;
}

/** An app plugin that says what it mounts. */
export type DescribedPlugin = ((app: Express) => void) & { operations?: readonly Operation[] };

export function describedBy(plugin: (app: Express) => void, operations: readonly Operation[]): DescribedPlugin {
  const described = ((app: Express) => plugin(app)) as DescribedPlugin;
  described.operations = operations;
  return described;
}

const error = (description: string): ResponseSpec => ({ description, schema: S.ErrorBody });
const unauthorized = error("the admin key is missing or wrong (Bearer, x-admin-key or Basic)");

export const CORE_OPERATIONS: readonly Operation[] = [
  { method: "get", path: "/health", tag: "ops", summary: "Liveness", responses: { 200: { description: "the process runs", schema: S.Health } } },
  {
    method: "get",
    path: "/ready",
    tag: "ops",
    summary: "Readiness: 503 until the indexer's first backfill; details include misconfigured-feed counters",
    responses: { 200: { description: "ready", schema: S.Ready }, 503: { description: "not ready, with the reason", schema: S.Ready } },
  },
  { method: "get", path: "/metrics", tag: "ops", summary: "Prometheus metrics (kamiyo_* series)", responses: { 200: { description: "Prometheus text format", contentType: "text/plain" } } },
  {
    method: "post",
    path: "/webhooks/helius",
    tag: "indexer",
    security: "webhook",
    summary: "Helius raw webhook deliveries, stored in a durable inbox and acknowledged at once",
    body: S.HeliusDelivery,
    responses: { 200: { description: "stored", schema: S.WebhookAck }, 400: error("not a JSON array"), 401: error("wrong Authorization header"), 413: error("too large"), 503: error("the inbox cannot take it; Helius retries") },
  },
  {
    method: "get",
    path: "/x402/staking/info/:wallet",
    tag: "staking",
    summary: "A wallet's stake, effective stake, cooldown, tier and discount, from the indexed table",
    params: S.WalletParams,
    responses: { 200: { description: "the wallet's stake", schema: S.StakeInfo }, 400: error("not a wallet address"), 503: error("stake data cannot be read") },
  },
  { method: "get", path: "/x402/discount-tiers", tag: "staking", summary: "The tier table and priority benefits", responses: { 200: { description: "tiers", schema: S.DiscountTiers } } },
  {
    method: "post",
    path: "/x402/admin/resync/:wallet",
    tag: "admin",
    security: "admin",
    summary: "Re-reads a wallet's stake from the chain through the indexer's write path",
    params: S.WalletParams,
    responses: { 200: { description: "re-read", schema: S.ResyncResult }, 400: error("not a wallet address"), 401: unauthorized, 502: error("the chain could not be read") },
  },
];

export const REVENUE_OPERATIONS: readonly Operation[] = [
  {
    method: "get",
    path: "/x402/revenue/daily",
    tag: "admin",
    security: "admin",
    summary: "Revenue, discounts, requests and payers of one UTC day (exact decimal strings)",
    query: S.RevenueDailyQuery,
    responses: { 200: { description: "the day's figures", schema: S.RevenueDaily }, 400: error("bad date"), 401: unauthorized },
  },
  {
    method: "get",
    path: "/x402/revenue/monthly",
    tag: "admin",
    security: "admin",
    summary: "Revenue, discounts, requests and payers of one UTC month",
    query: S.RevenueMonthlyQuery,
    responses: { 200: { description: "the month's figures", schema: S.RevenueMonthly }, 400: error("bad year or month"), 401: unauthorized },
  },
];

export const JOBS_OPERATIONS: readonly Operation[] = [
  { method: "get", path: "/admin/queues", tag: "admin", security: "admin", mount: true, summary: "bull-board: the revenue pipeline's queue (Logs and Progress tabs per run)", responses: { 200: { description: "HTML", contentType: "text/html" }, 401: unauthorized } },
  {
    method: "get",
    path: "/x402/analytics/dashboard",
    tag: "admin",
    security: "admin",
    summary: "Revenue, discounts by tier, staking totals and APY history over the last 30 days (JSON)",
    responses: { 200: { description: "figures as integer strings", schema: S.AnalyticsDashboard }, 401: unauthorized },
  },
];

/** The paid routes of the configuration: price from the best tier's price to the full price. */
export function paidOperations(config: Config): Operation[] {
  return config.x402.routes.map((r) => {
    const prices = config.tiers.map((t) => priceForTier(r.price, t).amount);
    const min = prices.reduce((a, b) => (b < a ? b : a), r.price);
    return {
      method: r.method.toLowerCase() as Method,
      path: r.path,
      tag: "paid",
      summary: r.description,
      payment: { min, max: r.price },
      responses: {
        200: { description: "the paid content, with the PAYMENT-RESPONSE header" },
        400: error("a malformed PAYMENT-SIGNATURE"),
        402: { description: "payment required: the PAYMENT-REQUIRED header (x402 v2) and this body", schema: S.PaymentRequiredBody },
        503: error("the payment cannot be settled now; nothing is served"),
      },
    };
  });
}

export const usdcText = (micro: bigint) => formatUnits(micro, USDC_DECIMALS);
