/**
 * The usage ledger decides "try again later" with isRetryable: a database outage keeps a settled payment's
 * row for a later write and lets a reservation pass as "unavailable"; a refusal that retrying cannot fix
 * (here: the table does not exist) is not retried, and a reservation it refuses fails the settlement.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUsageLedger, type SettledUsage } from "../../api/paywall/usage-ledger.ts";
import { createDatabase, type DatabaseHandle } from "../../src/db/database.ts";
import { createLogger } from "../../src/log.ts";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";

const logger = createLogger({ level: "silent" });

const settled = (paymentKey: string): SettledUsage => ({
  paymentKey,
  payer: "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM",
  endpoint: "/api/premium",
  method: "GET",
  statusCode: 200,
  amountCharged: 100_000n,
  originalAmount: 100_000n,
  discountTier: null,
  discountBps: 0,
  savings: 0n,
  network: "solana:localnet",
  asset: "usdc",
  payTo: "payto",
  settlementSignature: `sig-${paymentKey}`,
  responseTimeMs: 5,
  settledAt: new Date(),
});

describe("the ledger's database is unreachable", () => {
  let dead: DatabaseHandle;
  beforeAll(() => {
    dead = createDatabase({ url: "postgres://postgres@127.0.0.1:1/kamiyo_stake", max: 1 });
  });
  afterAll(() => dead.close());

  it("lets the payment settle unreserved and keeps its row for a later write", async () => {
    const ledger = createUsageLedger({ db: dead.db, logger, retryIntervalMs: 60_000 });
    try {
      expect(await ledger.reserve(settled("outage"))).toBe("unavailable");
      await ledger.complete(settled("outage"));
      expect(ledger.pendingCompletions()).toBe(1);
      await ledger.flush();
      expect(ledger.pendingCompletions()).toBe(1);
    } finally {
      await ledger.close();
    }
  });
});

describe("the ledger refuses for a reason retrying cannot fix", () => {
  let schema: FreshSchema;
  beforeAll(async () => {
    schema = await withFreshSchema({ migrate: false });
  });
  afterAll(() => schema.close());

  it("fails the reservation and does not keep the row for retries", async () => {
    const ledger = createUsageLedger({ db: schema.db, logger, retryIntervalMs: 60_000 });
    try {
      expect(await ledger.reserve(settled("no-table"))).toBe("failed");
      await ledger.complete(settled("no-table"));
      expect(ledger.pendingCompletions()).toBe(0);
    } finally {
      await ledger.close();
    }
  });
});
