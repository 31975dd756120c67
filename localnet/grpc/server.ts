/**
 * Yellowstone gRPC (geyser.Geyser) over the local chain, with @grpc/grpc-js and the shipped proto files:
 *  - Subscribe: account updates (owner/account lists, memcmp/datasize/lamports filters), slot updates, the
 *    server's pings and pongs to client pings, at the requested commitment (default processed, as the Geyser
 *    plugin); `fromSlot` replays the held updates of that level from that slot on, then goes live; a slot
 *    older than the window is refused with OUT_OF_RANGE ("broadcast from N is not available").
 *  - SubscribeReplayInfo (first available slot), GetSlot, GetBlockHeight, GetLatestBlockhash,
 *    IsBlockhashValid, GetVersion, Ping.
 * Updates reach a level as the JSON-RPC subscriptions do (../rpc/subscriptions.ts): a change at once at the
 * levels its block already satisfies, the rest when that level advances past it; cheatcode writes hold at
 * every level at once. Every update carries a write_version that orders it among the updates of its slot.
 */
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import { COMMITMENT_RANK } from "../ledger.ts";
import { decodeBase58 } from "../../src/solana/base58.ts";
import { changeIndex } from "../rpc/change-index.ts";
import type { AccountChange, AccountState, ChainApi, Commitment, CommitmentAdvance, SlotInfo } from "../types.ts";
import { accountMatches, FilterError, parseAccountsFilter, type AccountsMatcher, type RawAccountsFilter } from "./filters.ts";
import { COMMITMENT_CODE, COMMITMENT_LEVELS, geyserService } from "./proto.ts";
import { createReplayLog, type ReplayLog } from "./replay-log.ts";

export interface GeyserServerOptions {
  chain: ChainApi;
  logger: Logger;
  /** Slots of updates held per level for fromSlot (Triton and LaserStream hold about 3,000). */
  replaySlots?: number;
  /** Bound on held updates per level. */
  maxReplayEntries?: number;
  /** The server's ping on every stream (the Geyser plugin's is 15 s). */
  pingMs?: number;
  /** When set, calls must carry it in the x-token header. */
  token?: string;
}

export interface GeyserServer {
  listen(host: string, port: number): Promise<{ url: string; port: number }>;
  /** Ends every open Subscribe stream with UNAVAILABLE (a cut connection, for tests and operators). */
  cutStreams(): number;
  streamCount(): number;
  /**
   * While true, live account updates are not sent (still logged for replay): an overloaded node that drops
   * messages silently (fault injection for tests).
   */
  dropAccountUpdates: boolean;
  firstAvailable(level: Commitment): bigint | null;
  close(): Promise<void>;
}

export const DEFAULT_REPLAY_SLOTS = 3000;
const SYSTEM_PROGRAM = "11111111111111111111111111111111";
const CLOSED: AccountState = { lamports: 0n, data: new Uint8Array(0), owner: SYSTEM_PROGRAM, executable: false, rentEpoch: 0n };
const VERSION = JSON.stringify({ package: "kamiyo-localnet-geyser", version: "1.0.0", proto: "yellowstone-grpc-proto 0c3f357a", solana: "2.3.0" });

/** What is logged: an account state (filters are applied per subscriber on the way out) or a slot status. */
type Update =
  | { kind: "account"; pubkey: string; account: AccountState; slot: bigint; writeVersion: bigint }
  | { kind: "slot"; slot: bigint; parent: bigint | null; status: number };

interface RawRequest {
  accounts?: Record<string, RawAccountsFilter>;
  slots?: Record<string, { filterByCommitment?: boolean; interslotUpdates?: boolean }>;
  commitment?: number;
  fromSlot?: string;
  ping?: { id?: number };
}

interface Subscriber {
  call: grpc.ServerDuplexStream<RawRequest, unknown>;
  level: Commitment;
  accounts: AccountsMatcher[];
  slotFilters: { name: string; byCommitment: boolean }[];
  live: boolean;
}

const b58 = (text: string) => Buffer.from(decodeBase58(text) ?? new Uint8Array(32));
const now = () => {
  const ms = Date.now();
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
};

function levelParam(code: number | undefined, fallback: Commitment): Commitment {
  if (code === undefined) return fallback;
  const level = COMMITMENT_LEVELS[code];
  if (!level) throw new FilterError(`unknown commitment ${code}`);
  return level;
}

export function createGeyserServer(o: GeyserServerOptions): GeyserServer {
  const { chain } = o;
  const log = o.logger.child({ component: "localnet-grpc" });
  const windowSlots = o.replaySlots ?? DEFAULT_REPLAY_SLOTS;
  const logs = Object.fromEntries(
    COMMITMENT_LEVELS.map((l) => [
      l,
      createReplayLog<Update>({ windowSlots, maxEntries: o.maxReplayEntries ?? 500_000, startSlot: chain.slot(l) + 1n }),
    ]),
  ) as Record<Commitment, ReplayLog<Update>>;
  const subscribers = new Set<Subscriber>();
  let writeVersion = 0n;
  // getProgramAccountsV2's changedSinceSlot then knows every change since the gRPC server started.
  changeIndex(chain);

  /** The wire form of one update for one subscriber, or null when no filter of it matches. */
  function message(sub: Subscriber, u: Update): unknown {
    if (u.kind === "account") {
      const names = sub.accounts.filter((m) => accountMatches(m, u.pubkey, u.account)).map((m) => m.name);
      if (names.length === 0) return null;
      const a = u.account;
      return {
        filters: names,
        account: {
          account: {
            pubkey: b58(u.pubkey),
            lamports: a.lamports.toString(),
            owner: b58(a.owner),
            executable: a.executable,
            rentEpoch: a.rentEpoch.toString(),
            data: Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength),
            writeVersion: u.writeVersion.toString(),
          },
          slot: u.slot.toString(),
          isStartup: false,
        },
        createdAt: now(),
      };
    }
    const names = sub.slotFilters.filter((f) => !f.byCommitment || u.status === COMMITMENT_CODE[sub.level]).map((f) => f.name);
    if (names.length === 0) return null;
    return {
      filters: names,
      slot: { slot: u.slot.toString(), ...(u.parent !== null ? { parent: u.parent.toString() } : {}), status: u.status },
      createdAt: now(),
    };
  }

  let dropAccountUpdates = false;
  function publish(level: Commitment, u: Update): void {
    logs[level].append(u.slot, u);
    if (dropAccountUpdates && u.kind === "account") return;
    for (const sub of subscribers) {
      if (!sub.live || sub.level !== level && !(u.kind === "slot" && sub.slotFilters.some((f) => !f.byCommitment))) continue;
      const m = message(sub, u);
      if (m) sub.call.write(m);
    }
  }

  const accountUpdate = (pubkey: string, account: AccountState | null, slot: bigint): Update => ({
    kind: "account",
    pubkey,
    account: account ?? CLOSED,
    slot,
    writeVersion: ++writeVersion,
  });

  const onAccount = (c: AccountChange) => {
    for (const level of COMMITMENT_LEVELS) {
      if (c.allLevels) publish(level, accountUpdate(c.pubkey, c.account, chain.slot(level)));
      else if (COMMITMENT_RANK[level] <= COMMITMENT_RANK[chain.levelOf(c.slot)]) publish(level, accountUpdate(c.pubkey, c.account, c.slot));
    }
  };
  const onCommitment = ({ level, slot, previous }: CommitmentAdvance) => {
    const blocks = chain.blocks(previous + 1n, slot);
    const changed = new Set<string>();
    for (const block of blocks) for (const pubkey of block.changed ?? []) changed.add(pubkey);
    for (const pubkey of changed) publish(level, accountUpdate(pubkey, chain.getAccount(pubkey, level), slot));
    for (const block of blocks) publish(level, { kind: "slot", slot: block.slot, parent: block.parentSlot, status: COMMITMENT_CODE[level] });
    logs[level].trim(slot);
  };
  const onSlot = (info: SlotInfo) => {
    publish("processed", { kind: "slot", slot: info.slot, parent: info.parent, status: COMMITMENT_CODE.processed });
    logs.processed.trim(info.slot);
  };
  chain.on("account", onAccount);
  chain.on("commitment", onCommitment);
  chain.on("slot", onSlot);

  const pinger = setInterval(() => {
    for (const sub of subscribers) sub.call.write({ filters: [], ping: {}, createdAt: now() });
  }, o.pingMs ?? 15_000);

  const authorized = (metadata: grpc.Metadata) => o.token === undefined || metadata.get("x-token")[0] === o.token;
  const unauthenticated = { code: grpc.status.UNAUTHENTICATED, details: "No valid auth token" };

  /** Applies one request to a subscriber: new filters (replacing the old ones), or a pong for a ping. */
  function configure(sub: Subscriber, req: RawRequest): void {
    // As the Geyser plugin: a request carrying a ping is answered with a pong and changes no filter.
    if (req.ping) {
      sub.call.write({ filters: [], pong: { id: req.ping.id ?? 0 }, createdAt: now() });
      return;
    }
    sub.level = levelParam(req.commitment, "processed");
    sub.accounts = Object.entries(req.accounts ?? {}).map(([name, f]) => parseAccountsFilter(name, f));
    sub.slotFilters = Object.entries(req.slots ?? {}).map(([name, f]) => ({ name, byCommitment: f.filterByCommitment ?? false }));
    if (req.fromSlot !== undefined) {
      const from = BigInt(req.fromSlot);
      const first = logs[sub.level].firstAvailable();
      if (first === null || from < first) {
        throw Object.assign(new FilterError(`broadcast from ${from} is not available, last available: ${first ?? "none"}`), {
          code: grpc.status.OUT_OF_RANGE,
        });
      }
      // Synchronous from the log to live: nothing can be published in between.
      for (const e of logs[sub.level].since(from)) {
        const m = message(sub, e.update);
        if (m) sub.call.write(m);
      }
    }
    sub.live = true;
  }

  const handlers: grpc.UntypedServiceImplementation = {
    Subscribe(call: grpc.ServerDuplexStream<RawRequest, unknown>) {
      if (!authorized(call.metadata)) {
        call.destroy(Object.assign(new Error(unauthenticated.details), unauthenticated));
        return;
      }
      // Response headers at once, as the Geyser plugin (tonic) sends them: clients wait for them to open the stream.
      call.sendMetadata(new grpc.Metadata());
      const sub: Subscriber = { call, level: "processed", accounts: [], slotFilters: [], live: false };
      subscribers.add(sub);
      const drop = () => subscribers.delete(sub);
      call.on("data", (req: RawRequest) => {
        try {
          configure(sub, req);
        } catch (err) {
          drop();
          const code = (err as { code?: number }).code ?? grpc.status.INVALID_ARGUMENT;
          const details = err instanceof Error ? err.message : String(err);
          log.info({ details }, "subscribe request refused");
          call.emit("error", { code, details });
        }
      });
      call.on("end", () => {
        drop();
        call.end();
      });
      call.on("cancelled", drop);
      call.on("error", drop);
      call.on("close", drop);
    },
    SubscribeReplayInfo(call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) {
      if (!authorized(call.metadata)) return cb(unauthenticated);
      const first = logs.processed.firstAvailable();
      cb(null, first === null ? {} : { firstAvailable: first.toString() });
    },
    Ping(call: grpc.ServerUnaryCall<{ count?: number }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      cb(null, { count: call.request.count ?? 0 });
    },
    GetLatestBlockhash(call: grpc.ServerUnaryCall<{ commitment?: number }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      if (!authorized(call.metadata)) return cb(unauthenticated);
      const level = levelParam(call.request.commitment, "finalized");
      const { blockhash, lastValidBlockHeight } = chain.latestBlockhash(level);
      cb(null, { slot: chain.slot(level).toString(), blockhash, lastValidBlockHeight: lastValidBlockHeight.toString() });
    },
    GetBlockHeight(call: grpc.ServerUnaryCall<{ commitment?: number }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      if (!authorized(call.metadata)) return cb(unauthenticated);
      cb(null, { blockHeight: chain.blockHeight(levelParam(call.request.commitment, "finalized")).toString() });
    },
    GetSlot(call: grpc.ServerUnaryCall<{ commitment?: number }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      if (!authorized(call.metadata)) return cb(unauthenticated);
      cb(null, { slot: chain.slot(levelParam(call.request.commitment, "finalized")).toString() });
    },
    IsBlockhashValid(call: grpc.ServerUnaryCall<{ blockhash?: string; commitment?: number }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      if (!authorized(call.metadata)) return cb(unauthenticated);
      const level = levelParam(call.request.commitment, "finalized");
      cb(null, { slot: chain.slot(level).toString(), valid: chain.isBlockhashValid(call.request.blockhash ?? "") });
    },
    GetVersion(_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) {
      cb(null, { version: VERSION });
    },
    SubscribeDeshred(call: grpc.ServerDuplexStream<unknown, unknown>) {
      call.emit("error", { code: grpc.status.UNIMPLEMENTED, details: "deshred transactions are not served by the local chain" });
    },
  };

  const server = new grpc.Server({ "grpc.max_send_message_length": 64 * 2 ** 20 });
  server.addService(geyserService(), handlers);
  let closed = false;

  return {
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.bindAsync(`${host.includes(":") ? `[${host}]` : host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
          if (err) return reject(err);
          const h = host === "0.0.0.0" || host === "" ? "127.0.0.1" : host;
          log.info({ port: bound }, "local chain gRPC (Yellowstone) listening");
          resolve({ url: `http://${h.includes(":") ? `[${h}]` : h}:${bound}`, port: bound });
        });
      });
    },
    cutStreams() {
      const n = subscribers.size;
      for (const sub of [...subscribers]) {
        subscribers.delete(sub);
        sub.call.emit("error", { code: grpc.status.UNAVAILABLE, details: "stream cut" });
      }
      return n;
    },
    streamCount: () => subscribers.size,
    get dropAccountUpdates() {
      return dropAccountUpdates;
    },
    set dropAccountUpdates(on: boolean) {
      dropAccountUpdates = on;
    },
    firstAvailable: (level) => logs[level].firstAvailable(),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(pinger);
      chain.off("account", onAccount);
      chain.off("commitment", onCommitment);
      chain.off("slot", onSlot);
      for (const sub of subscribers) sub.call.emit("error", { code: grpc.status.UNAVAILABLE, details: "server shutting down" });
      subscribers.clear();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      server.forceShutdown();
    },
  };
}
