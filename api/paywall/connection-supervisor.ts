import type pg from "pg";
import { destroyClient, endClient } from "../../src/db/database.ts";

interface SupervisorOptions {
  connect: () => pg.Client;
  onNotification: (msg: pg.Notification) => void;
  /** Runs on each new connection once connected; a rejection counts as losing it. */
  ready: (c: pg.Client) => Promise<void>;
  /** The connection was lost; the next attempt follows in `retryInMs`. */
  lost: (err: unknown, retryInMs: number) => void;
  minDelay: number;
  maxDelay: number;
}

/** One dedicated connection, reopened with exponential backoff after any error or end until closed. */
export function superviseConnection(o: SupervisorOptions) {
  let client: pg.Client | null = null;
  let closed = false;
  let delay = o.minDelay;
  let retryTimer: NodeJS.Timeout | undefined;

  const lose = (c: pg.Client, err: unknown) => {
    if (c !== client) return;
    client = null;
    o.lost(err, delay);
    // Not end(): a silent server never acknowledges the goodbye.
    destroyClient(c);
    scheduleConnect();
  };
  const scheduleConnect = () => {
    if (closed || retryTimer) return;
    const wait = delay;
    delay = Math.min(delay * 2, o.maxDelay);
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void connect();
    }, wait);
    retryTimer.unref();
  };
  async function connect(): Promise<void> {
    if (closed) return;
    const c = o.connect();
    client = c;
    c.on("error", (err) => lose(c, err));
    c.on("end", () => lose(c, new Error("connection ended")));
    c.on("notification", o.onNotification);
    try {
      await c.connect();
      await o.ready(c);
    } catch (err) {
      lose(c, err);
    }
  }
  void connect();

  return {
    /** The open connection, or null between connections. */
    get client() {
      return client;
    },
    lose,
    /** The connection proved usable: the next loss waits the shortest delay again. */
    resetBackoff: () => void (delay = o.minDelay),
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      const c = client;
      client = null;
      if (c) await endClient(c);
    },
  };
}

/** A load that does not finish within `ms` (a silent connection) rejects; the caller replaces the connection. */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
