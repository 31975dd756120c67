/** `kamiyo-stake localnet --seed-demo` as a user runs it, then plain JSON-RPC calls (what curl would send). */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { decodeUserStake } from "../../src/solana/accounts.ts";
import { freePortPair } from "../kit/localnet.ts";

let child: ChildProcess;
let stateDir: string;
let out = "";
let url = "";

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "kamiyo-cli-localnet-"));
  // The chain listens for websockets on port + 1.
  const port = await freePortPair();
  child = spawn(process.execPath, ["cli/main.ts", "localnet", "--seed-demo", "--port", String(port)], {
    env: { ...process.env, LOCALNET_STATE_DIR: stateDir, LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 30_000;
  while (!/nonstaker/.test(out)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`localnet did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  url = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  await rm(stateDir, { recursive: true, force: true });
});

async function call(method: string, params: unknown[] = []): Promise<any> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: "curl", method, params }),
  });
  return res.json();
}

it("prints the demo wallets and serves their stake accounts over JSON-RPC", async () => {
  const wallets = [...out.matchAll(/^\s+(silver|gold|platinum|small|cooldown|nonstaker)\s+(\w+)\s+staked/gm)].map((m) => ({
    name: m[1]!,
    address: m[2]!,
  }));
  expect(wallets.map((w) => w.name)).toEqual(["silver", "gold", "platinum", "small", "cooldown", "nonstaker"]);
  expect((await readdir(join(stateDir, "wallets"))).sort()).toContain("staker-gold.json");

  const programId = /staking program (\w+)/.exec(out)![1]!;
  const body = await call("getProgramAccounts", [programId, { encoding: "base64", filters: [{ dataSize: 147 }] }]);
  expect(body.id).toBe("curl");
  const owners = new Set(
    (body.result as { account: { data: [string, string] } }[]).map((a) => decodeUserStake(Buffer.from(a.account.data[0], "base64")).owner),
  );
  for (const w of wallets.filter((w) => w.name !== "nonstaker")) expect(owners.has(w.address)).toBe(true);
  expect(owners.has(wallets.find((w) => w.name === "nonstaker")!.address)).toBe(false);

  expect((await call("getHealth")).result).toBe("ok");
  expect((await call("getGenesisHash")).result).toBe("EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG");
});

it("refuses a bad flag with one line and exit code 2", async () => {
  const bad = spawn(process.execPath, ["cli/main.ts", "localnet", "--port", "nope"], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  bad.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const code = await new Promise((r) => bad.once("exit", r));
  expect(code).toBe(2);
  expect(err.trim().split("\n")).toHaveLength(1);
  expect(err).toMatch(/--port/);
});
