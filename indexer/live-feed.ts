/**
 * The live feed: one websocket carrying programSubscribe (the pool's user stakes, at the configured
 * commitment) and slotSubscribe (the liveness signal). Reconnecting is ours, not a library's:
 *  - a socket that closes or errors is replaced after an exponential backoff;
 *  - a socket that stays open but shows no slot progress for `stallTimeoutMs` (a stalled node, a proxy that
 *    stopped forwarding, a server that accepted and never answered) is terminated and replaced;
 *  - every replacement counts as a reconnect and, once both subscriptions are confirmed, `onSubscribed`
 *    runs with `reconnect: true` so the caller can heal the gap with a resync (there is no replay).
 */
import WebSocket from "ws";
import type { Logger } from "pino";
import type { Commitment } from "../src/config.ts";
import { describeError } from "../src/errors.ts";
import type { Backoff } from "../src/retry.ts";
import type { AccountRead, ProgramAccountsFilter } from "./rpc-client.ts";

export interface LiveFeedOptions {
  wsUrl: string;
  programId: string;
  commitment: Commitment;
  filters: ProgramAccountsFilter[];
  logger: Logger;
  /** No slot progress for this long means the socket is dead. */
  stallTimeoutMs: number;
  handshakeTimeoutMs: number;
  backoff: Backoff;
  onAccount(read: AccountRead): void;
  onSlot(slot: bigint): void;
  /** Both subscriptions are confirmed on a new socket. `reconnect` is false only for the very first one. */
  onSubscribed(info: { reconnect: boolean }): void;
  /** A socket was given up (closed, errored, stalled); a reconnect follows. */
  onReconnect(reason: string): void;
}

export interface LiveFeed {
  start(): void;
  stop(): Promise<void>;
  /** Replaces the socket now (operators and tests); counts as a reconnect. */
  restart(reason: string): void;
  readonly subscribed: boolean;
}

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

export function createLiveFeed(o: LiveFeedOptions): LiveFeed {
  let socket: WebSocket | null = null;
  let stopped = true;
  let everSubscribed = false;
  let programSub: number | null = null;
  let slotSub: number | null = null;
  let subscribed = false;
  let highestSlot = -1n;
  let lastProgressAt = 0;
  let failures = 0;
  let reconnectTimer: NodeJS.Timeout | null = null;
  let watchdog: NodeJS.Timeout | null = null;
  let closed: Promise<void> = Promise.resolve();

  const log = o.logger;

  function giveUp(ws: WebSocket, reason: string): void {
    if (ws !== socket) return;
    socket = null;
    subscribed = false;
    programSub = null;
    slotSub = null;
    // terminate(), not close(): a stalled peer would never complete the closing handshake.
    ws.terminate();
    if (stopped) return;
    failures++;
    o.onReconnect(reason);
    const delay = o.backoff.delay(failures);
    log.warn({ reason, delayMs: delay, failures }, "live feed lost; reconnecting");
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      connect();
    }, delay);
  }

  function handle(ws: WebSocket, msg: Message): void {
    if (msg.id === PROGRAM_SUBSCRIBE_ID || msg.id === SLOT_SUBSCRIBE_ID) {
      if (msg.error || typeof msg.result !== "number") {
        giveUp(ws, `subscription refused: ${msg.error?.message ?? "no subscription id"}`);
        return;
      }
      if (msg.id === PROGRAM_SUBSCRIBE_ID) programSub = msg.result;
      else slotSub = msg.result;
      if (programSub !== null && slotSub !== null && !subscribed) {
        subscribed = true;
        const reconnect = everSubscribed;
        everSubscribed = true;
        log.info({ reconnect }, "live feed subscribed");
        o.onSubscribed({ reconnect });
      }
      return;
    }
    if (msg.method === "slotNotification" && msg.params?.subscription === slotSub) {
      const slot = BigInt((msg.params.result as { slot: number }).slot);
      if (slot > highestSlot) {
        highestSlot = slot;
        lastProgressAt = Date.now();
        // A socket that makes progress again has recovered: the next failure starts the backoff over.
        if (subscribed) failures = 0;
        o.onSlot(slot);
      }
      return;
    }
    if (msg.method === "programNotification" && msg.params?.subscription === programSub) {
      const n = msg.params.result as ProgramNotification;
      const slot = BigInt(n.context.slot);
      const a = n.value.account;
      o.onAccount({
        address: n.value.pubkey,
        slot,
        account: { owner: a.owner, lamports: BigInt(a.lamports), data: Buffer.from(a.data[0], "base64") },
      });
    }
  }

  function connect(): void {
    if (stopped) return;
    const ws = new WebSocket(o.wsUrl, { handshakeTimeout: o.handshakeTimeoutMs, perMessageDeflate: false });
    socket = ws;
    // The stall bound starts now: a server that accepts and then says nothing is as dead as a closed one.
    lastProgressAt = Date.now();
    closed = new Promise((resolve) => ws.once("close", () => resolve()));
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
      if (isBinary || ws !== socket) return;
      let msg: Message;
      try {
        msg = JSON.parse(data.toString()) as Message;
      } catch {
        log.warn("live feed: a message is not JSON; ignored");
        return;
      }
      try {
        handle(ws, msg);
      } catch (err) {
        log.warn({ err: describeError(err) }, "live feed: a notification has an unexpected shape; ignored");
      }
    });
    ws.on("error", (err) => giveUp(ws, `socket error: ${describeError(err)}`));
    ws.on("close", (code) => giveUp(ws, `socket closed (${code})`));
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      const every = Math.max(50, Math.min(1000, Math.floor(o.stallTimeoutMs / 4)));
      watchdog = setInterval(() => {
        if (socket && Date.now() - lastProgressAt > o.stallTimeoutMs) {
          giveUp(socket, `no slot progress for ${o.stallTimeoutMs} ms`);
        }
      }, every);
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
