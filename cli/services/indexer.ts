import { readIndexerStatus } from "../../api/indexer-status.ts";
import { createIndexer } from "../../indexer/index.ts";
import { waitUntil } from "../../src/retry.ts";
import type { CompositionOptions, CompositionState } from "../compose.ts";
import type { Service } from "../services.ts";
import { need, type LogFor } from "./common.ts";

export function indexerService(state: CompositionState, o: CompositionOptions, log: LogFor): Service {
  return {
    name: "indexer",
    async start() {
      const db = need(state.database, "the database");
      const ix = createIndexer({
        config: state.config,
        db: db.db,
        pool: db.pool,
        logger: log("indexer"),
        registry: state.registry,
        rpcUrl: state.config.solana.rpcUrl,
        wsUrl: state.indexerWsUrl ?? state.config.solana.wsUrl,
        ...(o.indexerOptions ? { options: o.indexerOptions } : {}),
      });
      state.indexer = ix;
      await ix.start();
      if (o.backfillTimeoutMs === undefined) return;
      // The API answers from the table, so it is not worth looking at before the first backfill; wait for the
      // persisted status (what /ready reads), not only the in-memory one.
      const backfilled = async () =>
        ix.status().backfillCompletedAt !== null && (await readIndexerStatus(db.db))?.snapshot.backfillCompletedAt != null;
      try {
        await waitUntil(backfilled, { timeoutMs: o.backfillTimeoutMs, everyMs: 20 });
      } catch {
        const why = ix.isLeader ? "" : " (another indexer holds the lock on this database)";
        // A service whose start fails is not stopped by the runner: stop it here.
        await ix.stop();
        state.indexer = null;
        throw new Error(`the first backfill did not complete within ${o.backfillTimeoutMs / 1000} s${why}`);
      }
    },
    async stop() {
      await state.indexer?.stop();
      state.indexer = null;
    },
  };
}
