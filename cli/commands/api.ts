/** `kamiyo-stake api`: the read API, the Helius webhook receiver, /health, /ready and /metrics on PORT. */
import { collectDefaultMetrics, Registry } from "prom-client";
import { createApp } from "../../api/app.ts";
import { assertMigrated } from "../../api/database-check.ts";
import { listen } from "../../api/server.ts";
import { untilAborted } from "../../api/services.ts";
import { createIndexerApi } from "../../indexer/index.ts";
import { createDatabase } from "../../src/db/database.ts";
import { describeError } from "../../src/errors.ts";
import type { CommandModule } from "../command.ts";

export default {
  usage: `Usage: kamiyo-stake api [--host ADDRESS]

Serves, on PORT:
  GET  /x402/staking/info/:wallet   a wallet's stake, tier and discount (from the stakes table)
  GET  /x402/discount-tiers         the tier table
  POST /x402/admin/resync/:wallet   re-read a wallet's stake from chain (ADMIN_API_KEY)
  POST /webhooks/helius             Helius raw deliveries (HELIUS_WEBHOOK_AUTH), stored for the indexer
  GET  /health, /ready, /metrics

The database must be migrated (kamiyo-stake migrate); the indexer runs separately (or use start).

Options:
  --host ADDRESS  interface to listen on (default 0.0.0.0)
  -h, --help      show this help`,
  options: { host: { type: "string" } },
  async run(args, ctx) {
    const config = ctx.config();
    const logger = ctx.logger("api");
    const host = typeof args.values.host === "string" ? args.values.host : "0.0.0.0";
    const database = createDatabase({
      url: config.databaseUrl,
      applicationName: "kamiyo-stake api",
      onIdleError: (err) => logger.warn({ reason: describeError(err) }, "idle database connection failed"),
    });
    try {
      await assertMigrated(database.db);
      const registry = new Registry();
      collectDefaultMetrics({ register: registry });
      const app = createApp({
        config,
        db: database.db,
        logger,
        metrics: registry,
        indexerApi: createIndexerApi({ config, db: database.db, logger: logger.child({ component: "indexer-api" }) }),
      });
      const server = await listen(app, { port: config.port, host });
      logger.info({ url: server.url }, "API listening");
      ctx.stdout.write(`API listening on ${server.url} (health /health, readiness /ready, metrics /metrics)\n`);
      await untilAborted(ctx.signal);
      await server.close();
    } finally {
      await database.close();
    }
  },
} satisfies CommandModule;
