import { describe, expect, it } from "vitest";
import { loadLocalnetConfig } from "../../localnet/demo-env.ts";
import {
  loadConfig,
  ConfigError,

  SOLANA_DEVNET_CAIP2,
  SOLANA_MAINNET_CAIP2,
  STAKING_PROGRAM_PLACEHOLDER_ID,
} from "../../src/config.ts";
import { DEFAULT_TIERS } from "../../src/domain/tiers.ts";
import { DEMO_ADDRESSES } from "../../localnet/demo-addresses.ts";

/** The ConfigError loadConfig throws for `env`; fails the test when it does not throw one. */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadLocalnetConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

const tier = (name: string, minStake: string, discountBps: number) => ({ name, minStake, discountBps, priority: "priority" });

describe("loadConfig defaults", () => {
  const config = loadLocalnetConfig({});

  it("runs on this machine's Postgres, Redis and the local chain", () => {
    expect(config.cluster).toBe("localnet");
    expect(config.logLevel).toBe("info");
    expect(config.databaseUrl).toBe("postgres://postgres@127.0.0.1:5432/kamiyo_stake");
    expect(config.redisUrl).toBe("redis://127.0.0.1:6379");
    expect(config.port).toBe(3000);
    expect(config.publicUrl).toBe("http://127.0.0.1:3000");
    expect(config.solana).toEqual({
      rpcUrl: "http://127.0.0.1:8899",
      wsUrl: "ws://127.0.0.1:8900",
      commitment: "confirmed",
      programId: STAKING_PROGRAM_PLACEHOLDER_ID,
      kamiyoMint: DEMO_ADDRESSES.kamiyoMint,
      // The demo seed writes its USDC mint at devnet's canonical address.
      usdcMint: "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU",
    });
    expect(config.localnet).toEqual({ stateDir: ".localnet", host: "127.0.0.1", rpcPort: 8899, grpcPort: 10000, slotMs: 400, webhookUrls: [] });
  });

  it("uses the plan's tiers and a 0.10 USDC premium route on devnet's network id", () => {
    expect(config.tiers).toEqual(DEFAULT_TIERS);
    expect(config.x402.routes).toEqual([
      { path: "/api/premium", method: "GET", price: 100_000n, description: "Premium API access" },
    ]);
    expect(config.x402.network).toBe(SOLANA_DEVNET_CAIP2);
    expect(config.x402.payTo).toBe(DEMO_ADDRESSES.payTo);
    expect(config.x402.facilitatorKeypairPath).toBe(".localnet/wallets/facilitator.json");
    expect(config.x402.maxTimeoutSeconds).toBe(60);
  });

  it("allocates 30 % daily with bounded slippage", () => {
    expect(config.jobs).toMatchObject({
      adminKeypairPath: ".localnet/wallets/admin.json",
      jupiterApiUrl: "http://127.0.0.1:8902",
      allocationBps: 3000,
      pipelineCron: "0 0 2 * * *",
      slippageBps: 50,
      maxPriceImpactBps: 100,
    });
  });

  it("gives the local chain its own secrets so nothing has to be set", () => {
    expect(config.adminApiKey.length).toBeGreaterThanOrEqual(16);
    expect(config.helius.webhookAuth.length).toBeGreaterThanOrEqual(16);
  });

  it("treats an empty variable as unset", () => {
    expect(loadLocalnetConfig({ PORT: "", SOLANA_COMMITMENT: "" }).port).toBe(3000);
  });

  it("reads explicit values", () => {
    const c = loadLocalnetConfig({
      PORT: "8080",
      SOLANA_COMMITMENT: "finalized",
      LOCALNET_WEBHOOK_URLS: "http://a.test/hook, http://b.test/hook",
      LOCALNET_STATE_DIR: "/var/lib/kamiyo",
      DISCOUNT_TIERS: JSON.stringify([tier("bronze", "10", 500), tier("silver", "20", 1000)]),
      X402_ROUTES: JSON.stringify([{ path: "/api/a", price: "1.000001" }]),
    });
    expect(c.port).toBe(8080);
    expect(c.publicUrl).toBe("http://127.0.0.1:8080");
    expect(c.solana.commitment).toBe("finalized");
    expect(c.localnet.webhookUrls).toEqual(["http://a.test/hook", "http://b.test/hook"]);
    expect(c.x402.facilitatorKeypairPath).toBe("/var/lib/kamiyo/wallets/facilitator.json");
    expect(c.tiers.map((t) => [t.name, t.minStake, t.discountBps])).toEqual([
      ["bronze", 10n, 500],
      ["silver", 20n, 1000],
    ]);
    expect(c.x402.routes).toEqual([{ path: "/api/a", method: "GET", price: 1_000_001n, description: "" }]);
  });
});

describe("loadConfig refuses bad values with one line naming the variable", () => {
  const cases: [variable: string, value: string, problem: RegExp][] = [
    ["PORT", "abc", /number/],
    ["PORT", "70000", /1\.\.65535/],
    ["PORT", "80.5", /integer/],
    ["SOLANA_COMMITMENT", "fast", /processed|confirmed|finalized/],
    ["KAMIYO_CLUSTER", "testnet", /localnet|devnet|mainnet/],
    ["STAKING_PROGRAM_ID", "xyz", /base58 Solana address/],
    // Base58 characters and a plausible length, but 33 bytes: not a public key.
    ["STAKING_PROGRAM_ID", "z".repeat(44), /base58 Solana address/],
    ["KAMIYO_MINT", "0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl", /base58 Solana address/],
    ["DATABASE_URL", "mysql://127.0.0.1/db", /postgres/],
    ["SOLANA_WS_URL", "http://127.0.0.1:8900", /ws or wss URL/],
    ["DISCOUNT_TIERS", "{not json", /must be valid JSON/],
    ["DISCOUNT_TIERS", JSON.stringify([tier("gold", "500", 2000), tier("silver", "100", 1000)]), /minStake must be above "gold"/],
    ["DISCOUNT_TIERS", JSON.stringify([tier("silver", "100", 1000), tier("silver", "200", 2000)]), /duplicate name/],
    ["DISCOUNT_TIERS", JSON.stringify([tier("silver", "100", 2000), tier("gold", "200", 1000)]), /discount must not be below/],
    ["DISCOUNT_TIERS", JSON.stringify([tier("silver", "1e5", 1000)]), /integer string/],
    ["DISCOUNT_TIERS", JSON.stringify([tier("none", "100", 1000)]), /name/],
    ["X402_ROUTES", JSON.stringify([{ path: "/api/a", price: "0.1234567" }]), /more than 6 decimal places/],
    ["X402_ROUTES", JSON.stringify([{ path: "/api/a", price: "-1" }]), /price/],
    ["X402_ROUTES", JSON.stringify([{ path: "/api/a", price: "0" }]), /price must be positive/],
    ["X402_ROUTES", JSON.stringify([{ path: "api/a", price: "1" }]), /must start with \//],
    ["X402_ROUTES", JSON.stringify([{ path: "/a", price: "1" }, { path: "/a", price: "2" }]), /duplicate route GET \/a/],
    ["ALLOCATION_BPS", "10001", /0\.\.10000/],
    ["PIPELINE_CRON", "0 2 * * *", /6-field cron/],
    ["LOCALNET_WEBHOOK_URLS", "http://ok.test,ftp://bad.test", /http or https URL/],
  ];

  it.each(cases)("%s=%s", (variable, value, problem) => {
    const err = configError({ [variable]: value });
    expect(err.message.startsWith(`${variable}: `)).toBe(true);
    expect(err.message).toMatch(problem);
    expect(err.message).not.toMatch(/\n/);
  });
});

describe("outside the local chain", () => {
  const adminKey = "admin-key-0123456789-secret";
  const webhookAuth = "webhook-auth-0123456789-secret";
  // Outside localnet the operator names every address and endpoint.
  const operator = {
    DATABASE_URL: "postgres://kamiyo@db.example/kamiyo",
    REDIS_URL: "redis://redis.example:6379",
    STAKING_PROGRAM_ID: STAKING_PROGRAM_PLACEHOLDER_ID,
    SOLANA_RPC_URL: "https://rpc.example",
    SOLANA_WS_URL: "wss://rpc.example",
    KAMIYO_MINT: DEMO_ADDRESSES.kamiyoMint,
    USDC_MINT: DEMO_ADDRESSES.usdcMint,
    X402_PAY_TO: "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin",
  };

  it.each(["devnet", "mainnet"])("%s requires ADMIN_API_KEY, then HELIUS_WEBHOOK_AUTH", (cluster) => {
    expect(configError({ KAMIYO_CLUSTER: cluster }).message).toBe(`ADMIN_API_KEY: required when KAMIYO_CLUSTER is ${cluster}`);
    expect(configError({ KAMIYO_CLUSTER: cluster, ADMIN_API_KEY: adminKey }).message).toBe(
      `HELIUS_WEBHOOK_AUTH: required when KAMIYO_CLUSTER is ${cluster}`,
    );
    const c = loadLocalnetConfig({ ...operator, KAMIYO_CLUSTER: cluster, ADMIN_API_KEY: adminKey, HELIUS_WEBHOOK_AUTH: webhookAuth });
    expect(c.adminApiKey).toBe(adminKey);
    expect(c.helius.webhookAuth).toBe(webhookAuth);
  });

  it("takes no local chain default even when one is offered", () => {
    const endpoints = { DATABASE_URL: operator.DATABASE_URL, REDIS_URL: operator.REDIS_URL, STAKING_PROGRAM_ID: STAKING_PROGRAM_PLACEHOLDER_ID };
    expect(configError({ KAMIYO_CLUSTER: "devnet", ADMIN_API_KEY: adminKey, HELIUS_WEBHOOK_AUTH: webhookAuth }).message).toBe(
      "DATABASE_URL: required when KAMIYO_CLUSTER is devnet",
    );
    expect(configError({ ...endpoints, KAMIYO_CLUSTER: "devnet", ADMIN_API_KEY: adminKey, HELIUS_WEBHOOK_AUTH: webhookAuth }).message).toBe(
      "SOLANA_RPC_URL: required when KAMIYO_CLUSTER is devnet",
    );
  });

  it("prices on mainnet's network id on mainnet", () => {
    const c = loadLocalnetConfig({ ...operator, KAMIYO_CLUSTER: "mainnet", ADMIN_API_KEY: adminKey, HELIUS_WEBHOOK_AUTH: webhookAuth });
    expect(c.x402.network).toBe(SOLANA_MAINNET_CAIP2);
  });

  it("never puts a secret's value in the error", () => {
    const secrets = { ADMIN_API_KEY: "short-s3cret", HELIUS_WEBHOOK_AUTH: "tiny-s3cret" };
    for (const [name, value] of Object.entries(secrets)) {
      const err = configError({ KAMIYO_CLUSTER: "devnet", ADMIN_API_KEY: adminKey, HELIUS_WEBHOOK_AUTH: webhookAuth, [name]: value });
      expect(err.message).toMatch(new RegExp(`^${name}: must be at least 16 characters$`));
    }
    const password = "hunter2-db-password";
    const err = configError({ DATABASE_URL: `mysql://kamiyo:${password}@db.internal/kamiyo` });
    expect(err.message).toMatch(/^DATABASE_URL: /);
    expect(err.message).not.toContain(password);
    // A bad value elsewhere must not echo the secrets that were valid.
    const other = configError({ KAMIYO_CLUSTER: "devnet", ADMIN_API_KEY: adminKey, HELIUS_WEBHOOK_AUTH: webhookAuth, PORT: "abc" });
    expect(other.message).not.toContain(adminKey);
    expect(other.message).not.toContain(webhookAuth);
  });
});

describe("the config module knows no local chain", () => {
  it.each(["SOLANA_RPC_URL", "SOLANA_WS_URL", "KAMIYO_MINT", "USDC_MINT", "X402_PAY_TO"])(
    "names %s when localnet defaults are not supplied",
    (name) => {
      const env: Record<string, string> = {
        SOLANA_RPC_URL: "http://rpc.example:8899",
        SOLANA_WS_URL: "ws://rpc.example:8900",
        KAMIYO_MINT: DEMO_ADDRESSES.kamiyoMint,
        USDC_MINT: DEMO_ADDRESSES.usdcMint,
        X402_PAY_TO: DEMO_ADDRESSES.admin,
      };
      delete env[name];
      expect(() => loadConfig(env)).toThrow(new RegExp(`^${name}: required`));
    },
  );
});

describe("refuses numbers, prices and discounts that would cost money", () => {
  it.each([
    ["ALLOCATION_BPS", "0x10"],
    ["ALLOCATION_BPS", "1e3"],
    ["PORT", " 3000"],
    ["X402_MAX_TIMEOUT_SECONDS", "6e1"],
  ])("%s=%s is not a decimal number", (variable, value) => {
    expect(configError({ [variable]: value }).message).toBe(`${variable}: must be an integer, as a decimal number`);
  });

  it("refuses a route price above u64", () => {
    const routes = JSON.stringify([{ path: "/api/x", price: "18446744073709.551616" }]);
    expect(configError({ X402_ROUTES: routes }).message).toBe("X402_ROUTES: GET /api/x price is above the largest token amount (u64)");
  });

  it("refuses a discount of 100 % or more", () => {
    const tiers = JSON.stringify([{ name: "all", minStake: "1", discountBps: 10_000, priority: "premium" }]);
    expect(configError({ DISCOUNT_TIERS: tiers }).message).toMatch(/^DISCOUNT_TIERS: 0\.discountBps: /);
  });

  it("refuses a route whose price is 0", () => {
    const routes = JSON.stringify([{ path: "/api/free", price: "0" }]);
    expect(configError({ X402_ROUTES: routes }).message).toBe("X402_ROUTES: GET /api/free price must be positive");
  });
});

describe("outside localnet, keys anyone can compute are refused by value", () => {
  const base = {
    KAMIYO_CLUSTER: "mainnet",
    ADMIN_API_KEY: "admin-key-0123456789-secret",
    HELIUS_WEBHOOK_AUTH: "webhook-auth-0123456789-secret",
    DATABASE_URL: "postgres://kamiyo@db.example/kamiyo",
    REDIS_URL: "redis://redis.example:6379",
    STAKING_PROGRAM_ID: STAKING_PROGRAM_PLACEHOLDER_ID,
    SOLANA_RPC_URL: "https://rpc.example",
    SOLANA_WS_URL: "wss://rpc.example",
    KAMIYO_MINT: DEMO_ADDRESSES.kamiyoMint,
  };

  it.each([DEMO_ADDRESSES.payTo, DEMO_ADDRESSES.admin, DEMO_ADDRESSES.facilitator, DEMO_ADDRESSES.jupiterLiquidity])(
    "X402_PAY_TO=%s",
    (demo) => {
      expect(configError({ ...base, X402_PAY_TO: demo }).message).toMatch(/^X402_PAY_TO: \w+ is the local chain's demo \w+ wallet, whose secret key is public/);
    },
  );

  it("defaults USDC to Circle's mint of the cluster", () => {
    const payTo = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin";
    expect(loadConfig({ ...base, X402_PAY_TO: payTo }).solana.usdcMint).toBe("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v");
    expect(loadConfig({ ...base, KAMIYO_CLUSTER: "devnet", X402_PAY_TO: payTo }).solana.usdcMint).toBe("4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU");
  });

  it("names STAKING_PROGRAM_ID when it is missing", () => {
    const { STAKING_PROGRAM_ID: _omit, ...rest } = base;
    expect(configError(rest).message).toBe("STAKING_PROGRAM_ID: required when KAMIYO_CLUSTER is mainnet");
  });
});
