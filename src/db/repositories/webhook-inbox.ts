/**
 * The durable webhook inbox: webhook_deliveries (one raw Helius delivery per row, stored before it is
 * processed) and webhook_signatures (transactions already handled from some delivery; a signature there is
 * a duplicate everywhere else).
 */
import pg from "pg";
import { sql, type Kysely } from "kysely";
import type { Database, JsonValue, WebhookDeliveryStatus } from "../schema.ts";

/** Postgres NOTIFY channel that wakes the indexer leader when a webhook delivery is stored. */
export const WEBHOOK_INBOX_CHANNEL = "webhook_inbox";

/** Per-element outcomes the indexer records on each processed delivery (webhook_deliveries.outcome.counts). */
export const WEBHOOK_ELEMENT_OUTCOMES = ["applied", "duplicate", "failed_tx", "no_transaction", "invalid"] as const;
const DELIVERY_STATUSES: readonly WebhookDeliveryStatus[] = ["pending", "processing", "done", "failed"];

/** A delivery taken for processing. */
export interface ClaimedDelivery {
  id: string;
  body: unknown;
  /** Attempts so far, this one included. */
  attempts: number;
}

export interface HandledSignature {
  signature: string;
  deliveryId: bigint;
  slot: bigint;
  outcome: "applied" | "failed";
}

export interface InboxSummary {
  /** Deliveries per status (every status present, 0 when none). */
  deliveries: Record<string, number>;
  /** Elements of processed deliveries per outcome. */
  elements: Record<string, number>;
}

export function createWebhookInboxRepository(db: Kysely<Database>) {
  return {
    /** Stores a delivery and wakes the leader (NOTIFY) in one statement, so a stored delivery is always announced. */
    async enqueue(body: unknown[]): Promise<string> {
      const result = await sql<{ id: string }>`
        WITH stored AS (
          INSERT INTO webhook_deliveries (body, elements) VALUES (${JSON.stringify(body)}::jsonb, ${body.length})
          RETURNING id
        )
        SELECT id::text AS id, pg_notify(${WEBHOOK_INBOX_CHANNEL}, id::text)::text AS notified FROM stored
      `.execute(db);
      return result.rows[0]!.id;
    },

    /** Takes the oldest due pending delivery, counting an attempt; null when none is due. Concurrent claimers skip each other's. */
    async claim(): Promise<ClaimedDelivery | null> {
      const r = await sql<ClaimedDelivery>`
        UPDATE webhook_deliveries SET status = 'processing', attempts = attempts + 1
        WHERE id = (
          SELECT id FROM webhook_deliveries
          WHERE status = 'pending' AND next_attempt_at <= now()
          ORDER BY next_attempt_at, id LIMIT 1
          FOR UPDATE SKIP LOCKED
        )
        RETURNING id::text AS id, body, attempts
      `.execute(db);
      return r.rows[0] ?? null;
    },

    /** Which of these signatures were handled before. */
    async knownSignatures(signatures: readonly string[]): Promise<string[]> {
      const rows = await db.selectFrom("webhook_signatures").select("signature").where("signature", "in", [...signatures]).execute();
      return rows.map((r) => r.signature);
    },

    async rememberSignatures(handled: readonly HandledSignature[]): Promise<void> {
      const rows = handled.map((h) => ({ signature: h.signature, delivery_id: h.deliveryId, slot: h.slot, outcome: h.outcome }));
      await db.insertInto("webhook_signatures").values(rows).onConflict((c) => c.column("signature").doNothing()).execute();
    },

    async markDone(id: string, outcome: { [key: string]: JsonValue }, lastError: string | null): Promise<void> {
      await db
        .updateTable("webhook_deliveries")
        .set({ status: "done", processed_at: new Date(), outcome: JSON.stringify(outcome), last_error: lastError })
        .where("id", "=", BigInt(id))
        .execute();
    },

    /** Gives an attempt back (the processor stopped; not the delivery's fault). */
    async giveBack(id: string): Promise<void> {
      await sql`UPDATE webhook_deliveries SET status = 'pending', attempts = attempts - 1 WHERE id = ${id}::bigint`.execute(db);
    },

    /** Records a failed attempt: pending again after `delayMs`, or failed for good when `final`. */
    async markFailed(id: string, final: boolean, error: string, delayMs: number): Promise<void> {
      await sql`
        UPDATE webhook_deliveries
        SET status = ${final ? "failed" : "pending"}, last_error = ${error},
            next_attempt_at = now() + make_interval(secs => ${delayMs / 1000})
        WHERE id = ${id}::bigint
      `.execute(db);
    },

    /** Returns deliveries a dead leader left in `processing` to `pending`. */
    async recover(): Promise<void> {
      await sql`UPDATE webhook_deliveries SET status = 'pending' WHERE status = 'processing'`.execute(db);
    },

    /** Deletes processed deliveries and remembered signatures older than `days`. */
    async prune(days: number): Promise<void> {
      await sql`DELETE FROM webhook_signatures WHERE processed_at < now() - make_interval(days => ${days})`.execute(db);
      await sql`
        DELETE FROM webhook_deliveries
        WHERE status IN ('done', 'failed') AND received_at < now() - make_interval(days => ${days})
      `.execute(db);
    },

    /** Deliveries per status and the element outcomes of those processed, as the inbox holds them now. */
    async summary(): Promise<InboxSummary> {
      const counts = await db
        .selectFrom("webhook_deliveries")
        .select(["status", (eb) => eb.fn.countAll<bigint>().as("n")])
        .groupBy("status")
        .execute();
      const sums = WEBHOOK_ELEMENT_OUTCOMES.map((o) => sql<bigint>`coalesce(sum((outcome -> 'counts' ->> ${o})::bigint), 0)::bigint`.as(o));
      const row = await db.selectFrom("webhook_deliveries").select(sums).where("outcome", "is not", null).executeTakeFirstOrThrow();
      const deliveries: Record<string, number> = Object.fromEntries(DELIVERY_STATUSES.map((s) => [s, 0]));
      for (const c of counts) deliveries[c.status] = Number(c.n);
      const elements: Record<string, number> = {};
      for (const o of WEBHOOK_ELEMENT_OUTCOMES) elements[o] = Number((row as Record<string, bigint>)[o] ?? 0n);
      return { deliveries, elements };
    },
  };
}

export type WebhookInboxRepository = ReturnType<typeof createWebhookInboxRepository>;

/** LISTEN for stored deliveries on `client` (the leader's lock connection). */
export async function listenForDeliveries(client: pg.ClientBase): Promise<void> {
  await client.query(`LISTEN ${pg.escapeIdentifier(WEBHOOK_INBOX_CHANNEL)}`);
}
