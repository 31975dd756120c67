/**
 * payment_identifiers: x402's payment-identifier extension. An id is bound to the first payment (payment key)
 * that used it; once that payment's paid answer is given it is stored, so a retry with the same id and payment
 * gets the same answer without settling again.
 */
import type { Kysely } from "kysely";
import type { Database } from "../schema.ts";

export interface PaidAnswer {
  statusCode: number;
  contentType: string | null;
  body: Buffer;
  /** The PAYMENT-RESPONSE header value given with it. */
  paymentResponse: string;
}

export interface IdentifiedPayment {
  id: string;
  paymentKey: string;
  answer: PaidAnswer | null;
}

export function createPaymentIdentifiersRepository(db: Kysely<Database>) {
  return {
    /** Binds `id` to `paymentKey` unless it is bound already; returns the binding in force. */
    async claim(id: string, paymentKey: string): Promise<IdentifiedPayment> {
      await db.insertInto("payment_identifiers").values({ id, payment_key: paymentKey }).onConflict((oc) => oc.column("id").doNothing()).execute();
      const r = await db.selectFrom("payment_identifiers").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
      const answer =
        r.answered_at !== null && r.status_code !== null && r.body !== null && r.payment_response !== null
          ? { statusCode: r.status_code, contentType: r.content_type, body: r.body, paymentResponse: r.payment_response }
          : null;
      return { id: r.id, paymentKey: r.payment_key, answer };
    },

    /** Stores the paid answer of the id's payment (the first one stored stays). */
    async answer(id: string, paymentKey: string, a: PaidAnswer): Promise<void> {
      await db
        .updateTable("payment_identifiers")
        .set({ status_code: a.statusCode, content_type: a.contentType, body: a.body, payment_response: a.paymentResponse, answered_at: new Date() })
        .where("id", "=", id)
        .where("payment_key", "=", paymentKey)
        .where("answered_at", "is", null)
        .execute();
    },
  };
}

export type PaymentIdentifiersRepository = ReturnType<typeof createPaymentIdentifiersRepository>;
