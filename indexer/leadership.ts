/**
 * One indexer writes at a time. Leadership is a Postgres session advisory lock held on a dedicated
 * connection: it lasts exactly as long as that connection, so a leader that dies (process killed, network
 * gone, backend terminated) releases it without any cleanup. Standbys retry pg_try_advisory_lock.
 * The lock key includes the schema and the pool, so separate deployments in one database do not contend.
 * The same connection carries LISTEN for the webhook inbox: if it dies, the leader stops leading.
 * Competing for the lock is this module's job, so failures never end the loop; whether retrying can help
 * (isRetryable) decides only how loudly a failure is reported: an outage is a warning, anything else (bad
 * credentials, a missing migration, a bug) an error that needs someone.
 */
import pg from "pg";
import type { Logger } from "pino";
import { destroyClient, endClient } from "../src/db/database.ts";
import { createLeaderLock } from "../src/db/repositories/indexer-state.ts";
import { describeError, isRetryable } from "../src/errors.ts";
import { sleep } from "../src/retry.ts";

export interface LeaderTermContext {
  /** The lock connection (for LISTEN). Do not end it. */
  client: pg.Client;
  /** Aborted when leadership ends (connection lost or stop()). */
  signal: AbortSignal;
}

export interface LeadershipOptions {
  pool: pg.Pool;
  /** Distinguishes lock holders; the schema is added by the server. */
  lockName: string;
  logger: Logger;
  /** How often a standby retries the lock, and how often a leader checks its connection. */
  retryMs: number;
  /** Runs when the lock is won; resolves once the term's work is started. */
  onElected(ctx: LeaderTermContext): Promise<void>;
  /** Runs after a term ended (the signal is aborted); resolves once the term's work has stopped. */
  onDeposed(reason: string): Promise<void>;
}

export interface Leadership {
  start(): void;
  stop(): Promise<void>;
  readonly isLeader: boolean;
}

/**
 * How long the lock outlives a silent holder: the server ends a lock session that sent nothing for this long
 * (idle_session_timeout), and the holder gives up when a ping gets no answer within it. A standby takes over
 * within about this bound plus one retry.
 */
export function sessionBoundMs(retryMs: number): number {
  return Math.max(2_000, retryMs * 3);
}

/**
 * A half-open TCP connection raises no event: a periodic query on the lock connection notices it. One that
 * does not answer in time is destroyed, not ended (ending waits for a goodbye that would never come).
 */
async function watchLockConnection(client: pg.Client, retryMs: number, term: AbortSignal, end: (why: string) => void): Promise<void> {
  const bound = sessionBoundMs(retryMs);
  while (!term.aborted) {
    try {
      await sleep(Math.min(retryMs, bound / 3), term);
      await Promise.race([
        createLeaderLock(client).ping(),
        sleep(bound, term).then(() => {
          throw new Error(`lock connection did not answer within ${bound} ms`);
        }),
      ]);
    } catch (err) {
      if (!term.aborted) {
        destroyClient(client);
        end(`lock connection check failed: ${describeError(err)}`);
      }
    }
  }
}

/** Holds the lock until the connection fails or `stopping` aborts; returns the reason the term ended. */
async function lead(o: LeadershipOptions, client: pg.Client, stopping: AbortSignal, setLeader: (leader: boolean) => void): Promise<string> {
  const term = new AbortController();
  let reason = "";
  const end = (why: string) => {
    if (!term.signal.aborted) {
      reason = why;
      term.abort();
    }
  };
  client.on("error", (err) => end(`lock connection failed: ${describeError(err)}`));
  client.on("end", () => end("lock connection closed"));
  const onStop = () => end("stopping");
  stopping.addEventListener("abort", onStop, { once: true });
  setLeader(true);
  try {
    await o.onElected({ client, signal: term.signal });
    await watchLockConnection(client, o.retryMs, term.signal, end);
  } catch (err) {
    if (!term.signal.aborted && !isRetryable(err)) o.logger.error({ err: describeError(err) }, "indexer leader start failed and retrying cannot help");
    end(`leader start failed: ${describeError(err)}`);
  } finally {
    stopping.removeEventListener("abort", onStop);
    setLeader(false);
  }
  await o.onDeposed(reason);
  return reason;
}

/** Competes for the lock until `stopping` aborts: a lock connection per attempt until one wins, then a term. */
async function compete(o: LeadershipOptions, stopping: AbortSignal, leadTerm: (client: pg.Client) => Promise<string>): Promise<void> {
  const log = o.logger;
  let waitingLogged = false;
  let client: pg.Client | null = null;
  let broken = false;
  while (!stopping.aborted) {
    let won = false;
    try {
      if (!client) {
        // The pool's options carry the connection string, search_path and type parsers.
        const fresh = new pg.Client({ ...(o.pool.options as pg.ClientConfig), keepAlive: true });
        broken = false;
        fresh.on("error", () => {
          broken = true;
        });
        client = fresh;
        await fresh.connect();
        await createLeaderLock(fresh).endSessionWhenSilent(sessionBoundMs(o.retryMs));
      }
      won = await createLeaderLock(client).tryLock(o.lockName);
    } catch (err) {
      broken = true;
      if (isRetryable(err)) log.warn({ err: describeError(err) }, "indexer lock: database unreachable; retrying");
      else log.error({ err: describeError(err) }, "indexer lock: taking the lock failed and retrying cannot help; still polling");
    }
    // A stop that came while the lock was being taken: no term starts (its abort event has already fired),
    // and the session below ends, releasing the lock.
    if (stopping.aborted) break;
    if (won && client) {
      waitingLogged = false;
      log.info("indexer lock acquired: leading");
      const reason = await leadTerm(client);
      if (stopping.aborted) log.info("indexer leadership released");
      else log.warn({ reason }, "indexer leadership ended");
      broken = true;
    } else if (!broken && !waitingLogged) {
      log.info("another indexer holds the lock: standing by");
      waitingLogged = true;
    }
    if (broken && client) {
      // Ending the session releases the lock if it is still held (a silent server: the socket is destroyed).
      await endClient(client);
      client = null;
    }
    if (stopping.aborted) break;
    await sleep(o.retryMs, stopping).catch(() => undefined);
  }
  if (client) await endClient(client);
}

export function createLeadership(o: LeadershipOptions): Leadership {
  const stopping = new AbortController();
  let loop: Promise<void> | null = null;
  let leader = false;
  const leadTerm = (client: pg.Client) =>
    lead(o, client, stopping.signal, (now) => {
      leader = now;
    });
  return {
    start() {
      loop ??= compete(o, stopping.signal, leadTerm);
    },
    async stop() {
      stopping.abort();
      await loop;
    },
    get isLeader() {
      return leader;
    },
  };
}
