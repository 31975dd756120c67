/**
 * Nothing silent outside localnet (issue 14): every variable a devnet/mainnet process needs stops start-up
 * with one line naming it when it is missing, keypair files holding a demo key are refused by value, and the
 * check runs before any connection is opened (the CLI exits 2 with a database that is not even there).
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Keypair } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validate, type Role } from "../../cli/compose.ts";
import { demoKeypair } from "../../localnet/demo-keys.ts";
import { ConfigError, loadConfig, USDC_MINT_BY_CLUSTER } from "../../src/config.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
let dir: string;
let freshKey: string;
const demoKeyFile = (name: string) => join(dir, `${name}.json`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kamiyo-prod-config-"));
  freshKey = join(dir, "fresh.json");
  await writeFile(freshKey, JSON.stringify([...Keypair.generate().secretKey]));
  for (const name of ["admin", "payTo", "facilitator", "jupiterLiquidity"]) await writeFile(demoKeyFile(name), JSON.stringify([...demoKeypair(name).secretKey]));
  await writeFile(join(dir, "garbage.json"), "[1,2,3]");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Everything a devnet deployment of every role sets, with keys of its own. */
const devnet = (): Record<string, string> => ({
  KAMIYO_CLUSTER: "devnet",
  DATABASE_URL: "postgres://kamiyo@db.internal:5432/kamiyo",
  REDIS_URL: "redis://redis.internal:6379",
  SOLANA_RPC_URL: "https://rpc.example.com",
  SOLANA_WS_URL: "wss://rpc.example.com",
  STAKING_PROGRAM_ID: "Fg6PaFpoGXkYsidMpWTK6W2BeZ7FEfcYkg476zPFsLnS",
  KAMIYO_MINT: "5KjsrpAy6PZcFdRZY8QZC6B8qVchxeXNgQBeyjqxtEsw",
  X402_PAY_TO: Keypair.generate().publicKey.toBase58(),
  ADMIN_API_KEY: "an-operator-admin-key-0001",
  HELIUS_WEBHOOK_AUTH: "an-operator-webhook-auth-01",
  X402_FACILITATOR_KEYPAIR: freshKey,
  ADMIN_KEYPAIR_PATH: freshKey,
  JUPITER_API_URL: "https://api.jup.ag",
});

function refusal(env: Record<string, string>, roles: Role[] = ["api", "indexer", "worker"]): string {
  try {
    validate(loadConfig(env), roles);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("accepted");
}

describe("a devnet deployment", () => {
  it("starts with everything set, USDC defaulting to Circle's devnet mint", () => {
    const config = loadConfig(devnet());
    expect(() => validate(config, ["api", "indexer", "worker"])).not.toThrow();
    expect(config.solana.usdcMint).toBe(USDC_MINT_BY_CLUSTER.devnet);
  });

  it.each(["DATABASE_URL", "REDIS_URL", "SOLANA_RPC_URL", "SOLANA_WS_URL", "STAKING_PROGRAM_ID", "KAMIYO_MINT", "X402_PAY_TO", "ADMIN_API_KEY", "HELIUS_WEBHOOK_AUTH"])(
    "refuses to start without %s, naming it",
    (name) => {
      const env = devnet();
      delete env[name];
      expect(refusal(env)).toMatch(new RegExp(`^${name}: required when KAMIYO_CLUSTER is devnet`));
    },
  );

  it.each([
    ["X402_FACILITATOR_KEYPAIR", ["api"]],
    ["ADMIN_KEYPAIR_PATH", ["worker"]],
    ["JUPITER_API_URL", ["worker"]],
  ] as [string, Role[]][])("refuses to start %s's role without it, naming it", (name, roles) => {
    const env = devnet();
    delete env[name];
    expect(refusal(env, roles)).toMatch(new RegExp(`^${name}: required by`));
    // Roles that do not sign with it start without it.
    expect(() => validate(loadConfig(env), ["indexer"])).not.toThrow();
  });

  it("needs no facilitator keypair when a hosted facilitator is configured", () => {
    const env: Record<string, string> = { ...devnet(), X402_FACILITATOR_URL: "https://facilitator.example.com" };
    delete env.X402_FACILITATOR_KEYPAIR;
    expect(() => validate(loadConfig(env), ["api"])).not.toThrow();
  });

  it.each([
    ["X402_FACILITATOR_KEYPAIR", "facilitator", ["api"]],
    ["X402_FACILITATOR_KEYPAIR", "admin", ["api"]],
    ["ADMIN_KEYPAIR_PATH", "admin", ["worker"]],
    ["ADMIN_KEYPAIR_PATH", "jupiterLiquidity", ["worker"]],
    ["ADMIN_KEYPAIR_PATH", "payTo", ["worker"]],
  ] as [string, string, Role[]][])("refuses %s holding the demo %s key, by value", (name, demo, roles) => {
    expect(refusal({ ...devnet(), [name]: demoKeyFile(demo) }, roles)).toMatch(
      new RegExp(`^${name}: .*holds the local chain's demo ${demo} key \\(${demoKeypair(demo).publicKey.toBase58()}\\), whose secret key is public`),
    );
  });

  it("refuses X402_PAY_TO set to the demo payTo wallet", () => {
    expect(refusal({ ...devnet(), X402_PAY_TO: demoKeypair("payTo").publicKey.toBase58() })).toMatch(/^X402_PAY_TO: .* demo payTo wallet/);
  });

  it.each([
    ["X402_FACILITATOR_KEYPAIR", ["api"], "missing.json", /no such file/],
    ["ADMIN_KEYPAIR_PATH", ["worker"], "garbage.json", /not a JSON array of 64 bytes/],
  ] as [string, Role[], string, RegExp][])("refuses %s naming a file that is not a keypair", (name, roles, file, problem) => {
    const message = refusal({ ...devnet(), [name]: join(dir, file) }, roles);
    expect(message).toMatch(new RegExp(`^${name}: `));
    expect(message).toMatch(problem);
  });

  it("refuses a facilitator timeout shorter than a settle may take", () => {
    expect(refusal({ ...devnet(), X402_MAX_TIMEOUT_SECONDS: "60", X402_FACILITATOR_TIMEOUT_SECONDS: "30" })).toMatch(/^X402_FACILITATOR_TIMEOUT_SECONDS: 30 is shorter than X402_MAX_TIMEOUT_SECONDS \(60\)/);
  });

  it("reads the fee caps, the feature switches and the rate limits, with safe defaults", () => {
    const c = loadConfig(devnet());
    expect(c.x402.feeCaps).toEqual({ maxComputeUnits: 50_000, maxPriorityFeeMicroLamports: 10_000, maxRequiredSignatures: 2 });
    expect(c.features).toEqual({ paywall: true, revenueReports: true, dashboard: true, queueUi: true });
    expect(c.x402.facilitatorTimeoutSeconds).toBe(75);
    const off = loadConfig({ ...devnet(), API_PAYWALL: "false", API_QUEUE_UI: "false", X402_FACILITATOR_HEADERS: '{"x-api-key":"k"}' });
    expect(off.features).toMatchObject({ paywall: false, queueUi: false });
    expect(off.x402.facilitatorHeaders).toEqual({ "x-api-key": "k" });
    expect(() => loadConfig({ ...devnet(), API_DASHBOARD: "off" })).toThrow(/^API_DASHBOARD: must be true or false/);
  });

  it("stops `kamiyo-stake api` with one line before opening any connection", () => {
    const env = { ...devnet(), DATABASE_URL: "postgres://nobody@127.0.0.1:9/none", REDIS_URL: "redis://127.0.0.1:9" };
    delete (env as Record<string, string | undefined>).X402_FACILITATOR_KEYPAIR;
    const r = spawnSync(process.execPath, ["cli/main.ts", "api"], { cwd: ROOT, env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8", timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([
      "kamiyo-stake: invalid configuration: X402_FACILITATOR_KEYPAIR: required by the api role unless X402_FACILITATOR_URL is set when KAMIYO_CLUSTER is devnet",
    ]);
  });

  it("stops `kamiyo-stake worker` on a demo admin key file, naming the variable", () => {
    const env = { ...devnet(), ADMIN_KEYPAIR_PATH: demoKeyFile("admin"), DATABASE_URL: "postgres://nobody@127.0.0.1:9/none" };
    const r = spawnSync(process.execPath, ["cli/main.ts", "worker"], { cwd: ROOT, env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8", timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^kamiyo-stake: invalid configuration: ADMIN_KEYPAIR_PATH: .* demo admin key/);
  });
});
