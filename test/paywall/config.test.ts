/** The paywall's configuration additions: staking URL and browser origins. */
import { describe, expect, it } from "vitest";
import { loadLocalnetConfig } from "../../localnet/demo-env.ts";
import { ConfigError } from "../../src/config.ts";

const base = { KAMIYO_CLUSTER: "localnet" };

describe("X402_STAKING_URL and X402_CORS_ORIGINS", () => {
  it("default to the seed's staking page and any origin", () => {
    const c = loadLocalnetConfig(base);
    expect(c.x402.stakingUrl).toBe("https://kamiyo.ai/stake");
    expect(c.x402.corsOrigins).toEqual(["*"]);
  });

  it("take a URL and a comma-separated list of origins", () => {
    const c = loadLocalnetConfig({ ...base, X402_STAKING_URL: "https://example.org/stake", X402_CORS_ORIGINS: "https://a.example, https://b.example" });
    expect(c.x402.stakingUrl).toBe("https://example.org/stake");
    expect(c.x402.corsOrigins).toEqual(["https://a.example", "https://b.example"]);
  });

  it("refuse what is not a URL", () => {
    expect(() => loadLocalnetConfig({ ...base, X402_STAKING_URL: "kamiyo.ai/stake" })).toThrow(ConfigError);
    expect(() => loadLocalnetConfig({ ...base, X402_CORS_ORIGINS: "https://a.example,not-an-origin" })).toThrow(/X402_CORS_ORIGINS/);
  });
});
