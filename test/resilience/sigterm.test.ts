/**
 * SIGTERM stops `kamiyo-stake api` within seconds while its database is black-holed (open and new
 * connections carry nothing): each service's stop has its own deadline, so the process does not sit until
 * the 8 s backstop of cli/main.ts.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Keypair } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, WEBHOOK_AUTH } from "../api/harness.ts";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { freePort } from "../kit/localnet.ts";
import { startTcpProxy, type TcpProxy } from "../kit/tcp-proxy.ts";
import { waitFor } from "../kit/wait-for.ts";

const MAIN = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));
/** Under the 8 s backstop, with slack for a loaded machine. */
const EXIT_WITHIN_MS = 6_000;

describe("SIGTERM with the database black-holed", () => {
  let schema: FreshSchema;
  let proxy: TcpProxy;
  let keyDir: string;
  beforeAll(async () => {
    schema = await withFreshSchema();
    proxy = await startTcpProxy(schema.url);
    keyDir = await mkdtemp(join(tmpdir(), "kamiyo-sigterm-"));
  });
  afterAll(async () => {
    await proxy?.close();
    await schema?.close();
    await rm(keyDir, { recursive: true, force: true });
  });

  it("stops `kamiyo-stake api` within seconds", async () => {
    const facilitatorKeypair = join(keyDir, "facilitator.json");
    await writeFile(facilitatorKeypair, JSON.stringify(Array.from(Keypair.generate().secretKey)));
    const url = new URL(proxy.url);
    url.searchParams.set("options", `-c search_path=${schema.schema}`);
    const port = await freePort();
    const child = spawn(process.execPath, [MAIN, "api", "--host", "127.0.0.1"], {
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: url.href,
        PORT: String(port),
        LOG_LEVEL: "silent",
        ADMIN_API_KEY: ADMIN_KEY,
        HELIUS_WEBHOOK_AUTH: WEBHOOK_AUTH,
        X402_FACILITATOR_KEYPAIR: facilitatorKeypair,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.once("exit", (code) => resolve({ code, at: Date.now() })));
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor("the API to answer /health", () => fetch(`${base}/health`).then((r) => r.ok).catch(() => false), { timeoutMs: 30_000, everyMs: 100 });
      proxy.blackHole();
      // Requests in flight on the silent database, as under traffic.
      const inFlight = Array.from({ length: 4 }, () => fetch(`${base}/x402/staking/info/${Keypair.generate().publicKey.toBase58()}`).catch(() => null));
      await waitFor("requests to reach the silent database", () => proxy.open > 0, { timeoutMs: 5_000, everyMs: 20 });
      const signalledAt = Date.now();
      child.kill("SIGTERM");
      const { code, at } = await exited;
      const ms = at - signalledAt;
      console.log(`[resilience] kamiyo-stake api, database black-holed: exited ${code} ${ms} ms after SIGTERM`);
      expect(ms).toBeLessThan(EXIT_WITHIN_MS);
      expect(stderr).toContain("SIGTERM received");
      await Promise.all(inFlight);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      proxy.restore();
    }
  });
});
