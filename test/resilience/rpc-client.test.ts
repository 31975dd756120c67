/**
 * The indexer's RPC client under a black-holed node: an ordinary call and the streamed getProgramAccounts
 * (which has no overall deadline) both fail within their deadline as retryable RpcCallErrors, not a hang,
 * and work again once the node answers.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RpcCallError } from "../../indexer/errors.ts";
import { createRpcClient, type RpcClient } from "../../indexer/rpc-client.ts";
import { startTcpProxy, type TcpProxy } from "../kit/tcp-proxy.ts";
import { startTestChain, type TestChain } from "../indexer/helpers/chain.ts";

const DEADLINE_MS = 500;

describe("the indexer's RPC client with the node black-holed", () => {
  let chain: TestChain;
  let proxy: TcpProxy;
  let rpc: RpcClient;
  beforeAll(async () => {
    chain = await startTestChain();
    proxy = await startTcpProxy(chain.net.httpUrl);
    rpc = createRpcClient({ url: proxy.url, timeoutMs: DEADLINE_MS });
  });
  afterAll(async () => {
    await proxy?.close();
    await chain?.close();
  });

  const listAll = async () => {
    let n = 0;
    for await (const batch of rpc.streamProgramAccounts(chain.config.solana.programId, { commitment: "confirmed", filters: [], batchSize: 100 })) n += batch.accounts.length;
    return n;
  };

  it("fails calls and streams within the deadline, retryably, then works again", async () => {
    expect(await rpc.getSlot("confirmed")).toBeGreaterThan(0n);
    proxy.blackHole();
    for (const [name, run] of [
      ["getSlot", () => rpc.getSlot("confirmed")],
      ["streamed getProgramAccounts", listAll],
    ] as const) {
      const started = Date.now();
      const err = await (run as () => Promise<unknown>)().then(
        () => null,
        (e: unknown) => e,
      );
      const ms = Date.now() - started;
      expect(err, name).toBeInstanceOf(RpcCallError);
      expect((err as RpcCallError).retryable, name).toBe(true);
      expect(ms, name).toBeLessThan(DEADLINE_MS + 2_000);
    }
    proxy.restore();
    expect(await listAll()).toBeGreaterThanOrEqual(0);
    expect(await rpc.getSlot("confirmed")).toBeGreaterThan(0n);
  });
});
