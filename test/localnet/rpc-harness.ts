/** Starts the in-process chain and the RPC facade on ephemeral ports for the rpc-*.test.ts files. */
import { Connection } from "@solana/web3.js";
import { createChain, type Chain, type ChainOptions } from "../../localnet/chain.ts";
import { createRpcServer, type RpcServer, type RpcServerDeps } from "../../localnet/rpc/index.ts";

export interface Harness {
  chain: Chain;
  server: RpcServer;
  httpUrl: string;
  wsUrl: string;
  connection: Connection;
  /** Raw JSON-RPC over HTTP: returns the parsed body and its text. */
  rpc(body: unknown): Promise<{ status: number; text: string; json: any }>;
  call(method: string, params?: unknown[]): Promise<any>;
  close(): Promise<void>;
}

export async function startHarness(
  chainOptions: ChainOptions = { slotMs: 0 },
  serverDeps: Omit<RpcServerDeps, "chain"> = {},
): Promise<Harness> {
  const chain = createChain(chainOptions);
  const server = createRpcServer({ chain, ...serverDeps });
  const { httpUrl, wsUrl } = await server.listen({ host: "127.0.0.1", httpPort: 0, wsPort: 0 });
  const connection = new Connection(httpUrl, { commitment: "confirmed", wsEndpoint: wsUrl });
  let nextId = 1;
  const rpc = async (body: unknown) => {
    const res = await fetch(httpUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, text, json: text ? JSON.parse(text) : null };
  };
  return {
    chain,
    server,
    httpUrl,
    wsUrl,
    connection,
    rpc,
    async call(method, params) {
      const { json } = await rpc({ jsonrpc: "2.0", id: nextId++, method, ...(params ? { params } : {}) });
      if (json.error) throw Object.assign(new Error(json.error.message), { rpc: json.error });
      return json.result;
    },
    async close() {
      // web3.js keeps its websocket open until every subscription is removed; close it explicitly
      (connection as unknown as { _rpcWebSocket?: { close(): void } })._rpcWebSocket?.close();
      await server.close();
      chain.close();
    },
  };
}

/** Resolves with the first value `poll` returns that is not undefined, or rejects after `ms`. */
export async function waitFor<T>(poll: () => T | undefined | Promise<T | undefined>, ms = 5000, what = "condition"): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await poll();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
