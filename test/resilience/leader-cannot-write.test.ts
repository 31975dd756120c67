/**
 * A leader that cannot write says so: with the indexer's database connections black-holed (the API reads
 * the same database directly), /ready answers 503 naming the indexer and why ("cannot write, or none
 * leads") within the status bound, the indexer logs why it stopped writing, and both recover once its
 * connections carry bytes again.
 */
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIndexer, type Indexer } from "../../indexer/indexer.ts";
import { createDatabase, type DatabaseHandle } from "../../src/db/database.ts";
import { capturingLogger, startTestApi, type TestApi } from "../api/harness.ts";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { startTcpProxy, type TcpProxy } from "../kit/tcp-proxy.ts";
import { waitFor } from "../kit/wait-for.ts";
import { startTestChain, type TestChain } from "../indexer/helpers/chain.ts";
import { FAST } from "../indexer/helpers/indexer.ts";

const STATUS_MAX_AGE_MS = 2_000;

describe("a leader that cannot write", () => {
  let chain: TestChain;
  let schema: FreshSchema;
  let proxy: TcpProxy;
  let viaProxy: DatabaseHandle;
  let indexer: Indexer;
  let api: TestApi;
  const { logger, lines } = capturingLogger();
  beforeAll(async () => {
    chain = await startTestChain();
    schema = await withFreshSchema();
    proxy = await startTcpProxy(schema.url);
    viaProxy = createDatabase({ url: proxy.url, schema: schema.schema, max: 4 });
    indexer = createIndexer({ config: chain.config, db: viaProxy.db, pool: viaProxy.pool, logger, registry: new Registry(), options: FAST });
    await indexer.start();
    api = await startTestApi({ schema, env: { STAKE_DATA_MAX_AGE_MS: String(STATUS_MAX_AGE_MS) } });
  });
  afterAll(async () => {
    await api?.close();
    proxy?.restore();
    await indexer?.stop();
    await viaProxy?.close();
    await proxy?.close();
    await schema?.close();
    await chain?.close();
  });

  const ready = async () => {
    const res = await fetch(`${api.url}/ready`);
    return { status: res.status, body: (await res.json()) as { ready: boolean; dependency?: string; reason?: string } };
  };

  it("answers 503 naming the indexer on /ready and logs why, then recovers", { timeout: 60_000 }, async () => {
    await waitFor("/ready 200 with a leading indexer", async () => (await ready()).status === 200, { timeoutMs: 20_000, everyMs: 100 });
    const cutAt = Date.now();
    proxy.blackHole();
    await waitFor("/ready to name the indexer", async () => (await ready()).body.dependency === "indexer", { timeoutMs: 15_000, everyMs: 100 });
    const readyMs = Date.now() - cutAt;
    const { status, body } = await ready();
    expect(status).toBe(503);
    expect(body.reason).toMatch(/no indexer leader has written its status for \d+ s \(it cannot write, or none leads\)/);
    // The leader says why it stopped writing: its writes failing for 3 s while it leads, or (the lock
    // connection being as silent as the others) its leadership ending with the reason.
    const said = (l: string) => l.includes("indexer leader cannot write to the database") || (l.includes("indexer leadership ended") && l.includes("did not answer"));
    await waitFor("the leader's log line", () => lines.some(said), {
      timeoutMs: 15_000,
      everyMs: 100,
    });
    const logMs = Date.now() - cutAt;
    console.log(`[resilience] leader cannot write: /ready 503 (indexer) after ${readyMs} ms, logged after ${logMs} ms`);

    proxy.restore();
    await waitFor("/ready 200 again", async () => (await ready()).status === 200, { timeoutMs: 30_000, everyMs: 100 });
  });
});
