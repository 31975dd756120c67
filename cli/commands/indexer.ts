/** `kamiyo-stake indexer`: the stake indexer in the foreground until SIGINT/SIGTERM. */
import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";
import { describeError } from "../../src/errors.ts";
import { UsageError, type CommandContext, type CommandModule } from "../command.ts";
import { runProcess } from "../run-process.ts";
import { createProgressReporter } from "../../indexer/backfill-progress.ts";
import type { Service } from "../services.ts";

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
    await runProcess(ctx, {
      roles: ["indexer"],
      applicationName: "kamiyo-stake indexer",
      indexerOptions: {
        onBackfillProgress: createProgressReporter({ stream: ctx.stderr, logger: ctx.logger() }),
        ...(reconcileEvery !== undefined ? { reconcileIntervalMs: reconcileEvery * 1000 } : {}),
        ...(stallTimeout !== undefined ? { stallTimeoutMs: stallTimeout * 1000 } : {}),
      },
      extra: (state) => (metricsPort === undefined ? [] : [metricsListener(state.registry, metricsPort, ctx)]),
      banner: (state) => `indexer started for program ${state.config.solana.programId} (${state.config.solana.rpcUrl}, ${state.config.solana.wsUrl})`,
    });
  },
} satisfies CommandModule;

/** This process's Prometheus metrics on 127.0.0.1:port/metrics. */
function metricsListener(registry: Registry, port: number, ctx: CommandContext): Service {
  let server: Server | null = null;
  return {
    name: "metrics listener",
    async start() {
      const listening = createServer((req, res) => {
        if (req.method !== "GET" || req.url !== "/metrics") {
          res.writeHead(404).end();
          return;
        }
        registry.metrics().then(
          (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
          (err: unknown) => res.writeHead(500).end(describeError(err)),
        );
      });
      await new Promise<void>((resolve, reject) => {
        listening.once("error", reject);
        listening.listen(port, "127.0.0.1", () => resolve());
      });
      server = listening;
      ctx.stdout.write(`indexer metrics at http://127.0.0.1:${port}/metrics\n`);
    },
    async stop() {
      const s = server;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
      server = null;
    },
  };
}
