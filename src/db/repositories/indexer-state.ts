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

    /** A round trip on the connection (a half-open TCP connection raises no event). */
    async ping(): Promise<void> {
      await client.query("SELECT 1");
    },
  };
}
