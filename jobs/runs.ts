/**
 * The pipeline's store: its run record (src/db/repositories/runs.ts) plus what its steps read from other
 * tables (settled x402 revenue, the latest buyback's price) and the APY snapshot they write. Jobs code
 * depends on this one object; the SQL is in the repositories.
 */
import type { Kysely } from "kysely";
import { createApyRepository } from "../src/db/repositories/apy.ts";
import { createLedgerRepository } from "../src/db/repositories/ledger.ts";
import { createRunsRepository } from "../src/db/repositories/runs.ts";
import { createUsageRepository } from "../src/db/repositories/usage.ts";
import type { Database } from "../src/db/schema.ts";

export { TERMINAL_STATUSES } from "../src/domain/run-states.ts";
export type { AllocationInput, BuybackRecord, NewTx, RunRow, StoredTx } from "../src/db/repositories/runs.ts";

export function createRunStore(db: Kysely<Database>) {
  const usage = createUsageRepository(db);
  const ledger = createLedgerRepository(db);
  const apy = createApyRepository(db);
  return {
    ...createRunsRepository(db),
    /** Settled x402 revenue in [start, end): micro-USDC and number of payments (reservations do not count). */
    revenueBetween: (start: Date, end: Date) => usage.settledRevenue({ start, end }),
    latestBuyback: ledger.latestBuyback,
    insertApySnapshot: apy.insert,
  };
}

export type RunStore = ReturnType<typeof createRunStore>;
