/**
 * The tree's floors, checked from the imports themselves: src (config, domain, solana, db) is the ground
 * floor; indexer, api and jobs stand on it in that order; cli is the roof. The local chain stands beside the
 * service: only the roof and tests may use it. The domain does no I/O.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), "../.."));
const FLOORS = ["src", "indexer", "api", "jobs", "cli"] as const;
type Floor = (typeof FLOORS)[number] | "localnet";

/** Packages and built-ins that do I/O; the domain may import none of them. */
const IO_MODULES = [
  /^pg($|-)/, /^kysely/, /^express/, /^bullmq/, /^ioredis/, /^ws$/, /^@bull-board\//, /^pino/, /^prom-client/,
  /^helius-sdk/, /^@jup-ag\//, /^@x402\//, /^@solana\/web3\.js/, /^@solana\/kit/, /^@coral-xyz\/anchor/, /^litesvm/,
  /^node:(fs|net|http|https|child_process|dgram|dns|tls|worker_threads)/, /^(fs|net|http|https|child_process)$/,
];

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...tsFiles(path));
    else if (name.endsWith(".ts")) out.push(path);
  }
  return out;
}

interface Import {
  from: string;
  spec: string;
  /** Repository-relative path of a relative import's target. */
  target: string | null;
}

function importsOf(file: string): Import[] {
  const text = readFileSync(file, "utf8");
  const specs = [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|(?:^|\n)\s*import\s*["']([^"']+)["']/g),
  ].map((m) => (m[1] ?? m[2] ?? m[3])!);
  const from = relative(ROOT, file).split(sep).join("/");
  return specs.map((spec) => ({
    from,
    spec,
    target: spec.startsWith(".") ? relative(ROOT, join(dirname(file), spec)).split(sep).join("/") : null,
  }));
}

const floorOf = (path: string): Floor | null => {
  const top = path.split("/")[0] as Floor;
  return [...FLOORS, "localnet"].includes(top) ? top : null;
};

const shipping = [...FLOORS, "localnet"].flatMap((d) => tsFiles(join(ROOT, d))).flatMap(importsOf);

describe("layering", () => {
  it("finds the imports it checks", () => {
    expect(shipping.length).toBeGreaterThan(300);
    expect(shipping.some((i) => i.from.startsWith("src/domain/"))).toBe(true);
  });

  it("no floor imports a floor above it, and only the roof uses the local chain", () => {
    const wrong = shipping.filter((i) => {
      const from = floorOf(i.from);
      const to = i.target === null ? null : floorOf(i.target);
      if (from === null || to === null || from === to) return false;
      if (to === "localnet") return from !== "cli";
      if (from === "localnet") return to !== "src";
      return FLOORS.indexOf(to as (typeof FLOORS)[number]) > FLOORS.indexOf(from as (typeof FLOORS)[number]);
    });
    expect(wrong.map((i) => `${i.from} -> ${i.spec}`)).toEqual([]);
  });

  it("the composition and the production commands do not import the local chain", () => {
    const demoCommands = new Set(["cli/commands/start.ts", "cli/commands/localnet.ts", "cli/commands/pay.ts", "cli/run.ts"]);
    const wrong = shipping.filter((i) => i.from.startsWith("cli/") && !demoCommands.has(i.from) && i.target?.startsWith("localnet/"));
    expect(wrong.map((i) => `${i.from} -> ${i.spec}`)).toEqual([]);
  });

  it("the domain does no I/O and imports nothing outside itself", () => {
    const wrong = shipping.filter(
      (i) =>
        i.from.startsWith("src/domain/") &&
        (i.target !== null ? !i.target.startsWith("src/domain/") : IO_MODULES.some((re) => re.test(i.spec))),
    );
    expect(wrong.map((i) => `${i.from} -> ${i.spec}`)).toEqual([]);
  });

  it("the domain does not reach the environment, the clock's I/O or the network by globals", () => {
    const files = tsFiles(join(ROOT, "src/domain"));
    const wrong = files.filter((f) => /\b(process\.env|fetch\(|new WebSocket|setTimeout|setInterval)\b/.test(readFileSync(f, "utf8")));
    expect(wrong.map((f) => relative(ROOT, f))).toEqual([]);
  });
});
