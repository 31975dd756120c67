import { assertMigrated } from "../../api/database-check.ts";
import { createDatabase } from "../../src/db/database.ts";
import { ensureDatabase, migrateToLatest } from "../../src/db/migrate.ts";
import { createTierTableRepository } from "../../src/db/repositories/tier-table.ts";
import { describeError } from "../../src/errors.ts";
import type { CompositionOptions, CompositionState } from "../compose.ts";
import type { Service } from "../services.ts";
import type { LogFor } from "./common.ts";

export function databaseService(state: CompositionState, o: CompositionOptions, log: LogFor): Service {
  return {
    name: "database",
    async start() {
      const url = state.config.databaseUrl;
      if (o.migrate) await ensureDatabase(url);
      const handle = createDatabase({
        url,
        applicationName: o.applicationName ?? "kamiyo-stake",
        ...(o.dbSchema !== undefined ? { schema: o.dbSchema } : {}),
        onIdleError: (err) => log("database").warn({ reason: describeError(err) }, "idle database connection failed"),
      });
      try {
        if (o.migrate) await migrateToLatest(handle.db);
        else await assertMigrated(handle.db);
        // An API that starts before any indexer leader has published a tier table publishes its own, so every
        // replica prices with one table (src/db/repositories/tier-table.ts).
        if (o.roles.includes("api")) await createTierTableRepository(handle.db).adopt(state.config.tiers, "api");
      } catch (err) {
        await handle.close();
        throw err;
      }
      state.database = handle;
    },
    async stop() {
      await state.database?.close();
      state.database = null;
    },
  };
}
