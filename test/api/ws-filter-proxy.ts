/**
 * A websocket proxy in front of the local chain that forwards everything except programNotification
 * messages. Subscriptions and slot notifications (the indexer's liveness signal) still flow, so the indexer
 * runs normally while its live feed delivers no stake changes: only webhooks (and resyncs) do.
 */
import type { AddressInfo } from "node:net";
import WebSocket, { WebSocketServer } from "ws";

export interface WsFilterProxy {
  url: string;
  /** programNotification messages dropped so far. */
  dropped(): number;
  close(): Promise<void>;
}

export async function startWsFilterProxy(upstreamUrl: string): Promise<WsFilterProxy> {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  let dropped = 0;
  server.on("connection", (client) => {
    const upstream = new WebSocket(upstreamUrl);
    const pending: WebSocket.RawData[] = [];
    upstream.on("open", () => {
      for (const m of pending.splice(0)) upstream.send(m, { binary: false });
    });
    client.on("message", (data) => {
      if (upstream.readyState === WebSocket.OPEN) upstream.send(data, { binary: false });
      else pending.push(data);
    });
    upstream.on("message", (data) => {
      const text = data.toString();
      if (text.includes('"programNotification"')) {
        dropped++;
        return;
      }
      if (client.readyState === WebSocket.OPEN) client.send(text);
    });
    const closeBoth = () => {
      client.terminate();
      upstream.terminate();
    };
    client.on("close", closeBoth);
    client.on("error", closeBoth);
    upstream.on("close", closeBoth);
    upstream.on("error", closeBoth);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    dropped: () => dropped,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of server.clients) c.terminate();
        server.close(() => resolve());
      }),
  };
}
