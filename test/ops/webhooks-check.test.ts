/** `webhooks check`: the periodic check that the Helius webhook is active, raw and covers the program (against the Helius double). */
import { afterEach, beforeEach, expect, it } from "vitest";
import { runCli } from "../../cli/run.ts";
import { STAKING_PROGRAM_PLACEHOLDER_ID } from "../../src/config.ts";
import { startHeliusDouble, type HeliusDouble } from "../api/helius-double.ts";

const API_KEY = "helius-test-key-check-7d1e";
const AUTH = "webhook-auth-for-check-test-01";
let helius: HeliusDouble;

beforeEach(async () => {
  helius = await startHeliusDouble(API_KEY);
});
afterEach(async () => {
  await helius.close();
});

async function cli(argv: string[], signal?: AbortSignal) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: { KAMIYO_CLUSTER: "localnet", LOG_LEVEL: "silent", HELIUS_API_KEY: API_KEY, HELIUS_API_URL: helius.url, HELIUS_WEBHOOK_AUTH: AUTH, PUBLIC_URL: "https://stake.example.com" },
    ...(signal ? { signal } : {}),
  });
  return { code, stdout, stderr };
}

it("passes once sync has run, and names each problem when the webhook drifts", async () => {
  const missing = await cli(["webhooks", "check"]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain("no Helius webhook delivers to https://stake.example.com/webhooks/helius");

  expect((await cli(["webhooks", "sync"])).code).toBe(0);
  const ok = await cli(["webhooks", "check"]);
  expect(ok.stderr).toBe("");
  expect(ok.code).toBe(0);
  expect(ok.stdout).toContain(`is active, raw and covers program ${STAKING_PROGRAM_PLACEHOLDER_ID}`);
  // Checking changes nothing.
  expect(helius.requests.filter((r) => r.method !== "GET").map((r) => r.method)).toEqual(["POST"]);

  const [hook] = [...helius.webhooks.values()];
  helius.webhooks.set(hook!.webhookID, { ...hook!, active: false, webhookType: "enhanced", accountAddresses: ["11111111111111111111111111111111"] });
  const drifted = await cli(["webhooks", "check"]);
  expect(drifted.code).toBe(1);
  expect(drifted.stderr).toContain("is inactive");
  expect(drifted.stderr).toContain(`does not cover the staking program ${STAKING_PROGRAM_PLACEHOLDER_ID}`);
  expect(drifted.stderr).toContain("is of type enhanced, not raw");
  expect(drifted.stderr).not.toContain(AUTH);
  expect(drifted.stderr).not.toContain(API_KEY);
});

it("checks periodically with --every until stopped, and refuses a bad interval", async () => {
  expect((await cli(["webhooks", "sync"])).code).toBe(0);
  const stop = new AbortController();
  const running = cli(["webhooks", "check", "--every", "10"], stop.signal);
  const { waitFor } = await import("../kit/wait-for.ts");
  await waitFor("the first check", () => helius.requests.filter((r) => r.method === "GET").length >= 2, { timeoutMs: 5000, everyMs: 20 });
  stop.abort();
  const done = await running;
  expect(done.code).toBe(0);
  expect(done.stdout).toContain("is active, raw and covers program");
  const bad = await cli(["webhooks", "check", "--every", "1"]);
  expect(bad.code).toBe(2);
});
