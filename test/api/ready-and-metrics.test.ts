/** /ready and /metrics read the indexer's status snapshot from indexer_state at request time. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { snapshot, writeStatus } from "./fixtures.ts";
import { json, startTestApi, type TestApi, WEBHOOK_AUTH } from "./harness.ts";

let api: TestApi;
beforeEach(async () => {
  api = await startTestApi();
});
afterEach(async () => {
  await api?.close();
});

const metricsText = async () => {
  const res = await fetch(`${api.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
};
/** The value of one sample line, or undefined when the series has no such sample. */
const sample = (text: string, series: string): number | undefined => {
  const escaped = series.replace(/[{}"=]/g, (c) => `\\${c}`);
  const m = new RegExp(`^${escaped} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
};

describe("GET /ready", () => {
  it("answers 503 until the indexer reports a completed first backfill, then 200", async () => {
    let res = await fetch(`${api.url}/ready`);
    expect(res.status).toBe(503);
    expect(await json(res)).toMatchObject({ ready: false, dependency: "indexer", reason: "the indexer has not reported a status yet" });

    await writeStatus(api.schema.db, snapshot({ chainSlot: "100" }));
    res = await fetch(`${api.url}/ready`);
    expect(res.status).toBe(503);
    expect(await json(res)).toMatchObject({ ready: false, reason: "the first backfill has not completed" });

    const completedAt = new Date().toISOString();
    await writeStatus(api.schema.db, snapshot({ backfillCompletedAt: completedAt, backfillSlot: "90" }));
    res = await fetch(`${api.url}/ready`);
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ ready: true, backfillCompletedAt: completedAt, backfillSlot: "90" });
  });

  it("answers 503 when the database cannot be read", async () => {
    await api.schema.db.schema.dropTable("indexer_state").execute();
    const res = await fetch(`${api.url}/ready`);
    expect(res.status).toBe(503);
    expect(await json(res)).toMatchObject({ ready: false, dependency: "database", reason: "the database is unavailable" });
  });
});

describe("GET /metrics", () => {
  it("exposes per-source lag, last event age, reconnects and drift from the snapshot", async () => {
    const lastEventAt = new Date(Date.now() - 30_000).toISOString();
    await writeStatus(
      api.schema.db,
      snapshot({
        backfillCompletedAt: new Date().toISOString(),
        backfillSlot: "900",
        chainSlot: "1000",
        lastSlotBySource: { ws: "998", webhook: "990", backfill: "900", reconcile: "1003" },
        lastEventAt,
        reconnects: 3,
        reconciliationDrift: 5,
      }),
    );
    const text = await metricsText();
    expect(sample(text, 'kamiyo_indexer_status_lag_slots{source="ws"}')).toBe(2);
    expect(sample(text, 'kamiyo_indexer_status_lag_slots{source="webhook"}')).toBe(10);
    expect(sample(text, 'kamiyo_indexer_status_lag_slots{source="backfill"}')).toBe(100);
    // A source ahead of the live feed's view of the chain is not behind.
    expect(sample(text, 'kamiyo_indexer_status_lag_slots{source="reconcile"}')).toBe(0);
    expect(sample(text, 'kamiyo_indexer_status_applied_slot{source="ws"}')).toBe(998);
    expect(sample(text, "kamiyo_indexer_status_chain_slot")).toBe(1000);
    const age = sample(text, "kamiyo_indexer_status_last_event_age_seconds")!;
    expect(age).toBeGreaterThanOrEqual(29);
    expect(age).toBeLessThan(120);
    expect(sample(text, "kamiyo_indexer_status_reconnects")).toBe(3);
    expect(sample(text, "kamiyo_indexer_status_reconciliation_drift")).toBe(5);
    expect(sample(text, "kamiyo_indexer_status_backfill_completed")).toBe(1);
    expect(sample(text, "kamiyo_indexer_status_up")).toBe(1);
  });

  it("reflects the snapshot at each scrape, dropping series it no longer has", async () => {
    await writeStatus(api.schema.db, snapshot({ chainSlot: "50", lastSlotBySource: { ws: "40", webhook: "45" } }));
    let text = await metricsText();
    expect(sample(text, 'kamiyo_indexer_status_lag_slots{source="ws"}')).toBe(10);
    await writeStatus(api.schema.db, snapshot({ chainSlot: "60", lastSlotBySource: { ws: "60" } }));
    text = await metricsText();
    expect(sample(text, 'kamiyo_indexer_status_lag_slots{source="ws"}')).toBe(0);
    expect(sample(text, 'kamiyo_indexer_status_lag_slots{source="webhook"}')).toBeUndefined();
  });

  it("still answers with this process's own series when no snapshot exists", async () => {
    const text = await metricsText();
    expect(sample(text, "kamiyo_indexer_status_up")).toBe(0);
    // Unknown, not zero: a zero chain slot or event age would read as real values.
    expect(sample(text, "kamiyo_indexer_status_chain_slot")).toBeNaN();
    expect(sample(text, "kamiyo_indexer_status_last_event_age_seconds")).toBeNaN();
    expect(sample(text, "kamiyo_indexer_status_backfill_completed")).toBe(0);
    expect(text).toMatch(/^# TYPE kamiyo_api_webhook_deliveries_total counter$/m);
  });

  it("exposes webhook duplicates and other element outcomes recorded in the inbox, and its backlog", async () => {
    const outcome = (counts: Record<string, number>) =>
      JSON.stringify({ counts: { applied: 0, duplicate: 0, failed_tx: 0, no_transaction: 0, invalid: 0, ...counts }, invalid: [], accountsRead: 0, rowsApplied: 0 });
    await api.schema.db
      .insertInto("webhook_deliveries")
      .values([
        { body: "[]", elements: 3, status: "done", outcome: outcome({ applied: 2, duplicate: 1 }), processed_at: new Date() },
        { body: "[]", elements: 4, status: "done", outcome: outcome({ duplicate: 2, failed_tx: 1, invalid: 1 }), processed_at: new Date() },
        { body: "[]", elements: 1, last_error: null, outcome: null, processed_at: null },
      ])
      .execute();
    const text = await metricsText();
    expect(sample(text, 'kamiyo_webhook_inbox_elements{outcome="duplicate"}')).toBe(3);
    expect(sample(text, 'kamiyo_webhook_inbox_elements{outcome="applied"}')).toBe(2);
    expect(sample(text, 'kamiyo_webhook_inbox_elements{outcome="failed_tx"}')).toBe(1);
    expect(sample(text, 'kamiyo_webhook_inbox_elements{outcome="invalid"}')).toBe(1);
    expect(sample(text, 'kamiyo_webhook_inbox_deliveries{status="done"}')).toBe(2);
    expect(sample(text, 'kamiyo_webhook_inbox_deliveries{status="pending"}')).toBe(1);
    expect(sample(text, "kamiyo_webhook_inbox_up")).toBe(1);
  });

  it("counts webhook deliveries by result", async () => {
    const post = (body: string, headers: Record<string, string> = { authorization: WEBHOOK_AUTH }) =>
      fetch(`${api.url}/webhooks/helius`, { method: "POST", headers, body });
    await post(JSON.stringify([{ slot: 1 }, { slot: 2 }]));
    await post(JSON.stringify([{ slot: 3 }]));
    await post("nope");
    await post("{}");
    await post("[]", {});
    await post("[]");
    const text = await metricsText();
    expect(sample(text, 'kamiyo_api_webhook_deliveries_total{result="accepted"}')).toBe(2);
    expect(sample(text, 'kamiyo_api_webhook_deliveries_total{result="invalid"}')).toBe(2);
    expect(sample(text, 'kamiyo_api_webhook_deliveries_total{result="unauthorized"}')).toBe(1);
    expect(sample(text, 'kamiyo_api_webhook_deliveries_total{result="empty"}')).toBe(1);
    expect(sample(text, "kamiyo_api_webhook_transactions_total")).toBe(3);
  });
});
