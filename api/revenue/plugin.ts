/**
 * The revenue reports as an app plugin, mounted by the composition beside the paywall (they read the ledger
 * the paywall writes, but are not part of taking payments): GET /x402/revenue/daily and /monthly, behind
 * the admin key.
 */
import type { Express } from "express";
import { revenueRoutes, type RevenueRoutesDeps } from "./routes.ts";

export function createRevenuePlugin(deps: RevenueRoutesDeps): (app: Express) => void {
  const routes = revenueRoutes(deps);
  return (app) => {
    app.use(routes);
  };
}
