import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { UsageError, type CommandEntry, type CommandModule, type ParsedArgs } from "../../cli/command.ts";
import { COMMANDS } from "../../cli/registry.ts";
import { runCli, topLevelUsage } from "../../cli/run.ts";
import pkg from "../../package.json" with { type: "json" };

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function capture() {
  let text = "";
  return { write: (s: string) => (text += s), get text() { return text; } };
}

async function cli(argv: string[], commands: readonly CommandEntry[], env: Record<string, string> = {}) {
  const stdout = capture();
  const stderr = capture();
  const code = await runCli(argv, { stdout, stderr, env }, commands);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

function entry(name: string, mod: Partial<CommandModule> | (() => Promise<never>)): CommandEntry {
  return {
    name,
    summary: `the ${name} command`,
    load: typeof mod === "function" ? mod : async () => ({ default: mod as CommandModule }),
  };
}

const seen: ParsedArgs[] = [];
const echo = entry("echo", {
  usage: "Usage: kamiyo-stake echo [--times N] [--loud] <words...>",
  options: { times: { type: "string" }, loud: { type: "boolean" } },
  positionals: true,
  async run(args, ctx) {
    seen.push(args);
    if (args.values.times !== undefined && !/^\d+$/.test(String(args.values.times))) throw new UsageError("--times must be a whole number");
    ctx.stdout.write(`${args.positionals.join(" ")}\n`);
    return 0;
  },
});
const port = entry("port", {
  usage: "Usage: kamiyo-stake port",
  async run(_args, ctx) {
    ctx.stdout.write(`${ctx.config().port}\n`);
  },
});
const crash = entry("crash", {
  usage: "Usage: kamiyo-stake crash",
  async run() {
    throw new Error("database unreachable");
  },
});
const multiline = entry("multiline", {
  usage: "Usage: kamiyo-stake multiline",
  async run() {
    throw new Error("relation \"stakes\" does not exist\n  hint: run migrate\n");
  },
});
const exitsThree = entry("three", { usage: "Usage: kamiyo-stake three", run: async () => 3 });
const missing = entry("missing", () => import(new URL("./no-such-command.ts", import.meta.url).href) as Promise<never>);
const noDefault = entry("nodefault", { summary: "not a module" } as Partial<CommandModule>);
const commands = [echo, port, crash, multiline, exitsThree, missing, noDefault];

const oneLine = (text: string) => {
  expect(text.endsWith("\n")).toBe(true);
  expect(text.trimEnd()).not.toContain("\n");
  expect(text).not.toMatch(/\bat .*:\d+:\d+/);
};

describe("runCli", () => {
  it("prints the command list for --help, -h and help", async () => {
    for (const argv of [["--help"], ["-h"], ["help"]]) {
      const r = await cli(argv, commands);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${topLevelUsage(commands)}\n`);
      for (const c of commands) expect(r.stdout).toMatch(new RegExp(`^  ${c.name} +the ${c.name} command$`, "m"));
    }
  });

  it("prints the package version for --version", async () => {
    const r = await cli(["--version"], commands);
    expect(r).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: "" });
  });

  it("prints usage on stderr with exit 2 when no command is given", async () => {
    const r = await cli([], commands);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Usage: kamiyo-stake <command>");
  });

  it("prints a command's usage for <cmd> --help and help <cmd>, without running it", async () => {
    for (const argv of [["echo", "--help"], ["echo", "-h"], ["help", "echo"]]) {
      seen.length = 0;
      const r = await cli(argv, commands);
      expect(r).toEqual({ code: 0, stdout: "Usage: kamiyo-stake echo [--times N] [--loud] <words...>\n", stderr: "" });
      expect(seen).toEqual([]);
    }
  });

  it("passes parsed flags and positionals", async () => {
    seen.length = 0;
    const r = await cli(["echo", "--times", "2", "--loud", "hello", "world"], commands);
    expect(r).toEqual({ code: 0, stdout: "hello world\n", stderr: "" });
    expect(seen).toEqual([{ values: { times: "2", loud: true }, positionals: ["hello", "world"] }]);
  });

  it("returns the command's exit code", async () => {
    expect((await cli(["three"], commands)).code).toBe(3);
  });

  it.each([
    [["nope"], "kamiyo-stake: unknown command 'nope' (see kamiyo-stake --help)\n"],
    [["--nope"], "kamiyo-stake: unknown option '--nope' (see kamiyo-stake --help)\n"],
    [["echo", "--bogus"], "kamiyo-stake: echo: Unknown option '--bogus' (see kamiyo-stake echo --help)\n"],
    [["echo", "--times"], "kamiyo-stake: echo: Option '--times <value>' argument missing (see kamiyo-stake echo --help)\n"],
    [["echo", "--loud=yes"], "kamiyo-stake: echo: Option '--loud' does not take an argument (see kamiyo-stake echo --help)\n"],
    [["echo", "--times", "x"], "kamiyo-stake: echo: --times must be a whole number (see kamiyo-stake echo --help)\n"],
  ])("%j is a usage error: one line, exit 2", async (argv, message) => {
    const r = await cli(argv, commands);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(message);
    expect(r.stdout).toBe("");
  });

  it("refuses positionals for a command that takes none", async () => {
    const r = await cli(["port", "extra"], commands);
    expect(r.code).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/^kamiyo-stake: port: Unexpected argument 'extra'/);
  });

  it("reports invalid configuration as one line with exit 2", async () => {
    const r = await cli(["port"], commands, { PORT: "abc" });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("kamiyo-stake: invalid configuration: PORT: must be an integer, as a decimal number\n");
  });

  it("keeps secrets out of configuration errors", async () => {
    const r = await cli(["port"], commands, { KAMIYO_CLUSTER: "devnet", ADMIN_API_KEY: "a-short-secret" });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("kamiyo-stake: invalid configuration: ADMIN_API_KEY: must be at least 16 characters\n");
  });

  it("loads configuration only when the command asks for it", async () => {
    const r = await cli(["echo", "hi"], commands, { PORT: "abc" });
    expect(r.code).toBe(0);
    expect((await cli(["port"], commands, { PORT: "8081" })).stdout).toBe("8081\n");
  });

  it("turns a failure into one line with exit 1, no stack", async () => {
    const r = await cli(["crash"], commands);
    expect(r).toEqual({ code: 1, stdout: "", stderr: "kamiyo-stake: crash: database unreachable\n" });
  });

  it("folds a multi-line message onto one line", async () => {
    const r = await cli(["multiline"], commands);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('kamiyo-stake: multiline: relation "stakes" does not exist hint: run migrate\n');
  });

  it("fails only the command whose module cannot load", async () => {
    const r = await cli(["missing"], commands);
    expect(r.code).toBe(1);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/^kamiyo-stake: missing: cannot load the command: .*no-such-command\.ts/);
    expect((await cli(["three"], commands)).code).toBe(3);
  });

  it("refuses a module that does not default-export a command", async () => {
    const r = await cli(["nodefault"], commands);
    expect(r).toEqual({ code: 1, stdout: "", stderr: "kamiyo-stake: nodefault: the command module does not default-export a command\n" });
  });
});

describe("the registry", () => {
  it("has unique names, one-line summaries, and the migrate and localnet commands", () => {
    const names = COMMANDS.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(["migrate", "localnet"]));
    for (const c of COMMANDS) expect(c.summary).not.toContain("\n");
  });

  it("loads migrate with its usage", async () => {
    const r = await cli(["migrate", "--help"], COMMANDS);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: kamiyo-stake migrate \[--down\]/);
  });
});

describe("the executables", () => {
  const run = (file: string, args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [file, ...args], { cwd: ROOT, env: { ...process.env, ...env }, encoding: "utf8", timeout: 30_000 });

  it("node cli/main.ts exits 2 with one line for an unknown command", () => {
    const r = run("cli/main.ts", ["frobnicate"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("kamiyo-stake: unknown command 'frobnicate' (see kamiyo-stake --help)\n");
  });

  it("node cli/main.ts exits 2 with one line for bad configuration", () => {
    const r = run("cli/main.ts", ["migrate"], { SOLANA_COMMITMENT: "fast" });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^kamiyo-stake: invalid configuration: SOLANA_COMMITMENT: [^\n]+\n$/);
  });

  it("bin/kamiyo-stake.js runs the CLI", () => {
    const r = run("bin/kamiyo-stake.js", ["--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("Usage: kamiyo-stake <command> [options]");
    const bad = run("bin/kamiyo-stake.js", ["migrate", "--nope"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe("kamiyo-stake: migrate: Unknown option '--nope' (see kamiyo-stake migrate --help)\n");
  });
});
