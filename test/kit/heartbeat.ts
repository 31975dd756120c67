/**
 * The indexer's proof of life for tests that seed stakes without running an indexer: the same heartbeat the
 * leader sends (src/db/repositories/indexer-state.ts), every `everyMs`, until stopped. Without it the tier
 * cache trusts nothing past STAKE_DATA_MAX_AGE_MS and quotes every wallet the full price.
 */
import type { Kysely } from "kysely";
import { publishHeartbeat } from "../../src/db/repositories/indexer-state.ts";
import type { Database } from "../../src/db/schema.ts";

export interface Heartbeat {
  /** Stops beating (the "indexer" goes silent); safe to call twice. */
  stop(): void;
  /** Beats again after stop(). */
  start(): void;
}

export function startHeartbeat(db: Kysely<Database>, pool: string, everyMs = 200, slot: () => bigint | null = () => null): Heartbeat {
  let timer: NodeJS.Timeout | undefined;
  const beat = () => {
    const s = slot();
    publishHeartbeat(db, { pool, slot: s === null ? null : s.toString(), at: new Date().toISOString() }).catch(() => undefined);
  };
  const hb: Heartbeat = {
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
    start() {
      if (timer) return;
      beat();
      timer = setInterval(beat, everyMs);
    },
  };
  hb.start();
  return hb;
}
