/**
 * x402's payment-identifier extension: a client whose paid response was lost retries the same signed payment
 * with the same identifier and gets the same answer (body and PAYMENT-RESPONSE) without a second settlement;
 * the same identifier with another payment is a 409; a retry without an identifier is still duplicate_payment.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodePaymentRequiredHeader, encodePaymentSignatureHeader } from "@x402/core/http";
import { appendPaymentIdentifierToExtensions, generatePaymentId, PAYMENT_IDENTIFIER } from "@x402/extensions/payment-identifier";
import { PREMIUM_PRICE, startPaywallHarness, type PaywallHarness } from "../paywall/harness.ts";
import { x402ClientFor } from "./helpers.ts";

describe("payment identifiers", () => {
  let h: PaywallHarness;

  beforeAll(async () => {
    h = await startPaywallHarness();
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  /** A signed PAYMENT-SIGNATURE for `wallet` from the current quote, carrying `id` when given. */
  const signed = async (wallet: string, id?: string): Promise<string> => {
    const client = await x402ClientFor(h.chain.seed!, h.config, h.chain.httpUrl, wallet);
    const quote = await fetch(`${h.url}/api/premium`);
    const required = decodePaymentRequiredHeader(quote.headers.get("payment-required") ?? "");
    expect(required.extensions?.[PAYMENT_IDENTIFIER]).toBeDefined();
    const payload = await client.createPaymentPayload(required);
    if (id) payload.extensions = appendPaymentIdentifierToExtensions(structuredClone(payload.extensions ?? required.extensions ?? {}), id);
    return encodePaymentSignatureHeader(payload);
  };
  const send = (header: string) => fetch(`${h.url}/api/premium`, { headers: { "PAYMENT-SIGNATURE": header } });

  it("answers a lost-response retry with the original paid result and settles once", async () => {
    const payer = h.wallet("nonstaker").address;
    const before = await h.usdcBalance(payer);
    const id = generatePaymentId("retry_");
    const header = await signed("nonstaker", id);

    const first = await send(header); // its answer is "lost": the client never reads it as a success
    const firstBody = Buffer.from(await first.arrayBuffer());
    const firstReceipt = first.headers.get("payment-response");
    expect(first.status).toBe(200);
    expect(firstReceipt).toBeTruthy();

    const retry = await send(header);
    expect(retry.status).toBe(200);
    expect(Buffer.from(await retry.arrayBuffer()).equals(firstBody)).toBe(true);
    expect(retry.headers.get("payment-response")).toBe(firstReceipt);

    expect(before - (await h.usdcBalance(payer))).toBe(PREMIUM_PRICE);
    const rows = (await h.usageRows()).filter((r) => r.payer === payer);
    expect(rows).toHaveLength(1);
    expect(typeof rows[0]!.settlement_signature).toBe("string");

    // The same identifier with a different payment conflicts, and that payment is not taken.
    const other = await send(await signed("nonstaker", id));
    expect(other.status).toBe(409);
    expect(((await other.json()) as { error: string }).error).toBe("payment_identifier_conflict");
    expect(before - (await h.usdcBalance(payer))).toBe(PREMIUM_PRICE);
  }, 60_000);

  it("keeps duplicate_payment for a replay without an identifier", async () => {
    const payer = h.wallet("small").address;
    const before = await h.usdcBalance(payer);
    const header = await signed("small");
    const first = await send(header);
    expect(first.status).toBe(200);
    await first.body?.cancel();
    const replay = await send(header);
    expect(replay.status).toBe(402);
    // Refused at verification: x402 says why in its PAYMENT-REQUIRED answer.
    expect(decodePaymentRequiredHeader(replay.headers.get("payment-required") ?? "").error).toMatch(/duplicate_payment|already been used/);
    expect(await replay.text()).not.toContain("premium");
    expect(before - (await h.usdcBalance(payer))).toBe(PREMIUM_PRICE);
  }, 60_000);
});
