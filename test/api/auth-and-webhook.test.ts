/** Admin auth on the resync route, the Helius webhook receiver's checks, and secrets kept out of logs. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_WEBHOOK_BODY_LIMIT } from "../../api/routes/helius-webhook.ts";
import { enqueueWebhookDelivery } from "../../indexer/index.ts";
import { randomAddress } from "./fixtures.ts";
import { ADMIN_KEY, json, RecordingIndexerApi, startTestApi, type TestApi, WEBHOOK_AUTH } from "./harness.ts";

let api: TestApi;
let indexer: RecordingIndexerApi;

beforeAll(async () => {
  indexer = new RecordingIndexerApi();
  api = await startTestApi({ indexerApi: indexer });
});
afterAll(async () => {
  await api?.close();
});
beforeEach(() => {
  indexer.deliveries = [];
  indexer.resyncs = [];
  indexer.enqueueError = null;
  indexer.resyncAnswer = (wallet) => ({ address: `stake-of-${wallet.slice(0, 4)}`, slot: "42", effectiveStake: "7", tier: "none" });
});

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("POST /x402/admin/resync/:wallet", () => {
  const resync = (wallet: string, headers: Record<string, string> = {}) =>
    fetch(`${api.url}/x402/admin/resync/${wallet}`, { method: "POST", headers });

  it.each([
    ["Authorization: Bearer", { authorization: `Bearer ${ADMIN_KEY}` }],
    ["x-admin-key", { "x-admin-key": ADMIN_KEY }],
    ["HTTP Basic (key as password)", { authorization: basic("ops", ADMIN_KEY) }],
  ])("accepts the admin key as %s and resyncs through the indexer", async (_how, headers) => {
    const wallet = randomAddress();
    const res = await resync(wallet, headers);
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ wallet, stakeAccount: `stake-of-${wallet.slice(0, 4)}`, slot: "42", effectiveStake: "7", tier: "none" });
    expect(indexer.resyncs).toEqual([wallet]);
  });

  it.each([
    ["no credentials", {}, /admin key required/],
    ["a wrong bearer key", { authorization: `Bearer ${ADMIN_KEY}x` }, /rejected/],
    ["a wrong x-admin-key", { "x-admin-key": "short" }, /rejected/],
    ["Basic with a wrong password", { authorization: basic(ADMIN_KEY, "nope") }, /rejected/],
    ["an unknown scheme", { authorization: `Token ${ADMIN_KEY}` }, /admin key required/],
  ])("answers 401 with a Basic challenge for %s, without calling the indexer", async (_how, headers, message) => {
    const res = await resync(randomAddress(), headers as Record<string, string>);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Basic realm=/);
    const body = await json(res);
    expect(body.error).toBe("unauthorized");
    expect(body.message).toMatch(message);
    expect(indexer.resyncs).toEqual([]);
  });

  it("checks the key before the wallet, then answers 400 for a bad wallet", async () => {
    expect((await resync("not-a-wallet")).status).toBe(401);
    const res = await resync("not-a-wallet", { "x-admin-key": ADMIN_KEY });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toBe("invalid_wallet");
    expect(indexer.resyncs).toEqual([]);
  });

  it("answers 502 when the chain cannot be read, without the cause in the body", async () => {
    indexer.resyncAnswer = () => {
      throw new Error("connect ECONNREFUSED 10.0.0.7:8899 api-key=abc");
    };
    const res = await resync(randomAddress(), { authorization: `Bearer ${ADMIN_KEY}` });
    expect(res.status).toBe(502);
    const text = await res.text();
    expect(JSON.parse(text).error).toBe("resync_failed");
    expect(text).not.toMatch(/ECONNREFUSED|api-key/);
  });

  it("keeps the admin key and Authorization out of request logs", async () => {
    await resync(randomAddress(), { authorization: `Bearer ${ADMIN_KEY}` });
    await resync(randomAddress(), { "x-admin-key": ADMIN_KEY });
    await resync(randomAddress(), { authorization: basic("ops", ADMIN_KEY) });
    await fetch(`${api.url}/webhooks/helius`, { method: "POST", headers: { authorization: WEBHOOK_AUTH }, body: "[]" });
    const all = api.logLines.join("");
    expect(all).toContain("/x402/admin/resync/");
    expect(all).not.toContain(ADMIN_KEY);
    expect(all).not.toContain(Buffer.from(`ops:${ADMIN_KEY}`).toString("base64"));
    expect(all).not.toContain(WEBHOOK_AUTH);
  });
});

describe("POST /webhooks/helius", () => {
  const post = (body: string | Uint8Array, headers: Record<string, string> = { authorization: WEBHOOK_AUTH, "content-type": "application/json" }) =>
    fetch(`${api.url}/webhooks/helius`, { method: "POST", headers, body });
  const delivery = [
    { slot: 10, transaction: { signatures: ["sig1"], message: { accountKeys: [] } }, meta: { err: null } },
    { slot: 11, transaction: { signatures: ["sig2"], message: { accountKeys: [] } }, meta: { err: { InstructionError: [0, "Custom"] } } },
  ];

  it("stores a JSON array through the indexer's inbox and acknowledges with 200", async () => {
    const res = await post(JSON.stringify(delivery));
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ received: 2, id: "1" });
    expect(indexer.deliveries).toEqual([delivery]);
  });

  it("parses the body whatever the Content-Type", async () => {
    const res = await post(JSON.stringify(delivery), { authorization: WEBHOOK_AUTH, "content-type": "text/plain" });
    expect(res.status).toBe(200);
    expect(indexer.deliveries).toHaveLength(1);
  });

  it("acknowledges an empty array without storing anything", async () => {
    const res = await post("[]");
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ received: 0 });
    expect(indexer.deliveries).toEqual([]);
  });

  it.each([
    ["no Authorization", { "content-type": "application/json" }],
    ["a wrong Authorization", { authorization: `${WEBHOOK_AUTH}-`, "content-type": "application/json" }],
    ["Bearer plus the auth value", { authorization: `Bearer ${WEBHOOK_AUTH}`, "content-type": "application/json" }],
  ])("answers 401 for %s and stores nothing", async (_how, headers) => {
    const res = await post(JSON.stringify(delivery), headers);
    expect(res.status).toBe(401);
    expect((await json(res)).error).toBe("unauthorized");
    expect(indexer.deliveries).toEqual([]);
  });

  it.each([
    ["not JSON", "<xml/>", "invalid_json"],
    ["truncated JSON", '[{"slot": 1', "invalid_json"],
    ["an object", JSON.stringify({ slot: 1 }), "invalid_delivery"],
    ["a string", JSON.stringify("hello"), "invalid_delivery"],
    ["a number", "42", "invalid_delivery"],
    ["an empty body", "", "invalid_delivery"],
  ])("answers 400 for %s and stores nothing", async (_what, body, code) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect((await json(res)).error).toBe(code);
    expect(indexer.deliveries).toEqual([]);
  });

  it("answers 413 above the size limit and stores nothing", async () => {
    const padding = "x".repeat(DEFAULT_WEBHOOK_BODY_LIMIT);
    const res = await post(JSON.stringify([{ padding }]));
    expect(res.status).toBe(413);
    expect((await json(res)).error).toBe("payload_too_large");
    expect(indexer.deliveries).toEqual([]);
  });

  it("answers 503 when the inbox cannot store the delivery, so Helius retries", async () => {
    indexer.enqueueError = new Error("relation webhook_inbox does not exist");
    const res = await post(JSON.stringify(delivery));
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(JSON.parse(text).error).toBe("inbox_unavailable");
    expect(text).not.toContain("webhook_inbox");
  });
});

describe("POST /webhooks/helius into the indexer's real inbox", () => {
  it("stores a delivery whose log text holds characters jsonb refuses (NUL, unpaired surrogates) instead of losing the batch", async () => {
    const inbox = await startTestApi({
      indexerApi: {
        enqueueWebhookDelivery,
        resyncWallet: () => Promise.reject(new Error("not used here")),
      },
    });
    try {
      const body =
        '[{"slot":5,"meta":{"err":null,"logMessages":["Program log: a\\u0000b","half \\ud83d pair","whole \\ud83d\\ude00"]},' +
        '"transaction":{"signatures":["s1"]}},{"slot":6,"transaction":{"signatures":["s2"]}}]';
      const res = await fetch(`${inbox.url}/webhooks/helius`, {
        method: "POST",
        headers: { authorization: WEBHOOK_AUTH, "content-type": "application/json" },
        body,
      });
      expect(res.status).toBe(200);
      expect(await json(res)).toMatchObject({ received: 2 });
      const rows = await inbox.schema.db.selectFrom("webhook_deliveries").select(["body", "elements", "status"]).execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ elements: 2, status: "pending" });
      const stored = rows[0]!.body as { meta?: { logMessages: string[] }; slot: number }[];
      expect(stored[0]!.meta!.logMessages).toEqual(["Program log: a\ufffdb", "half \ufffd pair", "whole \u{1F600}"]);
      expect(stored[1]).toEqual({ slot: 6, transaction: { signatures: ["s2"] } });
    } finally {
      await inbox.close();
    }
  });
});
