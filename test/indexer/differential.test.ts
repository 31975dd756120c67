/**
 * Differential test, once per live source (websocket feed, Yellowstone gRPC): a seeded random workload of
 * stake/unstake/withdraw/close over 200+ wallets on the local chain, while the live source is cut, its account
 * updates are silently dropped for a while, webhook deliveries are duplicated, reordered and dropped, and RPC
 * calls fail at random. The gRPC server's replay window is short, and one outage outlasts it, so both a
 * replayed reconnect and a resync fallback happen. After quiescence every row must equal the chain (every
 * account decoded and compared), and no row's slot may ever have gone backwards (checked from stake_events).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { tierFor } from "../../src/domain/tiers.ts";
import { decodeUserStake } from "../../src/solana/accounts.ts";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { enqueueWebhookDelivery } from "../../indexer/webhook-inbox.ts";
import { poolTarget } from "../../indexer/stake-accounts.ts";
import {
  chainStakes,
  createStakers,
  diffTableAgainstChain,
  getTransactionJson,
  sendTx,
  startTestChain,
  type Staker,
  type TestChain,
} from "./helpers/chain.ts";
import { RpcFailure } from "../kit/localnet.ts";
import { waitFor } from "../kit/wait-for.ts";
import { testIndexer, type TestIndexer } from "./helpers/indexer.ts";
import { startWsProxy } from "../kit/ws-proxy.ts";
import { startTcpProxy } from "../kit/tcp-proxy.ts";
import { pino } from "pino";
import { createGeyserServer } from "../../localnet/grpc/server.ts";
import { faultyFetch, seededRandom, type Fault } from "./helpers/faulty-fetch.ts";
import { KAMIYO } from "./helpers/accounts.ts";

const SEED = Number(process.env.DIFFERENTIAL_SEED ?? 20261124);
const WALLETS = 220;
/** Operations that land (failed transactions come on top). */
const OPERATIONS = 2_100;
/**
 * The live feed is cut at these operations and stays unreachable for OUTAGE operations; the webhooks of
 * those operations are lost too, so only the resync after the reconnect can heal the gap.
 */
const CUT_AT = [250, 700, 1_150, 1_650];
const OUTAGE = 40;
/**
 * Program notifications are silently dropped by the "node" in this window, after the last cut (so no resync
 * covers it): only webhooks can deliver these changes before reconciliation.
 */
const SILENT_FROM = 1_750;
const SILENT_TO = 2_050;

/** gRPC replay window (slots of 40 ms): shorter than the longest outage, longer than the others. */
const GRPC_REPLAY_SLOTS = 150;

/** What the test does to the live source's connection, for either source. */
interface LiveLink {
  /** Where the indexer connects. */
  url: string;
  cutAll(): void;
  /** Refuse connections (an outage) or accept them again. */
  refuse(on: boolean): Promise<void>;
  readonly refusing: boolean;
  /** Silently drop account updates (an overloaded node). */
  dropUpdates(on: boolean): void;
  /** After an outage: wait until the server can no longer replay what it missed (gRPC), so a resync must heal it. */
  outlast(sinceSlot: bigint): Promise<void>;
  close(): Promise<unknown>;
}

async function websocketLink(chain: TestChain): Promise<LiveLink> {
  const proxy = await startWsProxy(chain.net.wsUrl);
  return {
    url: proxy.url,
    cutAll: () => void proxy.cutAll(),
    async refuse(on) {
      proxy.refuse = on;
    },
    get refusing() {
      return proxy.refuse;
    },
    dropUpdates: (on) => void (proxy.dropProgramNotifications = on),
    outlast: async () => undefined,
    close: () => proxy.close(),
  };
}

async function grpcLink(chain: TestChain): Promise<LiveLink> {
  const server = createGeyserServer({ chain: chain.net.chain, logger: pino({ level: "silent" }), replaySlots: GRPC_REPLAY_SLOTS, pingMs: 1_000 });
  const { url } = await server.listen("127.0.0.1", 0);
  const tcp = await startTcpProxy(url);
  let refusing = false;
  return {
    url: tcp.url,
    cutAll: () => void tcp.cut(),
    async refuse(on) {
      if (on === refusing) return;
      refusing = on;
      await (on ? tcp.stop() : tcp.start());
    },
    get refusing() {
      return refusing;
    },
    dropUpdates: (on) => void (server.dropAccountUpdates = on),
    async outlast(sinceSlot) {
      await waitFor("the replay window to pass the outage", () => (server.firstAvailable("confirmed") ?? 0n) > sinceSlot + 1n, { timeoutMs: 30_000 });
    },
    close: () => Promise.allSettled([tcp.close(), server.close()]),
  };
}

describe.each(["websocket", "grpc"] as const)("differential over the %s live source", (kind) => {
  let chain: TestChain;
  let s: FreshSchema;
  let t: TestIndexer;
  let proxy: LiveLink;

  const rng = seededRandom(SEED);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
  const between = (lo: bigint, hi: bigint) => lo + BigInt(Math.floor(rng() * Number(hi - lo + 1n)));

  beforeAll(async () => {
    chain = await startTestChain({ slotMs: 40 });
    s = await withFreshSchema();
    proxy = kind === "grpc" ? await grpcLink(chain) : await websocketLink(chain);
    const faultRng = seededRandom(SEED ^ 0x5eed);
    const faults = faultyFetch((method): Fault | null => {
      if (method === "sendTransaction") return null;
      const x = faultRng();
      return x < 0.04 ? "network" : x < 0.08 ? "http503" : x < 0.1 ? "node-behind" : null;
    });
    t = testIndexer(s, chain.config, {
      ...(kind === "grpc" ? { grpcUrl: proxy.url } : { wsUrl: proxy.url }),
      fetch: faults.fetch,
      // Periodic reconciliation is left out of the run (its interval is longer than the test) so that what the
      // live paths delivered can be checked before any reconciliation repairs it.
      options: { reconcileIntervalMs: 600_000, webhookRetryBaseMs: 50, stallTimeoutMs: 1_500, reconnectMaxMs: 200 },
    });
    await t.indexer.start();
  }, 60_000);

  afterAll(async () => {
    await t?.indexer.stop();
    await proxy?.close();
    await s?.close();
    await chain?.close();
  });

  type Op = "stake" | "unstake" | "withdraw" | "close" | "failed-stake";

  describe("differential: table equals chain after a hostile workload", () => {
    it(
      `converges (seed ${SEED})`,
      async () => {
        await waitFor("first backfill", () => t.indexer.status().backfillCompletedAt !== null, { timeoutMs: 20_000 });
        const pool = poolTarget(chain.config).pool;
        const stakers: Staker[] = createStakers(chain, WALLETS, 100_000_000n * KAMIYO);
        const outageStakers: Staker[] = createStakers(chain, CUT_AT.length * OUTAGE, 100_000_000n * KAMIYO);
        const done: Record<Op, number> = { stake: 0, unstake: 0, withdraw: 0, close: 0, "failed-stake": 0 };
        const signatures: string[] = [];
        let webhookBacklog: unknown[][] = [];
        let delivered = 0;
        let duplicated = 0;
        let dropped = 0;

        // Webhook traffic: the signatures of landed transactions, grouped into deliveries of 1-6 elements, some
        // elements dropped for good, some sent twice, and deliveries flushed in shuffled order.
        let silent = false;
        const outageSignatures = new Set<string>();
        async function shipWebhooks(force: boolean): Promise<void> {
          while (signatures.length >= 6 || (force && signatures.length > 0)) {
            const size = Math.min(signatures.length, 1 + Math.floor(rng() * 6));
            const body: unknown[] = [];
            for (const sig of signatures.splice(0, size)) {
              const r = rng();
              // Dropped only while the live feed works (in the silent window webhooks are the only live path),
              // and always during an outage.
              if ((r < 0.12 && !silent) || outageSignatures.has(sig)) {
                dropped++;
                continue;
              }
              const element = await getTransactionJson(chain, sig);
              body.push(element);
              if (r > 0.85) {
                duplicated++;
                webhookBacklog.push([element, { slot: 1, meta: null }]); // with an element that has no transaction
              }
            }
            if (body.length > 0) webhookBacklog.push(body);
          }
          if (webhookBacklog.length >= 8 || force) {
            const batch = webhookBacklog;
            webhookBacklog = [];
            for (let i = batch.length - 1; i > 0; i--) {
              const j = Math.floor(rng() * (i + 1));
              [batch[i], batch[j]] = [batch[j]!, batch[i]!];
            }
            for (const body of batch) {
              await enqueueWebhookDelivery(s.db, body);
              delivered++;
            }
          }
        }

        const landed = () => done.stake + done.unstake + done.withdraw + done.close;
        // The last outage outlasts the gRPC replay window: the reconnect after it must resync.
        const LONG_CUT = CUT_AT[CUT_AT.length - 1]!;
        let longCutSlot = 0n;
        for (let i = 0; landed() < OPERATIONS; i++) {
          const outage = CUT_AT.some((at) => i >= at && i < at + OUTAGE);
          if (outage && !proxy.refusing) proxy.cutAll();
          if (i === LONG_CUT) longCutSlot = chain.net.chain.slot("confirmed");
          if (i === LONG_CUT + OUTAGE) await proxy.outlast(longCutSlot);
          await proxy.refuse(outage);
          silent = i >= SILENT_FROM && i < SILENT_TO;
          proxy.dropUpdates(silent);
          if (i > 0 && i % 180 === 0) {
            // Jump past every running cooldown (14 days) so withdrawals become possible.
            const now = chain.net.chain.clock().unixTimestamp;
            await chain.rpc("surfnet_timeTravel", [{ absoluteTimestamp: Number((now + 15n * 86_400n) * 1000n) }]);
          }
          // During an outage, wallets nobody touched before and nobody touches after: their webhooks are lost,
          // no later read can pick them up by chance, only the resync after the reconnect.
          const staker = outage ? outageStakers.pop()! : pick(stakers);
          const address = chain.staking.userStake(staker.wallet).toBase58();
          const account = chain.net.chain.getAccount(address);
          const state = account ? decodeUserStake(account.data) : null;
          const now = chain.net.chain.clock().unixTimestamp;
          const r = rng();
          let op: Op;
          if (!state || state.stakedAmount === 0n) op = account && r < 0.1 ? "close" : "stake";
          else if (state.cooldownEnd === null) op = r < 0.45 ? "stake" : r < 0.9 ? "unstake" : "close";
          else if (state.cooldownEnd <= now) op = r < 0.85 ? "withdraw" : "close";
          else op = r < 0.5 ? "failed-stake" : r < 0.9 ? "close" : "failed-stake";

          try {
            let sig: string | null = null;
            if (op === "stake") {
              sig = await sendTx(chain, staker.keypair, [
                await chain.staking.stake(staker.wallet, staker.tokenAccount, between(100n, 900_000n) * KAMIYO),
              ]);
            } else if (op === "unstake") {
              sig = await sendTx(chain, staker.keypair, [await chain.staking.unstake(staker.wallet, between(1n, state!.stakedAmount))]);
            } else if (op === "withdraw") {
              sig = await sendTx(chain, staker.keypair, [await chain.staking.withdraw(staker.wallet, staker.tokenAccount)]);
            } else if (op === "failed-stake") {
              // refused during a cooldown; lands as a failed transaction (meta.err) for the webhook path
              sig = await sendTx(
                chain,
                staker.keypair,
                [await chain.staking.stake(staker.wallet, staker.tokenAccount, 100n * KAMIYO)],
                { skipPreflight: true },
              );
            } else {
              // The program never closes accounts; a closed account is still stake 0 (surfpool cheatcode).
              await chain.rpc("surfnet_setAccount", [address, { lamports: 0 }]);
            }
            done[op]++;
            if (sig) signatures.push(sig);
            if (sig && outage) outageSignatures.add(sig);
          } catch (err) {
            if (!(err instanceof RpcFailure)) throw err;
            throw new Error(`operation ${i} (${op}) was refused: ${err.message}`);
          }
          if (i % 10 === 0 || silent) await shipWebhooks(silent);
        }
        await shipWebhooks(true);
        proxy.dropUpdates(false);
        await proxy.refuse(false);


        expect(landed()).toBeGreaterThanOrEqual(2_000);
        expect(done.withdraw).toBeGreaterThan(50);
        expect(done.close).toBeGreaterThan(50);
        expect(t.indexer.status().reconnects).toBeGreaterThanOrEqual(3);

        // Quiescence: every delivery settled, nothing buffered or being written, for a while.
        let quietSince = 0;
        await waitFor(
          "quiescence",
          async () => {
            const open = await sql<{ n: number }>`
              SELECT count(*)::int AS n FROM webhook_deliveries WHERE status IN ('pending', 'processing')`.execute(s.db);
            const a = t.indexer.activity();
            const quiet =
              open.rows[0]!.n === 0 && a.subscribed && !a.resyncRunning && a.wsBuffered === 0 && a.rereadsPending === 0 && a.writesPending === 0;
            if (!quiet) quietSince = 0;
            else if (quietSince === 0) quietSince = Date.now();
            return quiet && Date.now() - quietSince > 1_000;
          },
          { timeoutMs: 120_000 },
        );
        // A few closes after everything settled: no transaction, notification or webhook reports them.
        const lastClosed: string[] = [];
        for (const staker of stakers) {
          const address = chain.staking.userStake(staker.wallet).toBase58();
          if (lastClosed.length === 5 || !chain.net.chain.getAccount(address)) continue;
          await chain.rpc("surfnet_setAccount", [address, { lamports: 0 }]);
          lastClosed.push(address);
          done.close++;
        }
        // Nothing may report these closes: a bounded wait gives a wrong report the time to arrive.
        await new Promise((r) => setTimeout(r, 300));

        const rowsNow = () =>
          s.db
            .selectFrom("stakes")
            .select(["address", "owner", "staked_amount", "cooldown_amount", "cooldown_end", "effective_stake", "discount_tier", "closed"])
            .execute();
        const tierName = (e: bigint) => tierFor(e, chain.config.tiers).name;

        // Before any reconciliation: websocket + resyncs + webhooks got every change right. The only rows that
        // may still be wrong are accounts closed by the cheatcode, which no transaction or notification reports.
        const onChain = chainStakes(chain, pool);
        expect(onChain.size).toBeGreaterThan(WALLETS / 2);
        const beforeReconcile = diffTableAgainstChain(await rowsNow(), onChain, tierName);
        // (A late webhook delivery re-reads a closed account and closes its row too; the rest is left here.)
        const closedLeft = beforeReconcile.filter((p) => p.endsWith("not on chain but not closed"));
        for (const address of lastClosed) expect(closedLeft).toContain(`${address}: not on chain but not closed`);
        expect(beforeReconcile.filter((p) => !closedLeft.includes(p))).toEqual([]);

        // RPC faults stay on: a reconciliation that fails is simply run again.
        const reconcile = async () => {
          for (let attempt = 1; ; attempt++) {
            try {
              return await t.indexer.reconcileNow();
            } catch (err) {
              if (attempt >= 20) throw err;
            }
          }
        };
        const report = await reconcile();
        expect(report).toMatchObject({ missing: 0, differing: 0, extra: closedLeft.length });

        const rows = await rowsNow();
        const problems = diffTableAgainstChain(rows, chainStakes(chain, pool), tierName);
        expect(problems).toEqual([]);
        expect(await reconcile()).toMatchObject({ drift: 0 });

        const backwards = await sql<{ address: string }>`
          SELECT address FROM (
            SELECT address, slot, lag(slot) OVER (PARTITION BY address ORDER BY id) AS previous FROM stake_events
          ) e WHERE previous IS NOT NULL AND slot <= previous`.execute(s.db);
        expect(backwards.rows).toEqual([]);

        const sources = await sql<{ source: string; n: number }>`
          SELECT source, count(*)::int AS n FROM stake_events GROUP BY source`.execute(s.db);
        const bySource = Object.fromEntries(sources.rows.map((r) => [r.source, r.n]));
        expect(bySource[kind === "grpc" ? "grpc" : "ws"]).toBeGreaterThan(500);
        expect(bySource[kind === "grpc" ? "ws" : "grpc"]).toBeUndefined();
        expect(bySource.webhook).toBeGreaterThan(0);
        expect(bySource.reconcile ?? 0).toBe(closedLeft.length);
        // Outages are healed by incremental resyncs (getProgramAccountsV2); the initial fill writes no events.
        expect(bySource.resync).toBeGreaterThan(0);
        const webhook = await t.registry.getSingleMetricAsString("kamiyo_indexer_webhook_elements_total");
        expect(webhook).toMatch(/outcome="duplicate"\} [1-9]/);
        expect(webhook).toMatch(/outcome="failed_tx"\} [1-9]/);
        console.log(
          JSON.stringify({
            source: kind,
            seed: SEED,
            operations: done,
            deliveries: delivered,
            duplicatedElements: duplicated,
            droppedElements: dropped,
            events: bySource,
            reconnects: t.indexer.status().reconnects,
            rows: rows.length,
            onChain: onChain.size,
            closedFoundByReconciliation: closedLeft.length,
          }),
        );
      },
      240_000,
    );
  });
});
