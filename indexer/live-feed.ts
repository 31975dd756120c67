/**
 * The live feed: one websocket carrying programSubscribe (the pool's user stakes, at the configured
 * commitment) and slotSubscribe (the liveness signal). Reconnecting is ours, not a library's:
 *  - a socket that closes or errors is replaced after an exponential backoff;
 *  - a socket that stays open but shows no slot progress for `stallTimeoutMs` (a stalled node, a proxy that
 *    stopped forwarding, a server that accepted and never answered) is terminated and replaced;
 *  - every replacement counts as a reconnect and, once both subscriptions are confirmed, `onSubscribed`
 *    runs with `reconnect: true` and `resumed: false` so the caller can heal the gap with a resync (a
 *    websocket has no replay).
 * It is one of the two live sources (./live/source.ts); the stall watchdog is shared (./live/liveness.ts).
 */
import WebSocket from "ws";
import type { Logger } from "pino";
import type { Commitment } from "../src/config.ts";
import { describeError } from "../src/errors.ts";
import type { Backoff } from "../src/retry.ts";
import { createLiveness } from "./live/liveness.ts";
import type { LiveSource, LiveSourceEvents } from "./live/source.ts";
import type { AccountRead, ProgramAccountsFilter } from "./rpc-client.ts";

export interface LiveFeedOptions extends LiveSourceEvents {
  wsUrl: string;
  programId: string;
  commitment: Commitment;
  filters: ProgramAccountsFilter[];
  logger: Logger;
  /** No slot progress for this long means the socket is dead. */
  stallTimeoutMs: number;
  handshakeTimeoutMs: number;
  backoff: Backoff;
}

export type LiveFeed = LiveSource;

const PROGRAM_SUBSCRIBE_ID = 1;
const SLOT_SUBSCRIBE_ID = 2;

interface Message {
  id?: number;
  result?: unknown;
  error?: { code?: number; message?: string };
  method?: string;
  params?: { subscription?: number; result?: unknown };
}

interface ProgramNotification {
  context: { slot: number };
  value: { pubkey: string; account: { data: [string, string]; lamports: number; owner: string } };
}

/** What one socket reports, each with the socket, so that reports of a replaced socket can be ignored. */
interface SocketEvents {
  subscribed(ws: WebSocket): void;
  slot(ws: WebSocket, slot: bigint): void;
  account(ws: WebSocket, read: AccountRead): void;
  gone(ws: WebSocket, reason: string): void;
}

/** Opens one socket, subscribes on it, and reports what it hears until it closes or errors. */
function openSocket(o: LiveFeedOptions, on: SocketEvents): { ws: WebSocket; closed: Promise<void> } {
  const ws = new WebSocket(o.wsUrl, { handshakeTimeout: o.handshakeTimeoutMs, perMessageDeflate: false });
  const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
  let programSub: number | null = null;
  let slotSub: number | null = null;

  function handle(msg: Message): void {
    if (msg.id === PROGRAM_SUBSCRIBE_ID || msg.id === SLOT_SUBSCRIBE_ID) {
      if (msg.error || typeof msg.result !== "number") {
        on.gone(ws, `subscription refused: ${msg.error?.message ?? "no subscription id"}`);
        return;
      }
      if (msg.id === PROGRAM_SUBSCRIBE_ID) programSub = msg.result;
      else slotSub = msg.result;
      if (programSub !== null && slotSub !== null) on.subscribed(ws);
      return;
    }
    if (msg.method === "slotNotification" && msg.params?.subscription === slotSub) {
      on.slot(ws, BigInt((msg.params.result as { slot: number }).slot));
      return;
    }
    if (msg.method === "programNotification" && msg.params?.subscription === programSub) {
      const n = msg.params.result as ProgramNotification;
      const a = n.value.account;
      on.account(ws, {
        address: n.value.pubkey,
        slot: BigInt(n.context.slot),
        account: { owner: a.owner, lamports: BigInt(a.lamports), data: Buffer.from(a.data[0], "base64") },
      });
    }
  }

  ws.on("open", () => {
    const send = (id: number, method: string, params: unknown[]) => ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    send(PROGRAM_SUBSCRIBE_ID, "programSubscribe", [
      o.programId,
      // Commitment is always explicit: the node's default is finalized.
      { commitment: o.commitment, encoding: "base64", filters: o.filters },
    ]);
    send(SLOT_SUBSCRIBE_ID, "slotSubscribe", []);
  });
  ws.on("message", (data, isBinary) => {
    if (isBinary) return;
    let msg: Message;
    try {
      msg = JSON.parse(data.toString()) as Message;
    } catch {
      o.logger.warn("live feed: a message is not JSON; ignored");
      return;
    }
    try {
      handle(msg);
    } catch (err) {
      o.logger.warn({ err: describeError(err) }, "live feed: a notification has an unexpected shape; ignored");
    }
  });
  ws.on("error", (err) => on.gone(ws, `socket error: ${describeError(err)}`));
  ws.on("close", (code) => on.gone(ws, `socket closed (${code})`));
  return { ws, closed };
}

/** The feed: one socket at a time, replaced with backoff when it is lost or stalls. */
export function createLiveFeed(o: LiveFeedOptions): LiveFeed {
  const liveness = createLiveness(o);
  let socket: WebSocket | null = null;
  let stopped = true;
  let everSubscribed = false;
  let subscribed = false;
  let reconnectTimer: NodeJS.Timeout | null = null;
  let watchdog: NodeJS.Timeout | null = null;
  let closed: Promise<void> = Promise.resolve();

  function giveUp(ws: WebSocket, reason: string): void {
    if (ws !== socket) return;
    socket = null;
    subscribed = false;
    // terminate(), not close(): a stalled peer would never complete the closing handshake.
    ws.terminate();
    if (stopped) return;
    const { failures, delayMs } = liveness.failed();
    o.onReconnect(reason);
    o.logger.warn({ reason, delayMs, failures }, "live feed lost; reconnecting");
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      connect();
    }, delayMs);
  }

  const events: SocketEvents = {
    // Once per socket: both subscriptions confirmed.
    subscribed(ws) {
      if (ws !== socket || subscribed) return;
      subscribed = true;
      const reconnect = everSubscribed;
      everSubscribed = true;
      o.logger.info({ reconnect }, "live feed subscribed");
      o.onSubscribed({ reconnect, resumed: false });
    },
    slot(ws, slot) {
      if (ws === socket && liveness.progress(slot, subscribed)) o.onSlot(slot);
    },
    account(ws, read) {
      if (ws === socket) o.onAccount(read);
    },
    gone: giveUp,
  };

  function connect(): void {
    if (stopped) return;
    const opened = openSocket(o, events);
    socket = opened.ws;
    closed = opened.closed;
    liveness.opened();
  }

  return {
    kind: "websocket",
    start() {
      if (!stopped) return;
      stopped = false;
      watchdog = setInterval(() => {
        if (socket && liveness.stalled()) giveUp(socket, `no slot progress for ${o.stallTimeoutMs} ms`);
      }, liveness.checkEveryMs);
      connect();
    },
    async stop() {
      stopped = true;
      if (watchdog) clearInterval(watchdog);
      if (reconnectTimer) clearTimeout(reconnectTimer);
      watchdog = reconnectTimer = null;
      const ws = socket;
      socket = null;
      subscribed = false;
      if (ws) {
        ws.terminate();
        await closed;
      }
    },
    restart(reason) {
      if (socket) giveUp(socket, reason);
    },
    get subscribed() {
      return subscribed;
    },
  };
}
