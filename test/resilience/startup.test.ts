/**
 * An API started while no indexer runs: it starts once the stakes table is loaded (the indexer's heartbeat is
 * awaited for at most the staleness bound, not until the start-up timeout), quotes every wallet the full
 * price while nothing proves the stake data alive, and quotes the discount from the first heartbeat on.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHeartbeat, type Heartbeat } from "../kit/heartbeat.ts";
import { waitFor } from "../kit/wait-for.ts";
import { PREMIUM_PRICE, startPaywallHarness, type PaywallHarness } from "../paywall/harness.ts";

const MAX_AGE_MS = 1_500;

async function quotedAmount(h: PaywallHarness, wallet: string): Promise<bigint> {
  const res = await fetch(`${h.url}/api/premium`, { headers: { "x-wallet-address": wallet } });
  await res.arrayBuffer();
  expect(res.status).toBe(402);
  const header = res.headers.get("payment-required");
  if (!header) throw new Error("402 without PAYMENT-REQUIRED");
  const body = JSON.parse(Buffer.from(header, "base64").toString("utf8")) as { accepts: Array<{ amount: string }> };
  return BigInt(body.accepts[0]!.amount);
}

describe("an API started before any indexer", () => {
  let h: PaywallHarness;
  let heartbeat: Heartbeat | undefined;
  let startedInMs = 0;
  beforeAll(async () => {
    const started = Date.now();
    // ready(15 s) used to wait for a heartbeat that never comes here, and reject.
    h = await startPaywallHarness({ heartbeat: false, env: { STAKE_DATA_MAX_AGE_MS: String(MAX_AGE_MS) } });
    startedInMs = Date.now() - started;
  });
  afterAll(async () => {
    heartbeat?.stop();
    await h?.close();
  });

  it("starts, quotes full prices until the first heartbeat, then the discount", async () => {
    console.log(`[resilience] API started without an indexer in ${startedInMs} ms (harness included)`);
    expect(h.plugin.status().tierCache.entries).toBeGreaterThan(0);
    const gold = h.wallet("gold");
    // NOTIFY channels are database-wide: another test file's harness (same demo pool) may be beating now, and
    // its heartbeat is as good a proof of life as an indexer's. Full prices are asserted when none was heard.
    if (h.plugin.status().tierCache.proofOfLifeAgeMs === null) {
      expect(h.plugin.status().tierCache.healthy).toBe(false);
      expect(await quotedAmount(h, gold.address)).toBe(PREMIUM_PRICE);
    } else console.log("[resilience] another test's heartbeat for the demo pool was heard: full-price check skipped");

    heartbeat = startHeartbeat(h.schema.db, h.chain.seed!.pool, 200);
    await waitFor("the discount once the indexer proves alive", async () => (await quotedAmount(h, gold.address)) < PREMIUM_PRICE, {
      timeoutMs: 10_000,
      everyMs: 100,
    });
    expect(h.plugin.status().tierCache.healthy).toBe(true);
  });
});
