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
];
