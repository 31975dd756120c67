/**
 * The command-line front end: finds the command, loads its module, parses its flags strictly and runs it.
 * Every failure ends as one line on stderr: exit 2 for a wrong invocation or configuration, 1 otherwise.
 */
import { parseArgs } from "node:util";
import { ConfigError, loadConfig, type Config } from "../src/config.ts";
import { describeError } from "../src/errors.ts";
import { createLogger } from "../src/log.ts";
import { localnetEnvDefaults } from "../localnet/demo-env.ts";
import pkg from "../package.json" with { type: "json" };
import { UsageError, type CommandContext, type CommandEntry, type CommandModule, type Output, type ParsedArgs } from "./command.ts";
import { COMMANDS } from "./registry.ts";

export interface CliIo {
  stdout: Output;
  stderr: Output;
  /** Passed to loadConfig; when omitted, config.ts reads the process environment. */
  env?: Record<string, string | undefined>;
  /** Aborted when the process is asked to stop. */
  signal?: AbortSignal;
}

const PROGRAM = "kamiyo-stake";

export function topLevelUsage(commands: readonly CommandEntry[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `Usage: ${PROGRAM} <command> [options]`,
    "",
    "KAMIYO staking discounts for x402 APIs on Solana: stake indexer, paid API and revenue pipeline.",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    `Run "${PROGRAM} <command> --help" for a command's options.`,
    "Configuration is read from environment variables (see README.md).",
  ].join("\n");
}

function isCommandModule(value: unknown): value is CommandModule {
  const m = value as Partial<CommandModule> | undefined;
  return typeof m?.run === "function" && typeof m.usage === "string";
}

export async function runCli(argv: readonly string[], io: CliIo, commands: readonly CommandEntry[] = COMMANDS): Promise<number> {
  const fail = (code: number, text: string): number => {
    io.stderr.write(`${PROGRAM}: ${text}\n`);
    return code;
  };
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr.write(`${topLevelUsage(commands)}\n`);
    return 2;
  }
  if (first === "--help" || first === "-h" || (first === "help" && rest.length === 0)) {
    io.stdout.write(`${topLevelUsage(commands)}\n`);
    return 0;
  }
  if (first === "help") return runCli([rest[0]!, "--help"], io, commands);
  if (first === "--version" || first === "-V") {
    io.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  if (first.startsWith("-")) return fail(2, `unknown option '${first}' (see ${PROGRAM} --help)`);
  const entry = commands.find((c) => c.name === first);
  if (!entry) return fail(2, `unknown command '${first}' (see ${PROGRAM} --help)`);
  const name = entry.name;

  let mod: CommandModule;
  try {
    const loaded = (await entry.load()).default;
    if (!isCommandModule(loaded)) return fail(1, `${name}: the command module does not default-export a command`);
    mod = loaded;
  } catch (err) {
    return fail(1, `${name}: cannot load the command: ${describeError(err)}`);
  }

  let args: ParsedArgs;
  try {
    const parsed = parseArgs({
      args: [...rest],
      options: { ...mod.options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: mod.positionals ?? false,
    });
    args = { values: { ...parsed.values }, positionals: parsed.positionals };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")) {
      // Node appends a hint about "--" for commands with positionals; the help pointer replaces it.
      const problem = describeError(err).replace(/\. To specify a positional argument .*$/, "");
      return fail(2, `${name}: ${problem} (see ${PROGRAM} ${name} --help)`);
    }
    return fail(1, `${name}: ${describeError(err)}`);
  }
  if (args.values.help === true) {
    io.stdout.write(`${mod.usage}\n`);
    return 0;
  }
  delete args.values.help;

  let config: Config | undefined;
  const ctx: CommandContext = {
    config: () => (config ??= loadConfig(io.env, { localnetDefaults: localnetEnvDefaults })),
    logger: (loggerName) => createLogger({ level: ctx.config().logLevel, name: loggerName ?? name }),
    stdout: io.stdout,
    stderr: io.stderr,
    signal: io.signal ?? new AbortController().signal,
  };
  try {
    return (await mod.run(args, ctx)) ?? 0;
  } catch (err) {
    if (err instanceof ConfigError) return fail(2, `invalid configuration: ${describeError(err)}`);
    if (err instanceof UsageError) return fail(2, `${name}: ${describeError(err)} (see ${PROGRAM} ${name} --help)`);
    return fail(1, `${name}: ${describeError(err)}`);
  }
}
