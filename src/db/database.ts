/**
 * Postgres access: one pg pool per process, shared by Kysely (queries) and by callers that need a raw
 * client (LISTEN/NOTIFY, COPY). Type parsers live on this pool only, so other pg users are unaffected.
 */
import type { Socket } from "node:net";
import pg from "pg";
import { Kysely, PostgresDialect } from "kysely";
import { RetryableError } from "../errors.ts";
import type { Database } from "./schema.ts";

export interface DatabaseOptions {
  url: string;
  /** Every connection's search_path is set to this schema alone (tests use a fresh one each). */
  schema?: string;
  /** Pool size. */
  max?: number;
  /** Reported as application_name in pg_stat_activity. */
  applicationName?: string;
  /** An idle connection failed (server restart, network). The pool has already discarded it. */
  onIdleError?: (err: Error) => void;
  /** Deadlines; each field defaults to DEFAULT_DATABASE_TIMEOUTS. */
  timeouts?: Partial<DatabaseTimeouts>;
}

/**
 * Every wait on Postgres has an end. A refused connection fails at once; a silent one (a black-holed host, a
 * failed NAT, a failover) would otherwise hang its caller forever, hold an advisory lock, or keep a
 * transaction open on the server.
 */
export interface DatabaseTimeouts {
  /** Opening a connection, and waiting for a free one in the pool (pg-pool counts both in one budget). */
  connectMs: number;
  /** Server-side statement_timeout. */
  statementMs: number;
  /**
   * Client-side deadline of one query (the server's statement_timeout cannot fire on a connection whose
   * packets are lost). A client whose query passes it is destroyed, so the pool opens a fresh one.
   */
  queryMs: number;
  /** Server-side idle_in_transaction_session_timeout: a transaction whose client went silent is rolled back. */
  idleInTransactionMs: number;
  /** TCP keepalive on every connection (finds a dead peer on an idle connection). */
  keepAliveDelayMs: number;
}

export const DEFAULT_DATABASE_TIMEOUTS: DatabaseTimeouts = {
  connectMs: 2_000,
  statementMs: 4_000,
  queryMs: 4_500,
  idleInTransactionMs: 10_000,
  keepAliveDelayMs: 5_000,
};

export interface DatabaseHandle {
  db: Kysely<Database>;
  pool: pg.Pool;
  /** Ends the pool once; later calls resolve at once. */
  close(): Promise<void>;
}

const OID = { INT8: 20, NUMERIC: 1700, TIMESTAMPTZ: 1184 } as const;
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * NUMERIC is used only for integer amounts (NUMERIC(20,0)); a fraction or NaN here means a query computed
 * something that is not an amount, and is refused rather than rounded.
 */
export function parseNumeric(text: string): bigint {
  if (!/^-?\d+$/.test(text)) throw new RangeError(`NUMERIC value ${text} is not an integer; cast it in SQL`);
  return BigInt(text);
}

// pg's built-in TIMESTAMPTZ parser (offsets with seconds, BC, infinity), taken before anything can override it globally.
const parseTimestamptz: (text: string) => Date = pg.types.getTypeParser(OID.TIMESTAMPTZ, "text");

/** Parsers for this module's pools only; pg's global `types` are left alone. */
export function createTypeParsers(): pg.TypeOverrides {
  const types = new pg.TypeOverrides();
  types.setTypeParser(OID.INT8, "text", (v: string) => BigInt(v));
  types.setTypeParser(OID.NUMERIC, "text", parseNumeric);
  types.setTypeParser(OID.TIMESTAMPTZ, "text", parseTimestamptz);
  return types;
}

export function createDatabase(options: DatabaseOptions): DatabaseHandle {
  if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) {
    throw new RangeError(`schema "${options.schema}" must be a lower-case SQL identifier`);
  }
  const t = { ...DEFAULT_DATABASE_TIMEOUTS, ...options.timeouts };
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    types: createTypeParsers(),
    application_name: options.applicationName ?? "kamiyo-stake",
    connectionTimeoutMillis: t.connectMs,
    statement_timeout: t.statementMs,
    query_timeout: t.queryMs,
    idle_in_transaction_session_timeout: t.idleInTransactionMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: t.keepAliveDelayMs,
    // A startup parameter is applied before the connection runs any query, on Kysely's and raw clients alike.
    ...(options.schema !== undefined ? { options: `-c search_path=${options.schema}` } : {}),
  });
  // Without a listener, an idle client's connection error would crash the process.
  pool.on("error", (err) => options.onIdleError?.(err));
  // A checked-out client (pg-pool removes its idle listener) whose connection drops emits "error" too, after
  // failing its queries, which is where the error is handled; unheard, that event would crash the process.
  pool.on("connect", (client) => {
    client.on("error", () => undefined);
    destroyOnDeadline(client);
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  let closing: Promise<void> | undefined;
  return {
    db,
    pool,
    close() {
      // Kysely's destroy ends the pool it was given.
      closing ??= db.destroy();
      return closing;
    },
  };
}

/** The socket under a pg client (pg has no public destroy). */
function socketOf(client: pg.ClientBase): Socket | undefined {
  return (client as unknown as { connection?: { stream?: Socket } }).connection?.stream;
}

/**
 * Ends a client's connection at once, without the goodbye a silent peer would never acknowledge (pg's
 * `end()` waits for the server to close). The session ends server-side when the server notices, and with
 * it any advisory lock it held. Safe to call twice or on a client that never connected.
 */
export function destroyClient(client: pg.ClientBase): void {
  const socket = socketOf(client);
  if (socket && !socket.destroyed) socket.destroy();
}

/** `client.end()`, or a destroyed socket if the server does not answer within `timeoutMs`. Never rejects. */
export async function endClient(client: pg.ClientBase & { end(): Promise<void> }, timeoutMs = 1_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ended = client.end().catch(() => undefined);
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      destroyClient(client);
      resolve();
    }, timeoutMs);
  });
  await Promise.race([ended, late]);
  clearTimeout(timer);
}

const QUERY_DEADLINE = /Query read timeout/;

/**
 * pg's query_timeout fails the query but leaves the client waiting for an answer that may never come (every
 * later query would queue behind it). Such a client is destroyed, so the pool discards it on release.
 */
function destroyOnDeadline(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (...args: unknown[]) => {
    const r = query(...args);
    if (r instanceof Promise) {
      return r.catch((err: unknown) => {
        if (err instanceof Error && QUERY_DEADLINE.test(err.message)) {
          destroyClient(client);
          throw new RetryableError("unavailable", "the database did not answer in time", { code: "database_timeout", cause: err });
        }
        throw err;
      });
    }
    return r;
  };
}
