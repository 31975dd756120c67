/**
 * indexer_state (one JSON document per key: the leader's status snapshot) and the leader's advisory lock.
 * The lock is a session lock on a dedicated connection: it lasts exactly as long as that connection.
 */
import type pg from "pg";
import { sql, type Kysely } from "kysely";
import type { Database } from "../schema.ts";

export function createIndexerStateRepository(db: Kysely<Database>) {
  return {
    /** The document stored under `key` and when it was written, or null when there is none. */
    async read(key: string): Promise<{ value: unknown; updatedAt: Date } | null> {
      const row = await db.selectFrom("indexer_state").select(["value", "updated_at"]).where("key", "=", key).executeTakeFirst();
      return row ? { value: row.value, updatedAt: row.updated_at } : null;
    },

    /** Stores `value` (as JSON) under `key`, replacing what was there. */
    async write(key: string, value: object): Promise<void> {
      await sql`
        INSERT INTO indexer_state (key, value, updated_at) VALUES (${key}, ${JSON.stringify(value)}::jsonb, now())
        ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()
      `.execute(db);
    },
  };
}

export type IndexerStateRepository = ReturnType<typeof createIndexerStateRepository>;

/** Statements on the leader's lock connection. */
export function createLeaderLock(client: pg.ClientBase) {
  return {
    /** Takes the lock if free; the key includes the connection's schema, so deployments in one database do not contend. */
    async tryLock(name: string): Promise<boolean> {
      const r = await client.query<{ locked: boolean }>(
        "SELECT pg_try_advisory_lock(hashtextextended($1 || ':' || current_schema(), 0)) AS locked",
        [name],
      );
      return r.rows[0]?.locked === true;
    },

    /**
     * The server ends this session after `ms` without a statement from the client, and the lock goes with it:
     * a leader that went silent (a partition, a frozen connection) cannot keep the lock from the standbys.
     * The holder must send something (ping) more often than that.
     */
    async endSessionWhenSilent(ms: number): Promise<void> {
      await client.query(`SET idle_session_timeout = ${Math.max(1, Math.trunc(ms))}`);
    },

    /** A round trip on the connection (a half-open TCP connection raises no event). */
    async ping(): Promise<void> {
      await client.query("SELECT 1");
    },
  };
}

/** Channel of the leader's proof of life (IndexerHeartbeat payloads), beside the stake change notices. */
export const INDEXER_HEARTBEAT_CHANNEL = "stake_changes_heartbeat";

/**
 * What the leader says about itself at a short interval: it is alive, it can write to the database, and the
 * newest slot it has applied. Decimal strings for u64 values.
 */
export interface IndexerHeartbeat {
  pool: string;
  /** Newest slot applied by any source, or null before the first write. */
  slot: string | null;
  /** When the leader sent it (its clock; receivers use their own arrival time). */
  at: string;
}

/**
 * Sends a heartbeat; it arrives only if this statement reaches the database and commits. NOTIFY is
 * database-wide, so the payload names the sender's schema: a deployment in another schema of the same
 * database (or another test file) cannot keep this one's tier cache trusting its data.
 */
export async function publishHeartbeat(db: Kysely<Database>, beat: IndexerHeartbeat): Promise<void> {
  await sql`SELECT pg_notify(${INDEXER_HEARTBEAT_CHANNEL}, (${JSON.stringify(beat)}::jsonb || jsonb_build_object('schema', current_schema()))::text)`.execute(
    db,
  );
}

/** LISTEN for heartbeats on a dedicated connection (the tier cache's); returns the schema it reads. */
export async function listenForHeartbeats(client: pg.ClientBase): Promise<string> {
  await client.query(`LISTEN ${INDEXER_HEARTBEAT_CHANNEL}`);
  const { rows } = await client.query<{ schema: string }>("SELECT current_schema() AS schema");
  return rows[0]!.schema;
}

/** A round trip on a dedicated connection, to tell a silent source from a silent connection. */
export async function pingConnection(client: pg.ClientBase): Promise<void> {
  await client.query("SELECT 1");
}
