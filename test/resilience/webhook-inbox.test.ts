/**
 * The webhook inbox cannot be stalled by one delivery: an array of more transactions than a delivery may
 * carry is refused with 413 and a reason before anything is stored (the 2.25 M-element, 4.5 MB delivery of
 * the report included), and the API keeps answering meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HELIUS_WEBHOOK_PATH, MAX_DELIVERY_ELEMENTS } from "../../api/routes/helius-webhook.ts";
import { startTestApi, WEBHOOK_AUTH, type TestApi } from "../api/harness.ts";

describe("webhook deliveries over the element cap", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  const post = (body: string) =>
    fetch(`${api.url}${HELIUS_WEBHOOK_PATH}`, { method: "POST", headers: { authorization: WEBHOOK_AUTH, "content-type": "application/json" }, body });

  it("refuses one element too many with 413 and says why; stores nothing", async () => {
    const res = await post(JSON.stringify(Array.from({ length: MAX_DELIVERY_ELEMENTS + 1 }, () => ({}))));
    expect(res.status).toBe(413);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe("too_many_elements");
    expect(body.message).toContain(String(MAX_DELIVERY_ELEMENTS));
    expect(await api.schema.db.selectFrom("webhook_deliveries").select("id").execute()).toEqual([]);
  });

  it("refuses a 2.25 M-element delivery while other requests keep being answered", async () => {
    const huge = `[${"0,".repeat(2_250_000 - 1)}0]`;
    const [res, health] = await Promise.all([post(huge), fetch(`${api.url}/health`)]);
    expect(res.status).toBe(413);
    expect(health.status).toBe(200);
  });
});
