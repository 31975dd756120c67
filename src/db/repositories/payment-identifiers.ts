/**
 * payment_identifiers: x402's payment-identifier extension. An id is bound to the first payment (payment key)
 * that used it; once that payment's paid answer is given it is stored, so a retry with the same id and payment
 * gets the same answer without settling again.
 */
import { sql, type Kysely } from "kysely";
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

/** The settled ledger row of an identifier's payment (what a retry whose answer was never stored is served from). */
export interface SettledPayment {
  payer: string;
  endpoint: string;
  method: string;
  amountCharged: bigint;
  originalAmount: bigint;
  savings: bigint;
  discountBps: number;
  discountTier: string | null;
  network: string;
  settlementSignature: string;
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

    /**
     * The settled row of the payment bound to `id`, provided the binding is at least as old as the row (the id was
     * claimed before the payment was reserved, so this identifier's request is the one that paid). An id attached
     * afterwards to a payment that was already taken (its transaction is public on chain) gets null.
     */
    async settledPayment(id: string, paymentKey: string): Promise<SettledPayment | null> {
      const r = await sql<{
        payer: string;
        endpoint: string;
        method: string;
        amount_charged: bigint;
        original_amount: bigint;
        savings: bigint;
        discount_bps: number;
        discount_tier: string | null;
        network: string;
        settlement_signature: string;
      }>`
        SELECT u.payer, u.endpoint, u.method, u.amount_charged, u.original_amount, u.savings, u.discount_bps, u.discount_tier,
               u.network, u.settlement_signature
          FROM payment_identifiers pi
          JOIN x402_usage u ON u.payment_key = pi.payment_key
         WHERE pi.id = ${id} AND pi.payment_key = ${paymentKey}
           AND u.settlement_signature IS NOT NULL AND pi.created_at <= u.created_at
      `.execute(db);
      const row = r.rows[0];
      if (!row) return null;
      return {
        payer: row.payer,
        endpoint: row.endpoint,
        method: row.method,
        amountCharged: BigInt(row.amount_charged),
        originalAmount: BigInt(row.original_amount),
        savings: BigInt(row.savings),
        discountBps: Number(row.discount_bps),
        discountTier: row.discount_tier,
        network: row.network,
        settlementSignature: row.settlement_signature,
      };
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
