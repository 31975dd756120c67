/**
 * The contract between the CLI and its subcommands. A command module in `commands/` default-exports a
 * `CommandModule`; `registry.ts` names it and loads it only when that command runs.
 */
import type { ParseArgsOptionsConfig } from "node:util";
import type { Config } from "../src/config.ts";
import type { Logger } from "../src/log.ts";

export type ArgValue = string | boolean | (string | boolean)[] | undefined;

export interface ParsedArgs {
  /** Flag values keyed by long name, as node:util parseArgs returns them (`help` is handled by the CLI). */
  values: Record<string, ArgValue>;
  positionals: string[];
}

export interface Output {
  write(text: string): unknown;
}

export interface CommandContext {
  /** Validated configuration, loaded on first call; throws ConfigError, which the CLI prints as one line. */
  config(): Config;
  /** A pino logger at the configured LOG_LEVEL. */
  logger(name?: string): Logger;
  /** Human-facing results; logs go through `logger`. */
  stdout: Output;
  stderr: Output;
  /** Aborted on the first SIGINT or SIGTERM; long-running commands stop their work and resolve. */
  signal: AbortSignal;
}

export interface CommandModule {
  /** Full help text for `kamiyo-stake <name> --help`, starting with a "Usage:" line. */
  usage: string;
  /** Flags in node:util parseArgs form; `--help`/`-h` is added by the CLI. Parsing is strict. */
  options?: ParseArgsOptionsConfig;
  /** Whether the command takes positional arguments (default: no). */
  positionals?: boolean;
  /** Resolves to the exit code (default 0). Throw UsageError for bad arguments (exit 2). */
  run(args: ParsedArgs, ctx: CommandContext): Promise<number | void>;
}

export interface CommandEntry {
  name: string;
  /** One line for `kamiyo-stake --help`. */
  summary: string;
  load(): Promise<{ default: CommandModule }>;
}

/** The invocation is wrong (unknown flag, bad argument value); printed as one line, exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
}
