/**
 * Reading the PAYMENT-SIGNATURE header before x402 does: who paid (the token transfer's signer, recovered
 * from the payment transaction itself, never from a header the client chose), what amount the client
 * signed, and a key that names this payment whatever request carries it.
 */
import { createHash } from "node:crypto";
import type { PaymentPayload } from "@x402/core/types";
import { getBase64Encoder, getCompiledTransactionMessageDecoder, getTransactionDecoder } from "@solana/kit";
import { decodePaymentSignatureHeader } from "@x402/core/http";
import { getTokenPayerFromTransaction } from "@x402/svm";
import { walletProblem } from "../../src/domain/wallet.ts";

export interface ParsedPayment {
  payload: PaymentPayload;
  /** The wallet that signed the USDC transfer. */
  payer: string;
  /** The amount the client signed for (its `accepted.amount`), micro-USDC. */
  signedAmount: bigint;
  /** Hex sha256 of the transaction's message bytes: equal for every copy of the same payment. */
  paymentKey: string;
  /** The message's recent blockhash: once it expires, the payment can no longer land. */
  recentBlockhash: string;
}

export type PaymentHeaderResult = { ok: true; payment: ParsedPayment } | { ok: false; reason: string };

// A Solana transaction is at most 1232 bytes; its base64 is at most 1644 characters.
const MAX_TRANSACTION_BASE64 = 1644;
// The whole header: the transaction plus requirements, resource and extensions echoed back.
const MAX_HEADER_LENGTH = 16_384;
const INTEGER = /^(0|[1-9]\d{0,19})$/;
const base64 = getBase64Encoder();
const transactionDecoder = getTransactionDecoder();
const messageDecoder = getCompiledTransactionMessageDecoder();

/**
 * The key that names a payment: hex sha256 of its transaction's message bytes. The fee payer's signature is
 * not part of the message, so the payer's partially signed copy and the settled transaction on chain have
 * the same key (the ledger reconciler reads it from the chain with this function).
 */
export function paymentKeyOf(messageBytes: Uint8Array): string {
  return createHash("sha256").update(messageBytes).digest("hex");
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Parses a PAYMENT-SIGNATURE header value; the reason says what is wrong in words a client can act on. */
export function parsePaymentHeader(header: string): PaymentHeaderResult {
  if (header.length > MAX_HEADER_LENGTH) return { ok: false, reason: `PAYMENT-SIGNATURE is longer than ${MAX_HEADER_LENGTH} characters` };
  let decoded: unknown;
  try {
    decoded = decodePaymentSignatureHeader(header);
  } catch {
    return { ok: false, reason: "PAYMENT-SIGNATURE is not base64-encoded JSON" };
  }
  if (!isRecord(decoded)) return { ok: false, reason: "PAYMENT-SIGNATURE must encode a JSON object" };
  if (decoded.x402Version !== 2) return { ok: false, reason: "only x402 version 2 payments are accepted (x402Version must be 2)" };
  const accepted = decoded.accepted;
  if (!isRecord(accepted)) return { ok: false, reason: "PAYMENT-SIGNATURE lacks the accepted payment requirements" };
  if (typeof accepted.amount !== "string" || !INTEGER.test(accepted.amount)) {
    return { ok: false, reason: "accepted.amount must be an integer string of atomic units" };
  }
  for (const field of ["scheme", "network", "asset", "payTo"] as const) {
    if (typeof accepted[field] !== "string") return { ok: false, reason: `accepted.${field} must be a string` };
  }
  const inner = decoded.payload;
  if (!isRecord(inner) || typeof inner.transaction !== "string" || inner.transaction.length === 0) {
    return { ok: false, reason: "payload.transaction must be a base64 Solana transaction" };
  }
  if (inner.transaction.length > MAX_TRANSACTION_BASE64) return { ok: false, reason: "payload.transaction is larger than a Solana transaction" };
  let payer: string;
  let messageBytes: Uint8Array;
  let recentBlockhash: string;
  try {
    // What @x402/svm's decodeTransactionFromPayload does, without its console.error on every bad input.
    const tx = transactionDecoder.decode(base64.encode(inner.transaction));
    payer = getTokenPayerFromTransaction(tx);
    messageBytes = Uint8Array.from(tx.messageBytes);
    recentBlockhash = messageDecoder.decode(messageBytes).lifetimeToken;
  } catch {
    return { ok: false, reason: "payload.transaction is not a decodable Solana transaction" };
  }
  if (!payer || walletProblem(payer) !== null) return { ok: false, reason: "payload.transaction contains no token transfer signed by a wallet" };
  return {
    ok: true,
    payment: {
      payload: decoded as PaymentPayload,
      payer,
      signedAmount: BigInt(accepted.amount),
      paymentKey: paymentKeyOf(messageBytes),
      recentBlockhash,
    },
  };
}
