/**
 * A websocket man-in-the-middle between the indexer and the local chain's PubSub port, so tests can do to
 * the live feed what networks and nodes do: cut every socket from the server side, stall (keep the socket
 * open and stop forwarding), or silently drop program notifications (subscriptions and slot notifications,
 * the indexer's liveness signal, still flow: the feed looks healthy and delivers no stake changes).
 */
import type { AddressInfo } from "node:net";
import WebSocket, { WebSocketServer } from "ws";

export interface WsProxy {
  url: string;
  /** Server-side cut of every open client socket (TCP reset, no close frame). */
  cutAll(): number;
  /** While true, nothing from upstream reaches clients, but sockets stay open. */
  stalled: boolean;
  /** While true, programNotification messages are dropped (slot notifications still flow). */
  dropProgramNotifications: boolean;
  /** programNotification messages dropped so far. */
  dropped(): number;
  /** While true, new client sockets are cut as soon as they connect (the node is unreachable). */
  refuse: boolean;
  /** Client sockets accepted so far. */
  readonly connections: number;
  readonly open: number;
  close(): Promise<void>;
}

export async function startWsProxy(upstreamUrl: string, options: { dropProgramNotifications?: boolean } = {}): Promise<WsProxy> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  const pairs = new Set<{ client: WebSocket; upstream: WebSocket }>();
  let connections = 0;
  let dropped = 0;
  const proxy: WsProxy = {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    stalled: false,
    dropProgramNotifications: options.dropProgramNotifications ?? false,
    dropped: () => dropped,
    refuse: false,
    cutAll() {
      const n = pairs.size;
      for (const p of pairs) {
        p.client.terminate();
        p.upstream.terminate();
      }
      pairs.clear();
      return n;
    },
    get connections() {
      return connections;
    },
    get open() {
      return pairs.size;
    },
    async close() {
      proxy.cutAll();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
  wss.on("connection", (client) => {
    connections++;
    if (proxy.refuse) {
      client.terminate();
      return;
    }
    const upstream = new WebSocket(upstreamUrl, { perMessageDeflate: false });
    const pair = { client, upstream };
    pairs.add(pair);
    const queued: string[] = [];
    upstream.on("open", () => {
      for (const m of queued.splice(0)) upstream.send(m);
    });
    client.on("message", (data) => {
      const text = data.toString();
      if (upstream.readyState === WebSocket.OPEN) upstream.send(text);
      else queued.push(text);
    });
    upstream.on("message", (data) => {
      if (proxy.stalled || client.readyState !== WebSocket.OPEN) return;
      const text = data.toString();
      if (proxy.dropProgramNotifications && text.includes('"method":"programNotification"')) {
        dropped++;
        return;
      }
      client.send(text);
    });
    const end = () => {
      pairs.delete(pair);
      client.terminate();
      upstream.terminate();
    };
    client.on("close", end);
    upstream.on("close", end);
    client.on("error", end);
    upstream.on("error", end);
  });
  return proxy;
}

/** A websocket server that completes the handshake and then never sends anything. */
export async function startSilentWsServer(): Promise<{ url: string; connections: () => number; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  let connections = 0;
  wss.on("connection", (socket) => {
    connections++;
    socket.on("error", () => undefined);
  });
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    connections: () => connections,
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
