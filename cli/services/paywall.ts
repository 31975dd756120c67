import { describedBy, paidOperations, REVENUE_OPERATIONS } from "../../api/openapi/operations.ts";
import { createPaywallPlugin } from "../../api/paywall/plugin.ts";
import { createRevenuePlugin } from "../../api/revenue/plugin.ts";
import type { CompositionOptions, CompositionState } from "../compose.ts";
import type { Service } from "../services.ts";
import { need, type LogFor } from "./common.ts";

export function paywallService(state: CompositionState, o: CompositionOptions, log: LogFor): Service {
  return {
    name: "paywall",
    async start() {
      const db = need(state.database, "the database");
      const plugin = createPaywallPlugin({
        config: state.config,
        db: db.db,
        database: { url: state.config.databaseUrl, ...(o.dbSchema !== undefined ? { schema: o.dbSchema } : {}) },
        logger: log("paywall"),
        metrics: state.registry,
      });
      state.paywall = plugin;
      try {
        await plugin.ready();
      } catch (err) {
        await plugin.close();
        state.paywall = null;
        throw err;
      }
      // The revenue reports read the ledger the paywall writes; they are mounted beside it.
      state.plugins.push(describedBy(plugin, paidOperations(state.config)));
    },
    async stop() {
      await state.paywall?.close();
      state.paywall = null;
    },
  };
}

/** The revenue reports read the ledger the paywall writes (any replica's); API_REVENUE_REPORTS. */
export function revenueService(state: CompositionState): Service {
  return {
    name: "revenue reports",
    start() {
      const db = need(state.database, "the database");
      state.plugins.push(describedBy(createRevenuePlugin({ db: db.db, adminKey: state.config.adminApiKey }), REVENUE_OPERATIONS));
      return Promise.resolve();
    },
    stop: () => Promise.resolve(),
  };
}
