/**
 * The local chain (no demo seed) and raw JSON-RPC clients for the rpc-*.test.ts files. By default the slot stands
 * still and every commitment level is the newest block (nothing would ever confirm otherwise);
 * rpc-commitment.test.ts runs a moving chain with real lags.
 */
import { Connection } from "@solana/web3.js";
import type { Chain } from "../../localnet/chain.ts";
import type { RpcServer } from "../../localnet/rpc/index.ts";
import { startTestLocalnet, type TestLocalnetOptions } from "../kit/localnet.ts";

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

export async function startHarness(options: Omit<TestLocalnetOptions, "seedDemo"> = {}): Promise<Harness> {
  const net = await startTestLocalnet({ slotMs: 0, confirmedLag: 0, finalizedLag: 0, ...options, seedDemo: false });
  const { chain, rpcServer: server, httpUrl, wsUrl } = net;
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
      await net.close();
    },
  };
}
