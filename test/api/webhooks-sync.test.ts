/** `kamiyo-stake webhooks sync` through the real CLI and helius-sdk, against a local double of the Helius API. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../../cli/run.ts";
import { STAKING_PROGRAM_PLACEHOLDER_ID } from "../../src/config.ts";
import { startHeliusDouble, type HeliusDouble } from "./helius-double.ts";

const API_KEY = "helius-test-key-5f2c9a";
const AUTH = "webhook-auth-for-sync-test-0001";
let helius: HeliusDouble;

beforeEach(async () => {
  helius = await startHeliusDouble(API_KEY);
});
afterEach(async () => {
  await helius?.close();
});

async function sync(env: Record<string, string> = {}) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(["webhooks", "sync"], {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: {
      KAMIYO_CLUSTER: "localnet",
      LOG_LEVEL: "silent",
      HELIUS_API_KEY: API_KEY,
      HELIUS_API_URL: helius.url,
      HELIUS_WEBHOOK_AUTH: AUTH,
      PUBLIC_URL: "https://stake.example.com",
      ...env,
    },
  });
  return { code, stdout, stderr };
}

const expected = {
  webhookURL: "https://stake.example.com/webhooks/helius",
  transactionTypes: ["ANY"],
  accountAddresses: [STAKING_PROGRAM_PLACEHOLDER_ID],
  webhookType: "raw",
  authHeader: AUTH,
  txnStatus: "all",
};

describe("webhooks sync", () => {
  it("creates the webhook when Helius has none for this URL", async () => {
    const { code, stdout, stderr } = await sync();
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(helius.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /v0/webhooks", "POST /v0/webhooks"]);
    expect(helius.requests.every((r) => r.apiKey === API_KEY)).toBe(true);
    expect(helius.requests[1]!.body).toEqual(expected);
    const [created] = [...helius.webhooks.values()];
    expect(stdout).toBe(`created Helius webhook ${created!.webhookID}: ${expected.webhookURL} (program ${STAKING_PROGRAM_PLACEHOLDER_ID})\n`);
  });

  it("updates the webhook already pointing at this URL instead of creating a second", async () => {
    await sync();
    helius.requests.length = 0;
    const { code, stdout } = await sync({ HELIUS_WEBHOOK_AUTH: "rotated-webhook-auth-000002" });
    expect(code).toBe(0);
    const [only] = [...helius.webhooks.values()];
    expect(helius.webhooks.size).toBe(1);
    expect(helius.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /v0/webhooks", `PUT /v0/webhooks/${only!.webhookID}`]);
    expect(only!.authHeader).toBe("rotated-webhook-auth-000002");
    expect(stdout).toMatch(/^updated Helius webhook /);
  });

  it("replaces stray settings on an existing webhook (addresses, type) and leaves others' webhooks alone", async () => {
    helius.webhooks.set("other", {
      webhookID: "other",
      wallet: "w",
      webhookURL: "https://someone-else.example.com/hook",
      transactionTypes: ["ANY"],
      accountAddresses: [STAKING_PROGRAM_PLACEHOLDER_ID],
      webhookType: "enhanced",
      authHeader: "x",
      active: true,
    });
    helius.webhooks.set("ours", { webhookID: "ours", wallet: "w", ...expected, accountAddresses: ["11111111111111111111111111111111"], webhookType: "enhanced", active: true });
    const { code } = await sync();
    expect(code).toBe(0);
    expect(helius.webhooks.get("ours")).toMatchObject({ accountAddresses: [STAKING_PROGRAM_PLACEHOLDER_ID], webhookType: "raw" });
    expect(helius.webhooks.get("other")).toMatchObject({ webhookType: "enhanced", authHeader: "x" });
  });

  it("changes nothing when the webhook already matches", async () => {
    await sync();
    helius.requests.length = 0;
    const { code, stdout } = await sync();
    expect(code).toBe(0);
    expect(helius.requests.map((r) => r.method)).toEqual(["GET"]);
    expect(stdout).toMatch(/^unchanged Helius webhook /);
  });

  it("warns when Helius reports the webhook inactive", async () => {
    await sync();
    const [hook] = [...helius.webhooks.values()];
    hook!.active = false;
    const { code, stderr } = await sync({ HELIUS_WEBHOOK_AUTH: "rotated-webhook-auth-000003" });
    expect(code).toBe(0);
    expect(stderr).toBe(
      `kamiyo-stake: webhooks: warning: Helius reports webhook ${hook!.webhookID} inactive (active: false): it sends nothing until re-enabled in the Helius dashboard; check that ${expected.webhookURL} answers 200\n`,
    );
  });

  it("uses the devnet webhook type on devnet and warns about a URL Helius cannot reach", async () => {
    const { code, stderr } = await sync({
      KAMIYO_CLUSTER: "devnet",
      PUBLIC_URL: "http://127.0.0.1:3000",
      ADMIN_API_KEY: "devnet-admin-key-0123456789",
      STAKING_PROGRAM_ID: STAKING_PROGRAM_PLACEHOLDER_ID,
      // Outside localnet the operator names every address and endpoint.
      DATABASE_URL: "postgres://kamiyo@db.example/kamiyo",
      REDIS_URL: "redis://redis.example:6379",
      SOLANA_RPC_URL: "https://rpc.example",
      SOLANA_WS_URL: "wss://rpc.example",
      KAMIYO_MINT: "5KjsrpAy6PZcFdRZY8QZC6B8qVchxeXNgQBeyjqxtEsw",
      USDC_MINT: "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU",
      X402_PAY_TO: "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin",
    });
    expect(code).toBe(0);
    expect(helius.requests[1]!.body).toMatchObject({ webhookType: "rawDevnet", webhookURL: "http://127.0.0.1:3000/webhooks/helius" });
    expect(stderr).toMatch(/warning: the webhook URL http:\/\/127\.0\.0\.1:3000\/webhooks\/helius is local: Helius cannot reach it/);
  });

  it("fails with one clear line and no request when HELIUS_API_KEY is missing", async () => {
    const { code, stdout, stderr } = await sync({ HELIUS_API_KEY: "" });
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toBe("kamiyo-stake: webhooks: HELIUS_API_KEY is not set\n");
    expect(helius.requests).toEqual([]);
  });

  it("fails with one line, without the key, when Helius rejects the key", async () => {
    const { code, stderr } = await sync({ HELIUS_API_KEY: "wrong-key-abcdef" });
    expect(code).toBe(1);
    expect(stderr).toBe('kamiyo-stake: webhooks: listing webhooks: Helius answered HTTP 401: {"error":"invalid api key provided"}\n');
    expect(stderr).not.toContain("wrong-key-abcdef");
  });

  it("fails with one line and no secret when Helius answers 500 echoing the request", async () => {
    helius.failWith = { status: 500, body: `upstream broke for /v0/webhooks?api-key=${API_KEY} auth=${AUTH}` };
    const { code, stderr } = await sync();
    expect(code).toBe(1);
    expect(stderr.split("\n")).toHaveLength(2);
    expect(stderr).toMatch(/^kamiyo-stake: webhooks: listing webhooks: Helius answered HTTP 500: upstream broke/);
    expect(stderr).not.toContain(API_KEY);
    expect(stderr).not.toContain(AUTH);
  });

  it("fails with one line when Helius cannot be reached", async () => {
    const url = helius.url;
    await helius.close();
    const { code, stderr } = await sync({ HELIUS_API_URL: url });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^kamiyo-stake: webhooks: listing webhooks: fetch failed: .*ECONNREFUSED.*\n$/);
    expect(stderr).not.toContain(API_KEY);
  });

  it("rejects a missing or unknown subcommand as a usage error", async () => {
    let stderr = "";
    const code = await runCli(["webhooks"], { stdout: { write: () => true }, stderr: { write: (t: string) => (stderr += t) }, env: {} });
    expect(code).toBe(2);
    expect(stderr).toMatch(/webhooks: missing subcommand \(sync or check\)/);
  });
});
