/** `.env.example` is generated from the configuration schema: this fails when the two drift apart. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CONFIG_VARIABLES } from "../../src/config.ts";
import { renderEnvExample } from "../../src/env-example.ts";

describe(".env.example", () => {
  const file = readFileSync(new URL("../../.env.example", import.meta.url), "utf8");

  it("is what the schema generates (regenerate: npx node src/env-example.ts > .env.example)", () => {
    expect(file).toBe(renderEnvExample());
  });

  it("names every variable the schema reads, and nothing else", () => {
    const named = [...file.matchAll(/^#?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]);
    expect(named).toEqual(CONFIG_VARIABLES);
  });

  it("leaves what production requires uncommented and empty", () => {
    for (const name of ["DATABASE_URL", "REDIS_URL", "STAKING_PROGRAM_ID", "KAMIYO_MINT", "X402_PAY_TO", "SOLANA_RPC_URL", "SOLANA_WS_URL", "ADMIN_API_KEY", "HELIUS_WEBHOOK_AUTH", "X402_FACILITATOR_KEYPAIR", "ADMIN_KEYPAIR_PATH", "JUPITER_API_URL"]) {
      expect(file).toMatch(new RegExp(`^${name}=$`, "m"));
    }
  });
});
