/** The x402 paywall plugin for api/app.ts: `plugins: [createPaywallPlugin(deps)]`. */
export { createPaywallPlugin, PREMIUM_ROUTE, WALLET_HINT_HEADER, type PaywallDeps, type PaywallPlugin, type PaywallStatus } from "./plugin.ts";
export { FacilitatorUnavailableError, createHostedFacilitator, createInProcessFacilitator } from "./facilitator.ts";
