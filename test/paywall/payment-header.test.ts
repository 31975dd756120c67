/** Reading PAYMENT-SIGNATURE: the payer comes from the signed transfer, and every malformation has a reason. */
import { describe, expect, it } from "vitest";
import { generateKeyPairSigner, address, appendTransactionMessageInstructions, createTransactionMessage, getBase64EncodedWireTransaction, partiallySignTransactionMessageWithSigners, pipe, setTransactionMessageFeePayer, setTransactionMessageLifetimeUsingBlockhash, type Blockhash } from "@solana/kit";
import { getTransferCheckedInstruction, TOKEN_PROGRAM_ADDRESS } from "@solana-program/token";
import { parsePaymentHeader } from "../../api/paywall/payment-header.ts";

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64");
const accepted = { scheme: "exact", network: "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1", asset: "5foikC3PXXRwqhrmoNgoBGi4xRAsAu38RUWFMG3UuaC4", payTo: "AESikcywi2kofYE8Y1msoEKKesWtnepqqTJ1ePgFXyPV", amount: "80000", maxTimeoutSeconds: 60, extra: {} };

async function transfer(amount: bigint) {
  const payer = await generateKeyPairSigner();
  const feePayer = await generateKeyPairSigner();
  const ix = getTransferCheckedInstruction(
    { source: address("11111111111111111111111111111112"), mint: address(accepted.asset), destination: address("11111111111111111111111111111113"), authority: payer, amount, decimals: 6 },
    { programAddress: TOKEN_PROGRAM_ADDRESS },
  );
  const msg = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayer(feePayer.address, m),
    (m) => appendTransactionMessageInstructions([ix], m),
    (m) => setTransactionMessageLifetimeUsingBlockhash({ blockhash: "11111111111111111111111111111111" as Blockhash, lastValidBlockHeight: 100n }, m),
  );
  const signed = await partiallySignTransactionMessageWithSigners(msg);
  return { payer: payer.address as string, transaction: getBase64EncodedWireTransaction(signed) as string };
}

describe("parsePaymentHeader", () => {
  it("recovers the payer from the transfer's signer and keys the payment by its message", async () => {
    const t = await transfer(80_000n);
    const a = parsePaymentHeader(b64({ x402Version: 2, accepted, payload: { transaction: t.transaction } }));
    expect(a.ok).toBe(true);
    if (!a.ok) return;
    expect(a.payment.payer).toBe(t.payer);
    expect(a.payment.signedAmount).toBe(80_000n);
    expect(a.payment.paymentKey).toMatch(/^[0-9a-f]{64}$/);
    // The same transaction under different claims is the same payment.
    const b = parsePaymentHeader(b64({ x402Version: 2, accepted: { ...accepted, amount: "100000" }, payload: { transaction: t.transaction } }));
    expect(b.ok && b.payment.paymentKey).toBe(a.payment.paymentKey);
    const other = await transfer(80_000n);
    const c = parsePaymentHeader(b64({ x402Version: 2, accepted, payload: { transaction: other.transaction } }));
    expect(c.ok && c.payment.paymentKey).not.toBe(a.payment.paymentKey);
  });

  it("says what is wrong with a malformed header", async () => {
    const t = await transfer(1n);
    const cases: Array<[string, string]> = [
      ["%%%", "PAYMENT-SIGNATURE is not base64-encoded JSON"],
      [b64([1, 2]), "PAYMENT-SIGNATURE must encode a JSON object"],
      [b64({ x402Version: 1, accepted, payload: { transaction: t.transaction } }), "only x402 version 2 payments are accepted (x402Version must be 2)"],
      [b64({ x402Version: 2, payload: { transaction: t.transaction } }), "PAYMENT-SIGNATURE lacks the accepted payment requirements"],
      [b64({ x402Version: 2, accepted: { ...accepted, amount: "0.08" }, payload: { transaction: t.transaction } }), "accepted.amount must be an integer string of atomic units"],
      [b64({ x402Version: 2, accepted: { ...accepted, payTo: 5 }, payload: { transaction: t.transaction } }), "accepted.payTo must be a string"],
      [b64({ x402Version: 2, accepted, payload: {} }), "payload.transaction must be a base64 Solana transaction"],
      [b64({ x402Version: 2, accepted, payload: { transaction: "A".repeat(2000) } }), "payload.transaction is larger than a Solana transaction"],
      [b64({ x402Version: 2, accepted, payload: { transaction: "AAAA" } }), "payload.transaction is not a decodable Solana transaction"],
    ];
    for (const [header, reason] of cases) expect(parsePaymentHeader(header)).toEqual({ ok: false, reason });
  });
});
