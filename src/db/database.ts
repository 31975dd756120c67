/**
 * Postgres access: one pg pool per process, shared by Kysely (queries) and by callers that need a raw
 * client (LISTEN/NOTIFY, COPY). Type parsers live on this pool only, so other pg users are unaffected.
 */
import pg from "pg";
import { Kysely, PostgresDialect } from "kysely";
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
}

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
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    types: createTypeParsers(),
    application_name: options.applicationName ?? "kamiyo-stake",
    // A startup parameter is applied before the connection runs any query, on Kysely's and raw clients alike.
    ...(options.schema !== undefined ? { options: `-c search_path=${options.schema}` } : {}),
  });
  // Without a listener, an idle client's connection error would crash the process.
  pool.on("error", (err) => options.onIdleError?.(err));
  // A checked-out client (pg-pool removes its idle listener) whose connection drops emits "error" too, after
  // failing its queries, which is where the error is handled; unheard, that event would crash the process.
  pool.on("connect", (client) => client.on("error", () => undefined));
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
