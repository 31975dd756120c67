/**
 * The payment-identifier gap: the API process is SIGKILLed after its payment settled on chain and before either
 * the ledger completion or the paid answer was stored. A retry of the same signed payment with the same
 * identifier then gets the content (the handler runs again in the settled payment's terms, PAYMENT-RESPONSE
 * naming its transaction) once the row is known settled, and nothing settles twice; before the reconciler
 * completed the row it is refused without a second settlement; the same payment under an identifier attached
 * afterwards gets duplicate_payment.
 */
import { join } from "node:path";
import { decodePaymentRequiredHeader, decodePaymentResponseHeader, encodePaymentSignatureHeader } from "@x402/core/http";
import { appendPaymentIdentifierToExtensions, generatePaymentId } from "@x402/extensions/payment-identifier";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createLogger } from "../../src/log.ts";
import { testConfig } from "../api/harness.ts";
import { TEST_DATABASE_URL, withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { startTestLocalnet, type SeededTestLocalnet } from "../kit/localnet.ts";
import { killApi, payToBalance, spawnApi, testReconciler, x402ClientFor, type ApiChild } from "./helpers.ts";

const PRICE = 100_000n;
let chain: SeededTestLocalnet;
let schema: FreshSchema;
let env: Record<string, string>;
const children: ApiChild[] = [];

beforeAll(async () => {
  chain = await startTestLocalnet({ slotMs: 100, logger: createLogger({ level: "silent" }) });
  schema = await withFreshSchema();
  env = {
    SOLANA_RPC_URL: chain.httpUrl,
    SOLANA_WS_URL: chain.wsUrl,
    X402_FACILITATOR_KEYPAIR: join(chain.seed.walletsDir, "facilitator.json"),
    TEST_DATABASE_URL,
    TEST_SCHEMA: schema.schema,
  };
}, 120_000);

afterAll(async () => {
  for (const c of children) await killApi(c);
  await schema?.close();
  await chain?.close();
});

it("serves a lost answer to a retry with the same identifier after the API died between settling and storing it, settling once", async () => {
  const config = testConfig(env);
  const client = await x402ClientFor(chain.seed, config, chain.httpUrl, "nonstaker");
  const payer = chain.seed.wallets.find((w) => w.name === "nonstaker")!.address;
  const balanceBefore = await payToBalance(chain.httpUrl, config);

  const crashing = await spawnApi({ ...env, CRASH_AT: "beforeComplete" });
  children.push(crashing);
  const quote = await fetch(`${crashing.url}/api/premium`);
  const required = decodePaymentRequiredHeader(quote.headers.get("payment-required") ?? "");
  const payload = await client.createPaymentPayload(required);
  const id = generatePaymentId("lost_");
  const withId = (paymentId: string) => {
    const p = structuredClone(payload);
    p.extensions = appendPaymentIdentifierToExtensions(structuredClone(payload.extensions ?? required.extensions ?? {}), paymentId);
    return encodePaymentSignatureHeader(p);
  };
  const header = withId(id);
  const send = (child: ApiChild, h: string) => fetch(`${child.url}/api/premium`, { headers: { "PAYMENT-SIGNATURE": h } });

  // Settled on chain, then killed: no completion, no stored answer, no response.
  await expect(send(crashing, header)).rejects.toThrow();
  expect((await crashing.exited).signal).toBe("SIGKILL");
  expect(crashing.output()).toContain("crash at beforeComplete");
  expect((await payToBalance(chain.httpUrl, config)) - balanceBefore).toBe(PRICE);
  const reserved = await schema.db.selectFrom("x402_usage").selectAll().execute();
  expect(reserved.map((r) => r.settlement_signature)).toEqual([null]);

  const api = await spawnApi(env);
  children.push(api);

  // Before the ledger knows the payment settled: refused, and nothing settles a second time.
  const early = await send(api, header);
  const earlyBody = await early.text();
  expect(early.status, earlyBody).toBe(402);
  expect(earlyBody).not.toContain('"premium":true');
  expect((await payToBalance(chain.httpUrl, config)) - balanceBefore).toBe(PRICE);

  // The reconciler completes the reservation from the chain.
  const report = await testReconciler(schema.db, config, chain.httpUrl).reconcile();
  expect(report.completed).toBe(1);
  const row = await schema.db.selectFrom("x402_usage").selectAll().executeTakeFirstOrThrow();
  expect(row.settlement_signature).not.toBeNull();

  // Now the retry gets the content, in the payment's terms, with a PAYMENT-RESPONSE naming its transaction.
  const retry = await send(api, header);
  const retryBody = Buffer.from(await retry.arrayBuffer());
  expect(retry.status, retryBody.toString()).toBe(200);
  const content = JSON.parse(retryBody.toString()) as { premium: boolean; payer: string; charged: unknown };
  expect(content).toMatchObject({ premium: true, payer });
  const receipt = retry.headers.get("payment-response");
  expect(decodePaymentResponseHeader(receipt!)).toMatchObject({ success: true, transaction: row.settlement_signature, payer, network: config.x402.network });

  // Its answer is stored now: a further retry gets the very same body and receipt.
  const again = await send(api, header);
  expect(again.status).toBe(200);
  expect(Buffer.from(await again.arrayBuffer()).equals(retryBody)).toBe(true);
  expect(again.headers.get("payment-response")).toBe(receipt);

  // The same payment under an identifier attached after it was taken (its transaction is public): refused.
  const stolen = await send(api, withId(generatePaymentId("late_")));
  expect(stolen.status).toBe(402);
  expect(await stolen.text()).not.toContain('"premium":true');

  // One payment, one row, one settlement.
  expect((await payToBalance(chain.httpUrl, config)) - balanceBefore).toBe(PRICE);
  const rows = await schema.db.selectFrom("x402_usage").selectAll().execute();
  expect(rows).toHaveLength(1);
  expect(BigInt(rows[0]!.amount_charged)).toBe(PRICE);
}, 180_000);
