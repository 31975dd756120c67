/**
 * The Solana JSON-RPC facade over the local chain: HTTP methods, websocket subscriptions on their own port,
 * and the optional Helius-style webhook sender.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pino, type Logger } from "pino";
import type { ChainApi } from "../types.ts";
import { createHttpTransport } from "./http-server.ts";
import { HTTP_METHODS, type MethodContext } from "./methods/index.ts";
import { createSubscriptionHub } from "./subscriptions.ts";
import { createWebhookSender, type WebhookConfig, type WebhookSender } from "./webhook-sender.ts";
import { createWsTransport } from "./ws-server.ts";

export type { WebhookConfig, WebhookSender };

export interface RpcServerDeps {
  chain: ChainApi;
  logger?: Logger;
  webhook?: WebhookConfig;
}

export interface RpcServer {
  listen(opts: { host: string; httpPort: number; wsPort: number }): Promise<{ httpUrl: string; wsUrl: string }>;
  close(): Promise<void>;
  /** Present when a webhook is configured. */
  readonly webhook: WebhookSender | null;
  /** Live websocket subscriptions (diagnostics; tests wait on it). */
  subscriptionCount(): number;
}

function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}

export function createRpcServer(deps: RpcServerDeps): RpcServer {
  const { chain } = deps;
  const logger = (deps.logger ?? pino({ level: "silent" })).child({ component: "localnet-rpc" });
  const ctx: MethodContext = { chain, logger };
  const http: Server = createHttpTransport({ lookup: (m) => HTTP_METHODS.get(m), ctx, logger });
  const hub = createSubscriptionHub(chain, logger);
  const ws = createWsTransport(hub, logger);
  const webhook = deps.webhook && deps.webhook.urls.length > 0 ? createWebhookSender(chain, deps.webhook, logger) : null;
  let closed = false;

  return {
    webhook,
    subscriptionCount: () => hub.count(),
    async listen({ host, httpPort, wsPort }) {
      await new Promise<void>((resolve, reject) => {
        http.once("error", reject);
        http.listen(httpPort, host, () => {
          http.off("error", reject);
          resolve();
        });
      });
      const realHttpPort = (http.address() as AddressInfo).port;
      const realWsPort = await ws.listen(host, wsPort);
      const h = urlHost(host);
      logger.info({ httpPort: realHttpPort, wsPort: realWsPort }, "local chain RPC listening");
      return { httpUrl: `http://${h}:${realHttpPort}`, wsUrl: `ws://${h}:${realWsPort}` };
    },
    async close() {
      if (closed) return;
      closed = true;
      await webhook?.close();
      hub.close();
      await ws.close();
      if (http.listening) {
        const done = new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeAllConnections();
        await done;
      }
    },
  };
}
