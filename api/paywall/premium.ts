/**
 * The demo paid route's handler (`GET /api/premium` by default): reached only after the paywall verified a
 * payment, and it answers what was bought: who paid, what was charged and which discount applied.
 */
import type { RequestHandler } from "express";
import { discountJson, usdcJson } from "./quote-body.ts";
import { paywallRequests } from "./request-state.ts";

export function premiumHandler(): RequestHandler {
  return (_req, res) => {
    const state = paywallRequests.getStore();
    // Only reachable through the paywall, which always sets these; anything else is refused, never served.
    if (!state?.payment || !state.decision) {
      res.status(402).json({ error: "payment_required", message: "this route is served only after payment" });
      return;
    }
    res.set("Cache-Control", "private, no-store").json({
      premium: true,
      message: "Premium KAMIYO API access: thank you for paying with x402.",
      payer: state.payment.payer,
      charged: usdcJson(state.decision.amount),
      discount: discountJson(state.decision),
      servedAt: new Date().toISOString(),
    });
  };
}
