/**
 * A TCP proxy in front of a server this machine's tests share (Postgres, the local chain's RPC over HTTP and
 * websockets, Redis), so a test can do to one client what networks do, without touching the server:
 *  - stop/start: refuse new connections and cut the open ones, as a stopped server would;
 *  - cut: reset the open connections, keep accepting new ones (a restart, a load balancer dropping flows);
 *  - blackHole: open connections stop carrying bytes and new ones are accepted but never reach the server
 *    (a partitioned host: the client's connect and queries wait for an answer that does not come);
 *  - freeze: only the open connections go silent, new ones work (a failed NAT entry, a half-open socket);
 *  - delay: every chunk is forwarded `ms` late.
 * While a connection is silent its bytes are held, and a close from either side is held too (a FIN is lost
 * like any other packet): the far side learns of it only through its own timeouts, or when `restore()` lets
 * everything through again, as TCP retransmission would once the path heals.
 */
import net from "node:net";

export interface TcpProxy {
  /** `url` with its host and port replaced by the proxy's. */
  url: string;
  /** Refuses new connections and cuts the open ones, as a stopped server would. */
  stop(): Promise<void>;
  /** Accepts connections again on the same port. */
  start(): Promise<void>;
  /** Resets every open connection; new ones are accepted as usual. Returns how many were cut. */
  cut(): number;
  /** Open and new connections carry nothing until restore(). */
  blackHole(): void;
  /** Open connections carry nothing until restore(); new ones work. Returns how many were frozen. */
  freeze(): number;
  /** Forward every chunk `ms` late (0: no delay). */
  delay(ms: number): void;
  /** Ends black-hole and freeze: held bytes and closes go through. */
  restore(): void;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections open now. */
  readonly open: number;
  close(): Promise<void>;
}

const DEFAULT_PORTS: Record<string, number> = { "http:": 80, "https:": 443, "ws:": 80, "wss:": 443, "redis:": 6379, "postgres:": 5432, "postgresql:": 5432 };

interface Pair {
  client: net.Socket;
  upstream: net.Socket | null;
  silent: boolean;
  /** Chunks held while silent, per direction. */
  toUpstream: Buffer[];
  toClient: Buffer[];
  clientClosed: boolean;
  upstreamClosed: boolean;
}

export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const targetPort = Number(target.port || DEFAULT_PORTS[target.protocol] || 5432);
  const pairs = new Set<Pair>();
  let server: net.Server | null = null;
  let port = 0;
  let blackHoled = false;
  let delayMs = 0;
  let accepted = 0;

  const destroyPair = (p: Pair) => {
    pairs.delete(p);
    p.client.destroy();
    p.upstream?.destroy();
  };
  const send = (to: net.Socket | null, chunk: Buffer) => {
    if (!to || to.destroyed) return;
    if (delayMs > 0) setTimeout(() => to.destroyed || to.write(chunk), delayMs);
    else to.write(chunk);
  };
  /** A side closed: the other side learns of it now, or once the pair carries bytes again. */
  const settleCloses = (p: Pair) => {
    if (p.silent) return;
    if (p.clientClosed || p.upstreamClosed) {
      const finish = () => destroyPair(p);
      if (delayMs > 0) setTimeout(finish, delayMs);
      else finish();
    }
  };
  const connectUpstream = (p: Pair) => {
    const up = net.connect(targetPort, target.hostname);
    p.upstream = up;
    up.on("error", () => undefined);
    up.on("data", (chunk: Buffer) => (p.silent ? p.toClient.push(chunk) : send(p.client, chunk)));
    up.on("close", () => {
      p.upstreamClosed = true;
      settleCloses(p);
    });
    for (const chunk of p.toUpstream.splice(0)) up.write(chunk);
  };
  const wake = (p: Pair) => {
    p.silent = false;
    if (!p.upstream && !p.clientClosed) connectUpstream(p);
    for (const chunk of p.toUpstream.splice(0)) send(p.upstream, chunk);
    for (const chunk of p.toClient.splice(0)) send(p.client, chunk);
    settleCloses(p);
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = net.createServer((client) => {
        accepted++;
        const p: Pair = { client, upstream: null, silent: blackHoled, toUpstream: [], toClient: [], clientClosed: false, upstreamClosed: false };
        pairs.add(p);
        client.on("error", () => undefined);
        client.on("data", (chunk: Buffer) => (p.silent || !p.upstream ? p.toUpstream.push(chunk) : send(p.upstream, chunk)));
        client.on("close", () => {
          p.clientClosed = true;
          settleCloses(p);
          if (!p.upstream) pairs.delete(p);
        });
        // A black-holed server never answers the handshake: the client's bytes wait here until restore().
        if (!p.silent) connectUpstream(p);
      });
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        port = (s.address() as net.AddressInfo).port;
        server = s;
        resolve();
      });
    });

  const stop = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = null;
      for (const p of [...pairs]) destroyPair(p);
      if (!s) return resolve();
      s.close(() => resolve());
    });

  await listen();
  const url = new URL(targetUrl);
  url.hostname = "127.0.0.1";
  url.port = String(port);
  return {
    url: url.href,
    stop,
    start: listen,
    cut() {
      const n = pairs.size;
      for (const p of [...pairs]) {
        p.client.resetAndDestroy();
        p.upstream?.resetAndDestroy();
        pairs.delete(p);
      }
      return n;
    },
    blackHole() {
      blackHoled = true;
      for (const p of pairs) p.silent = true;
    },
    freeze() {
      for (const p of pairs) p.silent = true;
      return pairs.size;
    },
    delay(ms) {
      delayMs = ms;
    },
    restore() {
      blackHoled = false;
      for (const p of [...pairs]) wake(p);
    },
    get accepted() {
      return accepted;
    },
    get open() {
      return pairs.size;
    },
    close: stop,
  };
}
