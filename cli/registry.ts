/** Every subcommand, in help order. A module is imported only when its command runs. */
import type { CommandEntry, CommandModule } from "./command.ts";

// By URL rather than a literal specifier, so a command whose module is absent or fails to load breaks only
// itself (at run time) and not type-checking or the other commands. Modules check themselves with
// `export default { ... } satisfies CommandModule`.
const lazy = (file: string) => () =>
  import(new URL(`./commands/${file}`, import.meta.url).href) as Promise<{ default: CommandModule }>;

export const COMMANDS: readonly CommandEntry[] = [
  { name: "migrate", summary: "Create the database if missing and apply (or revert) migrations", load: lazy("migrate.ts") },
  { name: "localnet", summary: "Run the local Solana chain (JSON-RPC, websockets) with demo stakes", load: lazy("localnet.ts") },
  { name: "indexer", summary: "Run the stake indexer (websocket, webhook inbox, backfill, reconciliation) until stopped", load: lazy("indexer.ts") },
  { name: "start", summary: "Run everything locally: chain with demo stakes, migrations, indexer, paywall, pipeline and API", load: lazy("start.ts") },
  { name: "api", summary: "Serve the read API, Helius webhook receiver, health and metrics on PORT", load: lazy("api.ts") },
  { name: "webhooks", summary: "Create or update the Helius webhook for the staking program (webhooks sync)", load: lazy("webhooks.ts") },
  { name: "worker", summary: "Run the revenue pipeline workers and set up its daily schedule", load: lazy("worker.ts") },
  { name: "pay", summary: "Pay for a paid route with x402 from a (demo) wallet and print the answer", load: lazy("pay.ts") },
  { name: "jobs", summary: "Revenue pipeline runs: jobs run --date YYYY-MM-DD, jobs status", load: lazy("jobs.ts") },
  { name: "ledger", summary: "Reconcile the x402 revenue ledger with the chain: ledger reconcile [--since YYYY-MM-DD]", load: lazy("ledger.ts") },
];
