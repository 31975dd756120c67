/**
 * The `api` and `start` commands as an operator runs them: `api` in-process through the CLI, `start` as a
 * child process (`node cli/main.ts start`, what `npm start` runs) stopped with SIGINT.
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Keypair } from "@solana/web3.js";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../../cli/run.ts";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { ADMIN_KEY, json, WEBHOOK_AUTH } from "./harness.ts";
import { freePort, freePortPair } from "../kit/localnet.ts";
import { waitFor } from "../kit/wait-for.ts";
import { createStakeClient, KAMIYO } from "./stake-client.ts";

const MAIN = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** DATABASE_URL whose connections use only `schema` (pg passes `options` to the server). */
const schemaUrl = (s: FreshSchema) => {
  const url = new URL(s.url);
  url.searchParams.set("options", `-c search_path=${s.schema}`);
  return url.href;
};

async function freshSchema(migrate: boolean): Promise<FreshSchema> {
  const s = await withFreshSchema({ migrate });
  cleanups.push(() => s.close());
  return s;
}

describe("kamiyo-stake api", () => {
  it("serves on PORT until the stop signal, then exits 0", async () => {
    const schema = await freshSchema(true);
    const port = await freePort();
    const stop = new AbortController();
    // The api process serves the paywall too: its in-process facilitator signs with a key of its own.
    const keyDir = await mkdtemp(join(tmpdir(), "kamiyo-api-"));
    cleanups.push(() => rm(keyDir, { recursive: true, force: true }));
    const facilitatorKeypair = join(keyDir, "facilitator.json");
    await writeFile(facilitatorKeypair, JSON.stringify(Array.from(Keypair.generate().secretKey)));
    let stdout = "";
    let stderr = "";
    const exit = runCli(["api", "--host", "127.0.0.1"], {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: (t: string) => (stderr += t) },
      env: {
        DATABASE_URL: schemaUrl(schema),
        PORT: String(port),
        LOG_LEVEL: "silent",
        ADMIN_API_KEY: ADMIN_KEY,
        HELIUS_WEBHOOK_AUTH: WEBHOOK_AUTH,
        X402_FACILITATOR_KEYPAIR: facilitatorKeypair,
      },
      signal: stop.signal,
    });
    cleanups.push(async () => {
      stop.abort();
      await exit;
    });
    const base = `http://127.0.0.1:${port}`;
    await waitFor("the API to answer /health", () => fetch(`${base}/health`).then((r) => r.ok).catch(() => false));
    // The banner names the facilitator in use (issue 14).
    expect(stdout).toBe(`API listening on ${base} (health /health, readiness /ready, metrics /metrics) [facilitator: in-process against http://127.0.0.1:8899]\n`);
    expect((await fetch(`${base}/ready`)).status).toBe(503);
    expect(await json(await fetch(`${base}/x402/discount-tiers`))).toMatchObject({ decimals: 9 });
    // Node's default metrics are on the same registry.
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^process_cpu_seconds_total /m);
    stop.abort();
    expect(await exit).toBe(0);
    expect(stderr).toBe("");
    await expect(fetch(`${base}/health`)).rejects.toThrow();
  });

  it("refuses to start on a database that is not migrated, in one line", async () => {
    const schema = await freshSchema(false);
    let stderr = "";
    const code = await runCli(["api"], {
      stdout: { write: () => true },
      stderr: { write: (t: string) => (stderr += t) },
      env: { DATABASE_URL: schemaUrl(schema), PORT: String(await freePort()), LOG_LEVEL: "silent" },
    });
    expect(code).toBe(1);
    expect(stderr).toBe("kamiyo-stake: api: the database has no stakes table; run kamiyo-stake migrate\n");
  });
});

describe("kamiyo-stake start", () => {
  it("runs chain, migrations, indexer and API in one process, shows a new stake without restart, and stops on SIGINT", async () => {
    const schema = await freshSchema(false);
    const stateDir = await mkdtemp(join(tmpdir(), "kamiyo-start-"));
    cleanups.push(() => rm(stateDir, { recursive: true, force: true }));
    const apiPort = await freePort();
    const rpcPort = await freePortPair();
    const jupiterPort = await freePort();
    // The pipeline's BullMQ keys get a prefix of their own, removed afterwards.
    const jobsPrefix = `test-start-${randomBytes(6).toString("hex")}`;
    cleanups.push(async () => {
      const redis = new Redis("redis://127.0.0.1:6379", { maxRetriesPerRequest: 1 });
      try {
        const keys = await redis.keys(`${jobsPrefix}:*`);
        if (keys.length > 0) await redis.del(...keys);
      } finally {
        redis.disconnect();
      }
    });
    const child = spawn(process.execPath, [MAIN, "start"], {
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: schemaUrl(schema),
        PORT: String(apiPort),
        LOCALNET_RPC_PORT: String(rpcPort),
        LOCALNET_STATE_DIR: stateDir,
        LOCALNET_SLOT_MS: "100",
        JUPITER_API_URL: `http://127.0.0.1:${jupiterPort}`,
        JOBS_QUEUE_PREFIX: jobsPrefix,
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
    });

    await waitFor("start to print that it is up", async () => stdout.includes("Ctrl-C stops everything."), { timeoutMs: 60_000, everyMs: 50 }).catch((err) => {
      throw new Error(`start did not come up: ${String(err)}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
    });
    const api = `http://127.0.0.1:${apiPort}`;
    expect(stdout).toContain(`API        ${api}`);
    expect(stdout).toContain(`RPC        http://127.0.0.1:${rpcPort}   websocket ws://127.0.0.1:${rpcPort + 1}`);
    expect(stdout).not.toMatch(/password|localnet-admin-key/);
    const gold = /^ {2}gold {7}(\S+) {2}staked 600000 KAMIYO$/m.exec(stdout)?.[1];
    expect(gold).toBeDefined();
    expect(stdout).toContain(`curl ${api}/x402/staking/info/${gold}`);

    expect((await fetch(`${api}/ready`)).status).toBe(200);
    expect(await json(await fetch(`${api}/x402/staking/info/${gold}`))).toMatchObject({ tier: "gold", discountBps: 2000 });

    const programId = /^ {2}program {4}(\S+)$/m.exec(stdout)![1]!;
    const mint = /KAMIYO mint (\S+)$/m.exec(stdout)![1]!;
    const chain = createStakeClient({ rpcUrl: `http://127.0.0.1:${rpcPort}`, programId, kamiyoMint: mint });
    const user = Keypair.generate();
    await chain.fund(user, 2_000_000n * KAMIYO);
    await chain.stake(user, 1_000_000n * KAMIYO);
    const body = await waitFor("the new stake's tier", async () => {
      const b = await json(await fetch(`${api}/x402/staking/info/${user.publicKey.toBase58()}`));
      return b.tier === "platinum" ? b : null;
    });
    expect(body).toMatchObject({ discountBps: 3000, priority: "premium", staked: { ui: "1000000" } });

    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(stderr).toContain("SIGINT received, stopping");
  }, 90_000);
});
