/**
 * Leadership that cannot wedge. The leader's database connections go silent (a proxy freezes them: open,
 * no bytes, and no FIN either way). Its lock session ends on the server once silent for the session bound
 * (idle_session_timeout), the leader itself gives up when its ping gets no answer, and a standby takes over
 * and indexes what happens next. Both indexers stop promptly afterwards, frozen sockets and all.
 */
import { Writable } from "node:stream";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIndexer, type Indexer } from "../../indexer/index.ts";
import { sessionBoundMs } from "../../indexer/leadership.ts";
import { createDatabase, type DatabaseHandle } from "../../src/db/database.ts";
import { KAMIYO } from "../indexer/helpers/accounts.ts";
import { createStakers, sendTx, startTestChain, type TestChain } from "../indexer/helpers/chain.ts";
import { FAST } from "../indexer/helpers/indexer.ts";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { startTcpProxy, type TcpProxy } from "../kit/tcp-proxy.ts";
import { waitFor } from "../kit/wait-for.ts";

const RETRY_MS = 200;

function capturingLogger(lines: Array<Record<string, unknown>>) {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split("\n")) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return pino({ level: "info" }, sink);
}

describe("a leader whose database connections freeze", () => {
  let chain: TestChain;
  let s: FreshSchema;
  let proxy: TcpProxy;
  let viaProxy: DatabaseHandle;
  let leader: Indexer;
  let standby: Indexer;
  const leaderLog: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    chain = await startTestChain();
    s = await withFreshSchema();
    proxy = await startTcpProxy(s.url);
    viaProxy = createDatabase({ url: proxy.url, schema: s.schema, max: 4 });
    const options = { ...FAST, leaderRetryMs: RETRY_MS };
    leader = createIndexer({ config: chain.config, db: viaProxy.db, pool: viaProxy.pool, logger: capturingLogger(leaderLog), registry: new Registry(), options });
    standby = createIndexer({ config: chain.config, db: s.db, pool: s.pool, logger: pino({ level: "silent" }), registry: new Registry(), options });
  });
  afterAll(async () => {
    await leader?.stop();
    await standby?.stop();
    await viaProxy?.close();
    await proxy?.close();
    await s?.close();
    await chain?.close();
  });

  it("loses its lock to the standby within the session bound, says so, and the standby indexes new stakes", async () => {
    await leader.start();
    await waitFor("the first indexer to lead", () => leader.isLeader, { timeoutMs: 10_000 });
    await standby.start();
    await waitFor("the first backfill", () => leader.status().backfillCompletedAt !== null, { timeoutMs: 10_000 });
    expect(standby.isLeader).toBe(false);

    const frozenAt = Date.now();
    expect(proxy.freeze()).toBeGreaterThan(0);
    await waitFor("the standby to take over", () => standby.isLeader, { timeoutMs: 20_000, everyMs: 20 });
    const takeoverMs = Date.now() - frozenAt;
    const bound = sessionBoundMs(RETRY_MS) + 2 * RETRY_MS + 1_000;
    console.log(`[resilience] takeover from a frozen leader: ${takeoverMs} ms (session bound ${sessionBoundMs(RETRY_MS)} ms)`);
    expect(takeoverMs).toBeLessThan(bound);

    await waitFor("the frozen leader to step down", () => !leader.isLeader, { timeoutMs: 10_000 });
    // Said once its term has closed (parts stuck on frozen queries end at their query deadline).
    await waitFor(
      "the frozen leader to log why it stopped leading",
      () => leaderLog.some((l) => l.msg === "indexer leadership ended" && String(l.reason).includes("lock connection")),
      { timeoutMs: 15_000 },
    );

    const [staker] = createStakers(chain, 1, 1_000_000n * KAMIYO);
    await sendTx(chain, staker!.keypair, [await chain.staking.stake(staker!.wallet, staker!.tokenAccount, 200_000n * KAMIYO)]);
    const address = chain.staking.userStake(staker!.wallet).toBase58();
    await waitFor(
      "the new leader to index a stake made after the takeover",
      async () => (await s.db.selectFrom("stakes").select("address").where("address", "=", address).executeTakeFirst()) !== undefined,
      { timeoutMs: 10_000 },
    );

    // Stopping is bounded whatever the frozen sockets do.
    const stopAt = Date.now();
    await Promise.all([leader.stop(), standby.stop()]);
    const stopMs = Date.now() - stopAt;
    console.log(`[resilience] both indexers stopped in ${stopMs} ms`);
    expect(stopMs).toBeLessThan(10_000);
  });
});
