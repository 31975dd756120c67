/** `kamiyo-stake indexer`: the stake indexer in the foreground until SIGINT/SIGTERM. */
import { createServer, type Server } from "node:http";
import { collectDefaultMetrics, Registry } from "prom-client";
import { createIndexer } from "../../indexer/indexer.ts";
import { createDatabase } from "../../src/db/database.ts";
import { describeError } from "../../src/errors.ts";
import { UsageError, type CommandModule } from "../command.ts";

export default {
  usage: `Usage: kamiyo-stake indexer [--metrics-port N] [--reconcile-every SECONDS] [--stall-timeout SECONDS]

Keeps the stakes table equal to the chain: subscribes to the staking program over SOLANA_WS_URL, backfills
from SOLANA_RPC_URL, processes stored Helius webhook deliveries, and reconciles periodically. One instance
leads (a Postgres advisory lock); others wait as standbys and take over when the leader dies. Status is
written to the indexer_state table for the API's /ready and /metrics. Run "kamiyo-stake migrate" first.

Options:
  --metrics-port N           also serve this process's Prometheus metrics on http://127.0.0.1:N/metrics
  --reconcile-every SECONDS  seconds between reconciliations (default 300; 0 disables)
  --stall-timeout SECONDS    seconds without slot progress before the websocket is replaced (default 15)
  -h, --help                 show this help`,
  options: {
    "metrics-port": { type: "string" },
    "reconcile-every": { type: "string" },
    "stall-timeout": { type: "string" },
  },
  async run(args, ctx) {
    const config = ctx.config();
    const int = (name: string, min: number, max: number): number | undefined => {
      const raw = args.values[name];
      if (raw === undefined) return undefined;
      const n = Number(raw);
      if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer in ${min}..${max}`);
      return n;
    };
    const metricsPort = int("metrics-port", 1, 65535);
    const reconcileEvery = int("reconcile-every", 0, 86_400);
    const stallTimeout = int("stall-timeout", 1, 3_600);
    const logger = ctx.logger("indexer");
    const database = createDatabase({
      url: config.databaseUrl,
      applicationName: "kamiyo-stake indexer",
      onIdleError: (err) => logger.warn({ err: describeError(err) }, "idle database connection failed"),
    });
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const indexer = createIndexer({
      config,
      db: database.db,
      pool: database.pool,
      logger,
      registry,
      options: {
        ...(reconcileEvery !== undefined ? { reconcileIntervalMs: reconcileEvery * 1000 } : {}),
        ...(stallTimeout !== undefined ? { stallTimeoutMs: stallTimeout * 1000 } : {}),
      },
    });
    let server: Server | null = null;
    try {
      if (metricsPort !== undefined) {
        server = createServer((req, res) => {
          if (req.method !== "GET" || req.url !== "/metrics") {
            res.writeHead(404).end();
            return;
          }
          registry.metrics().then(
            (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
            (err: unknown) => res.writeHead(500).end(describeError(err)),
          );
        });
        const listening = server;
        await new Promise<void>((resolve, reject) => {
          listening.once("error", reject);
          listening.listen(metricsPort, "127.0.0.1", () => resolve());
        });
        ctx.stdout.write(`indexer metrics at http://127.0.0.1:${metricsPort}/metrics\n`);
      }
      await indexer.start();
      ctx.stdout.write(`indexer started for program ${config.solana.programId} (${config.solana.rpcUrl}, ${config.solana.wsUrl})\n`);
      await new Promise<void>((resolve) => {
        if (ctx.signal.aborted) resolve();
        else ctx.signal.addEventListener("abort", () => resolve(), { once: true });
      });
    } finally {
      await indexer.stop();
      if (server) {
        const s = server;
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
      await database.close();
    }
  },
} satisfies CommandModule;
