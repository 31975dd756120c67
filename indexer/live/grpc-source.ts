/**
 * The Yellowstone gRPC live source, with the official client (@triton-one/yellowstone-grpc): one Subscribe
 * stream carrying the staking program's accounts (owner = the program, the same data filters as the
 * websocket's programSubscribe) and slot updates at the configured commitment (the liveness signal).
 * Reconnecting is ours (the client's own reconnect is left off), so that:
 *  - a stream that ends, errors or shows no slot progress for `stallTimeoutMs` is replaced after a backoff,
 *    on a new client;
 *  - the replacement asks the server to replay from the last slot this source delivered (`fromSlot`,
 *    inclusive: a slot cut in the middle comes again whole; the slot guard drops what was already applied),
 *    and reports `resumed: true`, so no resync is needed;
 *  - when the server no longer holds that slot (SubscribeReplayInfo says so, or Subscribe answers
 *    OUT_OF_RANGE "broadcast from N is not available"), it subscribes without replay and reports
 *    `resumed: false`: the caller resyncs.
 * The token goes in the x-token header and nowhere else (never logged).
 */
import bs58 from "bs58";
import type { Logger } from "pino";
import * as yellowstone from "@triton-one/yellowstone-grpc";
import { CommitmentLevel, type SubscribeRequest, type SubscribeUpdate } from "@triton-one/yellowstone-grpc";
import type { Commitment } from "../../src/config.ts";
import { describeError } from "../../src/errors.ts";
import type { Backoff } from "../../src/retry.ts";
import type { ProgramAccountsFilter } from "../rpc-client.ts";
import { createLiveness } from "./liveness.ts";
import type { LiveSource, LiveSourceEvents } from "./source.ts";

export interface GrpcSourceOptions extends LiveSourceEvents {
  url: string;
  token: string | undefined;
  programId: string;
  commitment: Commitment;
  filters: ProgramAccountsFilter[];
  logger: Logger;
  stallTimeoutMs: number;
  handshakeTimeoutMs: number;
  backoff: Backoff;
}

const LEVEL: Record<Commitment, CommitmentLevel> = {
  processed: CommitmentLevel.PROCESSED,
  confirmed: CommitmentLevel.CONFIRMED,
  finalized: CommitmentLevel.FINALIZED,
};
const ACCOUNTS_FILTER = "stakes";
const SLOTS_FILTER = "slots";

/** A replay the server cannot serve: the Geyser plugin's OUT_OF_RANGE, as the client reports it. */
export function isReplayUnavailable(err: unknown): boolean {
  const text = `${describeError(err)} ${String((err as { cause?: unknown } | null)?.cause ?? "")}`;
  return /is not available|past the valid range|out of range|from_slot is not supported/i.test(text);
}

function request(o: GrpcSourceOptions, fromSlot: bigint | null): SubscribeRequest {
  return {
    accounts: {
      [ACCOUNTS_FILTER]: {
        account: [],
        owner: [o.programId],
        filters: o.filters.map((f) =>
          "dataSize" in f
            ? { datasize: String(f.dataSize) }
            : {
                memcmp: {
                  offset: String(f.memcmp.offset),
                  ...(f.memcmp.encoding === "base64" ? { base64: f.memcmp.bytes } : { base58: f.memcmp.bytes }),
                },
              },
        ),
      },
    },
    slots: { [SLOTS_FILTER]: { filterByCommitment: true } },
    transactions: {},
    transactionsStatus: {},
    blocks: {},
    blocksMeta: {},
    entry: {},
    accountsDataSlice: [],
    commitment: LEVEL[o.commitment],
    ...(fromSlot !== null ? { fromSlot: fromSlot.toString() } : {}),
  };
}

/** A ping answer: carries no filter, so the server only answers it (as in the Yellowstone examples). */
const PING: SubscribeRequest = {
  accounts: {},
  slots: {},
  transactions: {},
  transactionsStatus: {},
  blocks: {},
  blocksMeta: {},
  entry: {},
  accountsDataSlice: [],
  ping: { id: 1 },
};

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** The client class: a CommonJS default export, which Node and bundlers hand out one level apart. */
type ClientClass = typeof yellowstone.default.default;
const exported = yellowstone as unknown as { default: ClientClass | { default: ClientClass } };
const Client: ClientClass = typeof exported.default === "function" ? exported.default : exported.default.default;
type Stream = Awaited<ReturnType<InstanceType<ClientClass>["subscribe"]>>;

export function createGrpcSource(o: GrpcSourceOptions): LiveSource {
  const liveness = createLiveness(o);
  const log = o.logger.child({ live: "grpc" });
  let stopped = true;
  /** Identifies the current connection; events of replaced ones are ignored. */
  let generation = 0;
  let stream: Stream | null = null;
  let subscribed = false;
  let everSubscribed = false;
  /** The highest slot this source delivered (account or slot update): the next replay starts there. */
  let lastSlot: bigint | null = null;
  /** The server refused the last replay: the next connection subscribes without one. */
  let skipReplay = false;
  let reconnectTimer: NodeJS.Timeout | null = null;
  let watchdog: NodeJS.Timeout | null = null;

  const current = (gen: number) => gen === generation && !stopped;
  const delivered = (slot: bigint) => {
    if (lastSlot === null || slot > lastSlot) lastSlot = slot;
  };

  function giveUp(gen: number, reason: string, opts: { immediate?: boolean } = {}): void {
    if (gen !== generation) return;
    generation++;
    const s = stream;
    stream = null;
    subscribed = false;
    s?.destroy();
    if (stopped) return;
    const { failures, delayMs } = liveness.failed();
    const wait = opts.immediate ? 0 : delayMs;
    o.onReconnect(reason);
    log.warn({ reason, delayMs: wait, failures }, "gRPC stream lost; reconnecting");
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      void connect();
    }, wait);
  }

  function onUpdate(gen: number, u: SubscribeUpdate, resumed: boolean, s: Stream): void {
    if (!current(gen)) return;
    if (!subscribed) {
      // The first update of any kind: the server accepted the request (a refused replay errors first).
      subscribed = true;
      const reconnect = everSubscribed;
      everSubscribed = true;
      log.info({ reconnect, resumed }, "gRPC source subscribed");
      o.onSubscribed({ reconnect, resumed });
    }
    if (u.account?.account) {
      const a = u.account.account;
      const slot = BigInt(u.account.slot);
      delivered(slot);
      o.onAccount({
        address: bs58.encode(a.pubkey),
        slot,
        account: { owner: bs58.encode(a.owner), lamports: BigInt(a.lamports), data: Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength) },
      });
    } else if (u.slot) {
      const slot = BigInt(u.slot.slot);
      delivered(slot);
      if (liveness.progress(slot, subscribed)) o.onSlot(slot);
    } else if (u.ping) {
      s.write(PING);
    }
  }

  async function connect(): Promise<void> {
    if (stopped) return;
    const gen = ++generation;
    liveness.opened();
    let fromSlot: bigint | null = everSubscribed && !skipReplay ? lastSlot : null;
    skipReplay = false;
    try {
      const client = new Client(o.url, o.token, {
        grpcConnectTimeout: o.handshakeTimeoutMs,
        grpcMaxDecodingMessageSize: 64 * 2 ** 20,
        grpcTcpNodelay: true,
      });
      await withTimeout(client.connect(), o.handshakeTimeoutMs, "gRPC connect");
      if (fromSlot !== null) {
        const info = await withTimeout(client.subscribeReplayInfo(), o.handshakeTimeoutMs, "SubscribeReplayInfo").catch(() => null);
        if (info?.firstAvailable !== undefined && BigInt(info.firstAvailable) > fromSlot) {
          log.info({ fromSlot: fromSlot.toString(), firstAvailable: info.firstAvailable }, "gRPC server no longer holds the slot to replay from; a resync heals the gap");
          fromSlot = null;
        }
      }
      const s = await withTimeout(client.subscribe(), o.handshakeTimeoutMs, "gRPC subscribe");
      if (!current(gen)) {
        s.destroy();
        return;
      }
      stream = s;
      const resumed = fromSlot !== null;
      s.on("data", (u: SubscribeUpdate) => {
        try {
          onUpdate(gen, u, resumed, s);
        } catch (err) {
          log.warn({ err: describeError(err) }, "gRPC update has an unexpected shape; ignored");
        }
      });
      s.on("error", (err: unknown) => {
        if (!current(gen)) return;
        if (resumed && !subscribed && isReplayUnavailable(err)) {
          log.info({ fromSlot: fromSlot?.toString() }, "gRPC replay refused by the server; resubscribing without it (a resync heals the gap)");
          skipReplay = true;
          giveUp(gen, "replay unavailable", { immediate: true });
          return;
        }
        giveUp(gen, `stream error: ${describeError(err)}`);
      });
      s.on("end", () => giveUp(gen, "stream ended"));
      s.on("close", () => giveUp(gen, "stream closed"));
      s.write(request(o, fromSlot));
    } catch (err) {
      // A replay request that failed before the stream existed is retried as a replay: nothing was refused.
      giveUp(gen, `connect failed: ${describeError(err)}`);
    }
  }

  return {
    kind: "grpc",
    start() {
      if (!stopped) return;
      stopped = false;
      watchdog = setInterval(() => {
        if (stream !== null || subscribed) {
          if (liveness.stalled()) giveUp(generation, `no slot progress for ${o.stallTimeoutMs} ms`);
        } else if (reconnectTimer === null && liveness.stalled()) giveUp(generation, `no stream within ${o.stallTimeoutMs} ms`);
      }, liveness.checkEveryMs);
      void connect();
    },
    async stop() {
      stopped = true;
      generation++;
      if (watchdog) clearInterval(watchdog);
      if (reconnectTimer) clearTimeout(reconnectTimer);
      watchdog = reconnectTimer = null;
      const s = stream;
      stream = null;
      subscribed = false;
      if (s && !s.destroyed) {
        const closed = new Promise<void>((resolve) => s.once("close", () => resolve()));
        s.destroy();
        await withTimeout(closed, 2_000, "gRPC stream close").catch(() => undefined);
      }
    },
    restart(reason) {
      giveUp(generation, reason);
    },
    get subscribed() {
      return subscribed;
    },
  };
}
