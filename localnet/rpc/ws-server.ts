/** The websocket (PubSub) endpoint on its own port, as the validator runs it (HTTP port + 1 by default). */
import type { Logger } from "pino";
import { WebSocketServer, WebSocket, type RawData } from "ws";
import { dispatch, replyText, type Handler } from "./dispatch.ts";
import type { SubscriberConnection, SubscriptionHub, SubscriptionKind } from "./subscriptions.ts";

/** A client that stops reading is skipped rather than buffered without bound (the validator drops too). */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

class Connection implements SubscriberConnection {
  readonly socket: WebSocket;
  readonly logger: Logger;
  private pending: (() => void)[] = [];
  private warned = false;
  constructor(socket: WebSocket, logger: Logger) {
    this.socket = socket;
    this.logger = logger;
  }
  send(text: string): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    if (this.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      if (!this.warned) this.logger.warn("websocket client is not reading; notifications dropped");
      this.warned = true;
      return;
    }
    this.warned = false;
    this.socket.send(text);
  }
  afterReply(fn: () => void): void {
    this.pending.push(fn);
  }
  flush(): void {
    const fns = this.pending;
    this.pending = [];
    for (const fn of fns) fn();
  }
}

const KINDS: Record<string, [SubscriptionKind, "subscribe" | "unsubscribe"]> = {
  accountSubscribe: ["account", "subscribe"],
  accountUnsubscribe: ["account", "unsubscribe"],
  programSubscribe: ["program", "subscribe"],
  programUnsubscribe: ["program", "unsubscribe"],
  signatureSubscribe: ["signature", "subscribe"],
  signatureUnsubscribe: ["signature", "unsubscribe"],
  slotSubscribe: ["slot", "subscribe"],
  slotUnsubscribe: ["slot", "unsubscribe"],
  logsSubscribe: ["logs", "subscribe"],
  logsUnsubscribe: ["logs", "unsubscribe"],
  rootSubscribe: ["root", "subscribe"],
  rootUnsubscribe: ["root", "unsubscribe"],
  slotsUpdatesSubscribe: ["slotsUpdates", "subscribe"],
  slotsUpdatesUnsubscribe: ["slotsUpdates", "unsubscribe"],
};

export function createWsTransport(hub: SubscriptionHub, logger: Logger): {
  listen(host: string, port: number): Promise<number>;
  close(): Promise<void>;
} {
  let wss: WebSocketServer | null = null;
  const lookup = (method: string): Handler<Connection> | undefined => {
    const entry = KINDS[method];
    if (!entry) return undefined;
    const [kind, action] = entry;
    return action === "subscribe"
      ? (params, conn) => hub.subscribe(conn, kind, params)
      : (params, conn) => hub.unsubscribe(conn, kind, params);
  };

  const onConnection = (socket: WebSocket) => {
    const conn = new Connection(socket, logger);
    socket.on("message", (data: RawData, isBinary: boolean) => {
      if (isBinary) return;
      const text = Array.isArray(data) ? Buffer.concat(data).toString("utf8") : data.toString();
      const dispatched = dispatch(text, { lookup, ctx: conn, logger });
      if (dispatched) conn.send(replyText(dispatched));
      conn.flush();
    });
    socket.on("close", () => hub.dropConnection(conn));
    socket.on("error", (err) => logger.debug({ err }, "websocket client error"));
  };

  return {
    listen(host, port) {
      return new Promise((resolve, reject) => {
        const server = new WebSocketServer({ host, port, perMessageDeflate: false });
        server.once("error", reject);
        server.once("listening", () => {
          server.off("error", reject);
          server.on("error", (err) => logger.error({ err }, "websocket server error"));
          wss = server;
          const address = server.address();
          resolve(typeof address === "object" && address ? address.port : port);
        });
        server.on("connection", onConnection);
      });
    },
    close() {
      const server = wss;
      wss = null;
      if (!server) return Promise.resolve();
      for (const client of server.clients) client.terminate();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
