import type pg from "pg";
import { pingConnection } from "../../src/db/repositories/indexer-state.ts";
import type { Logger } from "../../src/log.ts";

/**
 * The source's proof of life: the table is trusted only while the indexer's heartbeat (or a stake change)
 * arrived within `maxAgeMs`. Once past it (every lookup already answers null), the cache reconnects once
 * and reloads on a fresh connection, since a silent LISTEN connection looks exactly like a silent indexer;
 * while the silence lasts, the connection is pinged and replaced when it does not answer.
 */
export function watchProofOfLife(o: {
  maxAgeMs: number;
  logger: Logger;
  client: () => pg.Client | null;
  lose: (c: pg.Client, err: Error) => void;
}) {
  let lastProofAt: number | null = null;
  let silentSince: number | null = null;
  let reconnected = false;
  let checking = false;
  const started = Date.now();
  const age = () => Date.now() - (lastProofAt ?? started);
  const fresh = () => o.maxAgeMs <= 0 || (lastProofAt !== null && age() <= o.maxAgeMs);

  const check = async () => {
    if (fresh() || checking) return;
    const c = o.client();
    if (!c) return;
    if (silentSince === null) {
      silentSince = Date.now();
      o.logger.warn({ proofOfLifeAgeMs: lastProofAt === null ? null : age(), maxAgeMs: o.maxAgeMs }, "tier cache: no proof of life from the indexer; charging full prices");
    }
    if (!reconnected) {
      reconnected = true;
      o.lose(c, new Error(`no proof of life from the indexer within ${o.maxAgeMs} ms; reloading on a fresh connection`));
      return;
    }
    checking = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        pingConnection(c),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the stake data connection did not answer within ${o.maxAgeMs} ms`)), o.maxAgeMs);
        }),
      ]);
    } catch (err) {
      o.lose(c, err instanceof Error ? err : new Error(String(err)));
    } finally {
      clearTimeout(timer);
      checking = false;
    }
  };
  const timer = o.maxAgeMs > 0 ? setInterval(() => void check(), Math.max(50, Math.floor(o.maxAgeMs / 5))) : undefined;
  timer?.unref();

  return {
    fresh,
    age: () => (lastProofAt === null ? null : age()),
    proof() {
      lastProofAt = Date.now();
      reconnected = false;
      if (silentSince !== null) {
        o.logger.info({ silentMs: lastProofAt - silentSince }, "tier cache: the indexer proved itself alive again; discounts resume");
        silentSince = null;
      }
    },
    stop: () => clearInterval(timer),
  };
}
