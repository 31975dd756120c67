/** staking_apy_history: one row per APY snapshot the pipeline takes. Amounts are bigint. */
import type { Insertable, Kysely, Selectable } from "kysely";
import type { Database, StakingApyHistoryTable } from "../schema.ts";

export type ApySnapshotRow = Selectable<StakingApyHistoryTable>;

export function createApyRepository(db: Kysely<Database>) {
  return {
    async insert(row: Insertable<StakingApyHistoryTable>): Promise<void> {
      await db.insertInto("staking_apy_history").values(row).execute();
    },

    /** The latest `limit` snapshots, newest first. */
    latest(limit: number): Promise<ApySnapshotRow[]> {
      return db.selectFrom("staking_apy_history").selectAll().orderBy("recorded_at", "desc").limit(limit).execute();
    },
  };
}

export type ApyRepository = ReturnType<typeof createApyRepository>;
