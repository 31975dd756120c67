/**
 * An indexer following the local chain through TCP proxies (RPC over HTTP, RPC websocket, Postgres), with a
 * steady stream of stake changes on the chain: what bench/outage.ts and the convergence test black-hole.
 * `converged()` compares the stakes table with the chain's UserStake accounts (test/indexer/helpers).
 */
import type { Kysely } from "kysely";
import { poolTarget } from "../../indexer/stake-accounts.ts";
import type { IndexerOptions } from "../../indexer/options.ts";
import { createDatabase, type DatabaseHandle } from "../../src/db/database.ts";
import type { Database } from "../../src/db/schema.ts";
import { tierFor } from "../../src/domain/tiers.ts";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { startTcpProxy, type TcpProxy } from "../kit/tcp-proxy.ts";
import { waitFor } from "../kit/wait-for.ts";
import { KAMIYO } from "../indexer/helpers/accounts.ts";
import { chainStakes, createStakers, diffTableAgainstChain, sendTx, startTestChain, type Staker, type TestChain } from "../indexer/helpers/chain.ts";
import { testIndexer, type TestIndexer } from "../indexer/helpers/indexer.ts";

export type OutageTarget = "rpc" | "postgres";

export interface OutageRig {
  chain: TestChain;
  proxies: Record<"http" | "ws" | "postgres", TcpProxy>;
  /** Black-holes the RPC (HTTP and websocket) or Postgres. */
  blackHole(target: OutageTarget): void;
  restore(): void;
  /** Changes one staker's stake every `everyMs` until stopChanges(); returns how many were sent so far. */
  startChanges(everyMs?: number): void;
  stopChanges(): Promise<number>;
  /** The table's differences from the chain (empty when equal); null when the database cannot be read. */
  drift(): Promise<string[] | null>;
  /** Milliseconds from now until the table equals the chain, or null after `timeoutMs`. */
  timeToConverge(timeoutMs: number): Promise<number | null>;
  close(): Promise<void>;
}

export async function startOutageRig(options: { stakers?: number; indexer?: Partial<IndexerOptions>; fast?: boolean } = {}): Promise<OutageRig> {
  const chain = await startTestChain();
  const schema: FreshSchema = await withFreshSchema();
  const http = await startTcpProxy(chain.net.httpUrl);
  const ws = await startTcpProxy(chain.net.wsUrl);
  const postgres = await startTcpProxy(schema.url);
  const viaProxy: DatabaseHandle = createDatabase({ url: postgres.url, schema: schema.schema, max: 6 });
  const reader: Kysely<Database> = schema.db;
  const stakers: Staker[] = createStakers(chain, options.stakers ?? 20, 10_000_000n * KAMIYO);
  for (const s of stakers) await sendTx(chain, s.keypair, [await chain.staking.stake(s.wallet, s.tokenAccount, 1_000n * KAMIYO)]);
  const t: TestIndexer = testIndexer({ ...schema, db: viaProxy.db, pool: viaProxy.pool }, chain.config, {
    rpcUrl: http.url,
    wsUrl: ws.url,
    ...(options.indexer ? { options: options.indexer } : {}),
  });
  const pool = poolTarget(chain.config).pool;
  const tierName = (effective: bigint) => tierFor(effective, chain.config.tiers).name;
  const drift = async () => {
    try {
      const rows = await reader.selectFrom("stakes").select(["address", "owner", "staked_amount", "cooldown_amount", "cooldown_end", "effective_stake", "discount_tier", "closed"]).execute();
      return diffTableAgainstChain(rows, chainStakes(chain, pool), tierName);
    } catch {
      return null;
    }
  };
  await t.indexer.start();
  await waitFor("the first backfill", async () => t.indexer.status().backfillCompletedAt !== null && (await drift())?.length === 0, { timeoutMs: 30_000, everyMs: 100 });

  let changes: Promise<void> | null = null;
  let stopping = false;
  let sent = 0;
  const rig: OutageRig = {
    chain,
    proxies: { http, ws, postgres },
    blackHole(target) {
      if (target === "rpc") {
        http.blackHole();
        ws.blackHole();
      } else postgres.blackHole();
    },
    restore() {
      http.restore();
      ws.restore();
      postgres.restore();
    },
    startChanges(everyMs = 100) {
      stopping = false;
      const loop = async () => {
        while (!stopping) {
          const s = stakers[sent % stakers.length]!;
          // Straight to the chain, not through the proxies: the chain keeps moving whatever the indexer sees.
          // The program's minimum stake per call is 100 KAMIYO.
          await sendTx(chain, s.keypair, [await chain.staking.stake(s.wallet, s.tokenAccount, BigInt(100 + (sent % 7)) * KAMIYO)]);
          sent++;
          await new Promise((resolve) => setTimeout(resolve, everyMs));
        }
      };
      changes = loop();
    },
    async stopChanges() {
      stopping = true;
      await changes;
      return sent;
    },
    drift,
    async timeToConverge(timeoutMs) {
      const started = Date.now();
      try {
        await waitFor("the table to equal the chain", async () => (await drift())?.length === 0, { timeoutMs, everyMs: 50 });
        return Date.now() - started;
      } catch {
        return null;
      }
    },
    async close() {
      stopping = true;
      await changes?.catch(() => undefined);
      rig.restore();
      await t.indexer.stop();
      await viaProxy.close();
      for (const p of [http, ws, postgres]) await p.close();
      await schema.close();
      await chain.close();
    },
  };
  return rig;
}
