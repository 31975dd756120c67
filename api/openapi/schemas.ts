/**
 * The zod schemas of the HTTP API: what the routes validate their input with (params, query) and the shapes
 * of what they answer. The OpenAPI document (document.ts) is generated from these same objects with zod's
 * own z.toJSONSchema, so the document cannot drift from what a route accepts.
 */
import { z } from "zod";
import { walletProblem } from "../../src/domain/wallet.ts";

const DIGITS = /^\d+$/;
/** An exact integer amount as a decimal string (bigint on our side). */
const integerString = (what: string) => z.string().regex(DIGITS).meta({ description: what });
const usdc = z
  .object({ amount: integerString("micro-USDC (6 decimals), integer"), usdc: z.string().meta({ description: "the same amount in USDC, exact decimal" }) })
  .meta({ id: "Usdc" });
const kamiyo = z
  .object({ amount: integerString("KAMIYO base units (9 decimals), integer"), ui: z.string().meta({ description: "the same amount in KAMIYO, exact decimal" }) })
  .meta({ id: "KamiyoAmount" });

// ---- inputs (validated by the routes) ----

export const Wallet = z
  .string()
  .superRefine((w, ctx) => {
    const problem = walletProblem(w);
    if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
  })
  .meta({ description: "a Solana wallet address (base58, 32 bytes)", example: "BPWziJCc3AJFMtz1LqgpgSVAyTDnz7MvgLBfozSSZyEn" });

export const WalletParams = z.object({ wallet: Wallet });

const once = (inner: z.ZodString) => z.string({ error: "must be given once" }).pipe(inner);

export const RevenueDailyQuery = z.object({
  date: once(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "must be YYYY-MM-DD"))
    .optional()
    .meta({ description: "a UTC day, YYYY-MM-DD; default today" }),
});

export const RevenueMonthlyQuery = z.object({
  year: once(z.string({ error: "is required" }).regex(/^\d{4}$/, "must be a four-digit year")).meta({ description: "e.g. 2026" }),
  month: once(z.string({ error: "is required" }).regex(/^(0?[1-9]|1[0-2])$/, "must be 1 to 12")).meta({ description: "1 to 12" }),
});

/** The admin page's range: both ends inclusive UTC days; default the last 30 days, today included. */
export const AdminRangeQuery = z.object({
  from: once(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "must be YYYY-MM-DD")).optional().meta({ description: "first UTC day, YYYY-MM-DD" }),
  to: once(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "must be YYYY-MM-DD")).optional().meta({ description: "last UTC day, YYYY-MM-DD (default today)" }),
});

/** A Helius raw delivery: a JSON array of getTransaction results (each with `transaction` and `meta`). */
export const HeliusDelivery = z
  .array(z.object({ transaction: z.unknown().optional(), meta: z.unknown().optional(), slot: z.number().optional() }).loose())
  .meta({ id: "HeliusRawDelivery", description: "raw webhook type: getTransaction JSON per element; enhanced deliveries (no `transaction`) are counted and warned about" });

// ---- outputs ----

export const ErrorBody = z.object({ error: z.string(), message: z.string() }).meta({ id: "Error" });

export const Health = z.object({ status: z.literal("ok"), uptimeSeconds: z.number().int() });

export const Ready = z
  .object({
    ready: z.boolean(),
    reason: z.string().optional(),
    backfillCompletedAt: z.string().nullable().optional(),
    backfillSlot: z.string().nullable().optional(),
    statusUpdatedAt: z.string().optional(),
    dependency: z.string().optional(),
    dependencies: z
      .record(z.string(), z.object({ ok: z.boolean() }).loose())
      .optional()
      .meta({ description: "per dependency; heliusWebhooks counts deliveries in the enhanced format (a misconfigured webhook)" }),
  })
  .loose();

export const StakeInfo = z
  .object({
    wallet: z.string(),
    pool: z.string(),
    stakeAccount: z.string().nullable(),
    staked: kamiyo,
    effectiveStake: kamiyo,
    cooldown: z.object({ amount: kamiyo, endsAtUnix: z.string().nullable(), endsAt: z.string().nullable() }).loose(),
    tier: z.string(),
    discountBps: z.number().int(),
    priority: z.string(),
    benefits: z.array(z.string()),
    closed: z.boolean(),
    asOf: z.object({ slot: z.string().nullable(), time: z.string().nullable(), commitment: z.string().nullable() }),
  })
  .loose()
  .meta({ id: "StakeInfo" });

export const DiscountTiers = z
  .object({
    decimals: z.number().int(),
    basis: z.string(),
    tiers: z.array(z.object({ name: z.string(), minStake: kamiyo, discountBps: z.number().int(), priority: z.string(), benefits: z.array(z.string()) }).loose()),
    benefits: z.record(z.string(), z.array(z.string())),
  })
  .loose();

export const ResyncResult = z.object({ wallet: z.string(), stakeAccount: z.string(), slot: z.string(), effectiveStake: z.string(), tier: z.string() });

export const WebhookAck = z.object({ received: z.number().int(), id: z.string().optional() });

const revenueFigures = {
  window: z.object({ start: z.string(), end: z.string(), closed: z.boolean() }),
  revenue: usdc,
  grossBeforeDiscounts: usdc,
  discountsGiven: usdc,
  requests: z.number().int(),
  discountedRequests: z.number().int(),
  uniqueStakers: z.number().int(),
  uniquePayers: z.number().int(),
  byTier: z.array(z.object({ tier: z.string(), requests: z.number().int(), revenue: usdc, discountsGiven: usdc, payers: z.number().int() })),
};
export const RevenueDaily = z.object({ date: z.string(), ...revenueFigures });
export const RevenueMonthly = z.object({ year: z.number().int(), month: z.number().int(), ...revenueFigures });

export const AnalyticsDashboard = z
  .object({ window: z.object({ from: z.string(), to: z.string() }), revenue: z.object({}).loose(), discounts: z.array(z.object({}).loose()), staking: z.object({}).loose(), apy: z.array(z.object({}).loose()) })
  .loose();

/** The JSON body of a paid route's 402 (next to the PAYMENT-REQUIRED header); readable by x402 v1 clients as a refusal. */
export const PaymentRequiredBody = z
  .object({
    x402Version: z.literal(2).meta({ description: "this API speaks x402 v2 only: pay with the PAYMENT-SIGNATURE header" }),
    error: z.string().meta({ description: "why no content was served (a v1 client shows this and stops)" }),
    accepts: z.array(z.unknown()).max(0).meta({ description: "always empty here: v2 requirements are in the PAYMENT-REQUIRED header" }),
    paymentRequired: z.literal(true),
    endpoint: z.string(),
    method: z.string(),
    description: z.string(),
    price: usdc,
    asset: z.object({ symbol: z.literal("USDC"), mint: z.string(), decimals: z.number().int() }),
    network: z.string(),
    payTo: z.string(),
    quote: z.object({ basis: z.string(), wallet: z.string().nullable(), tier: z.string().nullable(), note: z.string().optional() }),
    discount: z
      .object({ tier: z.string(), discountBps: z.number().int(), percent: z.string(), originalPrice: usdc, discountedPrice: usdc, savings: usdc })
      .nullable(),
    stakingHint: z.object({ message: z.string(), appliesTo: z.string(), tiers: z.array(z.object({}).loose()), stakingUrl: z.string() }).loose(),
  })
  .meta({ id: "PaymentRequired" });

export const WellKnownX402 = z
  .object({
    x402Version: z.literal(2),
    openapi: z.string(),
    resources: z.array(
      z.object({
        resource: z.string(),
        method: z.string(),
        description: z.string(),
        scheme: z.literal("exact"),
        network: z.string(),
        asset: z.string(),
        payTo: z.string(),
        price: z.object({ mode: z.literal("range"), currency: z.literal("USDC"), min: z.string(), max: z.string() }),
      }),
    ),
  })
  .meta({ id: "WellKnownX402" });
