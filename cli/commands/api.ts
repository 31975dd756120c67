/** `kamiyo-stake api`: the HTTP API of the one composition (read routes, webhooks, paywall, reports, UI). */
import type { CommandModule } from "../command.ts";
import { runProcess } from "../run-process.ts";

export default {
  usage: `Usage: kamiyo-stake api [--host ADDRESS]

Serves, on PORT:
  GET  /api/premium (X402_ROUTES)   paid with x402 (USDC), discounted for the paying wallet's stake
  GET  /x402/staking/info/:wallet   a wallet's stake, tier and discount (from the stakes table)
  GET  /x402/discount-tiers         the tier table
  GET  /x402/revenue/daily|monthly  revenue reports (ADMIN_API_KEY)
  GET  /x402/analytics/dashboard    revenue, discounts and staking totals (ADMIN_API_KEY)
  GET  /admin/queues                the revenue pipeline's queue UI (ADMIN_API_KEY, HTTP Basic)
  POST /x402/admin/resync/:wallet   re-read a wallet's stake from chain (ADMIN_API_KEY)
  POST /webhooks/helius             Helius raw deliveries (HELIUS_WEBHOOK_AUTH), stored for the indexer
  GET  /health, /ready, /metrics

Any number of replicas may share one database and Redis. The database must be migrated
(kamiyo-stake migrate); the indexer and the worker run as their own processes (or use start).

Options:
  --host ADDRESS  interface to listen on (default 0.0.0.0)
  -h, --help      show this help`,
  options: { host: { type: "string" } },
  async run(args, ctx) {
    await runProcess(ctx, {
      roles: ["api"],
      applicationName: "kamiyo-stake api",
      apiHost: typeof args.values.host === "string" ? args.values.host : "0.0.0.0",
      banner: (state) => `API listening on ${state.api?.url ?? "?"} (health /health, readiness /ready, metrics /metrics)`,
    });
  },
} satisfies CommandModule;
