/**
 * GET /admin in a real browser (Debian's chromium through playwright-core): after real x402 payments on the
 * local chain and a pipeline run, the page shows the database's figures, draws its charts, logs no console
 * error, and leaves a screenshot in test-output/admin-dashboard.png.
 */
import { mkdir } from "node:fs/promises";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createKeyPairSignerFromBytes } from "@solana/kit";
import { wrapFetchWithPayment, x402Client } from "@x402/fetch";
import { ExactSvmScheme } from "@x402/svm/exact/client";
import { sql } from "kysely";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { enqueueRun, JOB } from "../../jobs/queue.ts";
import { createRunStore, TERMINAL_STATUSES } from "../../jobs/runs.ts";
import { formatUnits, KAMIYO_DECIMALS, USDC_DECIMALS } from "../../src/domain/units.ts";
import { utcDayWindow } from "../../src/domain/utc-day.ts";
import { startTestStack, type TestStack } from "../api/local-stack.ts";
import { waitFor } from "../kit/wait-for.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const SCREENSHOT = join(ROOT, "test-output/admin-dashboard.png");
export const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

type Network = Parameters<x402Client["register"]>[0];
let stack: TestStack;
let browser: Browser;

beforeAll(async () => {
  stack = await startTestStack();
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

/** What the page shows for an amount: the exact decimal, thousands grouped. */
function shown(amount: bigint, decimals: number, unit: string): string {
  const [whole, frac] = formatUnits(amount, decimals).split(".");
  return `${whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}${frac ? `.${frac}` : ""} ${unit}`;
}

async function payAs(name: string, times: number): Promise<void> {
  const { state } = stack;
  const wallet = state.localnet!.seed!.wallets.find((w) => w.name === name)!;
  const signer = await createKeyPairSignerFromBytes(Uint8Array.from(JSON.parse(await readFile(wallet.keypairPath, "utf8")) as number[]));
  const client = new x402Client();
  const network = state.config.x402.network as Network;
  client.register(network, new ExactSvmScheme(signer, { rpcUrl: state.localnet!.httpUrl }));
  client.setSpendControls({ allowedAssets: [{ network, asset: state.config.solana.usdcMint, maxAmountPerPayment: "1000000" }] });
  const paying = wrapFetchWithPayment(fetch, client);
  for (let i = 0; i < times; i++) {
    const res = await paying(`${stack.apiUrl}/api/premium`, { headers: { "x-wallet-address": wallet.address } });
    expect(res.status, await res.clone().text()).toBe(200);
    await res.text();
  }
}

it("shows the database's figures after real payments and a pipeline run, with charts drawn and no console error", async () => {
  const db = stack.state.database!.db;
  // Payments of two days: today's stay, the older ones become the day the pipeline allocates.
  await payAs("platinum", 3);
  await payAs("nonstaker", 2);
  const day = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
  await sql`UPDATE x402_usage SET created_at = created_at - interval '2 days'`.execute(db);
  await payAs("gold", 1);

  const store = createRunStore(db);
  await store.ensureRuns([{ day, ...utcDayWindow(day) }]);
  const run = (await store.getRunByDate(day))!;
  await enqueueRun(stack.state.jobs!.queue, run.id);
  const done = await waitFor(
    `run ${day} to finish`,
    async () => {
      const r = (await store.getRun(run.id))!;
      return TERMINAL_STATUSES.includes(r.status) ? r : null;
    },
    { timeoutMs: 60_000, everyMs: 200 },
  );
  expect({ status: done.status, error: done.error }).toEqual({ status: "done", error: null });

  // An APY snapshot after the funding: the vault balance and APY history the page shows.
  await stack.state.jobs!.queue.add(JOB.apy, {});
  const snapshot = await waitFor(
    "an APY snapshot",
    async () => (await sql<{ pool_balance: string }>`SELECT pool_balance::text FROM staking_apy_history ORDER BY recorded_at DESC LIMIT 1`.execute(db)).rows[0] ?? null,
    { timeoutMs: 30_000, everyMs: 200 },
  );

  // An indexer reconciliation (the stack runs none periodically), persisted in the status snapshot.
  await stack.state.indexer!.reconcileNow();
  const reconciledAt = await waitFor(
    "the persisted reconciliation time",
    async () =>
      (await sql<{ at: string | null }>`SELECT value->>'lastReconciliationAt' AS at FROM indexer_state WHERE key = 'status'`.execute(db)).rows[0]?.at ?? null,
    { timeoutMs: 10_000, everyMs: 100 },
  );
  const backfilledAt = (await sql<{ at: string }>`SELECT value->>'backfillCompletedAt' AS at FROM indexer_state WHERE key = 'status'`.execute(db)).rows[0]!.at;
  // The ledger reconciler's last pass (the allocate step ran one before allocating).
  const pass = (
    await sql<{ finished_at: Date; through_slot: string; completed: number; inserted: number; released: number; unexplained: number }>`
      SELECT finished_at, through_slot::text, completed, inserted, released, unexplained FROM ledger_reconciliations
       WHERE finished_at IS NOT NULL AND error IS NULL ORDER BY id DESC LIMIT 1`.execute(db)
  ).rows[0];
  expect(pass, "a ledger reconciliation pass").toBeDefined();

  // Without the key: 401 with the Basic challenge a browser prompts for.
  const anonymous = await fetch(`${stack.apiUrl}/admin`);
  expect(anonymous.status).toBe(401);
  expect(anonymous.headers.get("www-authenticate")).toMatch(/^Basic /);

  const context = await browser.newContext({ httpCredentials: { username: "ops", password: stack.state.config.adminApiKey }, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
  await page.goto(`${stack.apiUrl}/admin`);
  await page.waitForSelector("body[data-loaded=true]", { timeout: 20_000 });

  // Totals over the default range (the last 30 days, today included) equal the ledger.
  const totals = (
    await sql<{ revenue: string; gross: string; savings: string; n: string; payers: string }>`
      SELECT sum(amount_charged)::text AS revenue, sum(original_amount)::text AS gross, sum(savings)::text AS savings,
             count(*)::text AS n, count(DISTINCT payer)::text AS payers
        FROM x402_usage WHERE settlement_signature IS NOT NULL AND created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') - interval '29 days'`.execute(db)
  ).rows[0]!;
  expect(BigInt(totals.revenue)).toBe(490_000n); // 3 x 0.07 + 2 x 0.10 + 0.08
  const text = async (field: string) => (await page.locator(`[data-field="${field}"]`).first().textContent())?.trim();
  expect(await text("total-revenue")).toBe(shown(BigInt(totals.revenue), USDC_DECIMALS, "USDC"));
  expect(await text("total-gross")).toBe(shown(BigInt(totals.gross), USDC_DECIMALS, "USDC"));
  expect(await text("total-savings")).toBe(shown(BigInt(totals.savings), USDC_DECIMALS, "USDC"));
  expect(await text("total-requests")).toBe(totals.n);
  expect(await text("total-payers")).toBe(totals.payers);
  expect(await text("vault-balance")).toBe(shown(BigInt(snapshot.pool_balance), KAMIYO_DECIMALS, "KAMIYO"));
  expect(BigInt(snapshot.pool_balance)).toBeGreaterThanOrEqual(done.kamiyo_funded!);

  // The run's row: its figures and its landed signatures, linked to the explorer.
  const row = page.locator("#runs tr", { hasText: day });
  const cell = async (field: string) => (await row.locator(`[data-field="${field}"]`).textContent())?.trim();
  expect(await cell("run-allocation")).toBe(shown(done.allocation_micro_usdc!, USDC_DECIMALS, "USDC"));
  expect(await cell("run-spent")).toBe(shown(done.usdc_spent!, USDC_DECIMALS, "USDC"));
  expect(await cell("run-bought")).toBe(shown(done.kamiyo_bought!, KAMIYO_DECIMALS, "KAMIYO"));
  expect(await cell("run-funded")).toBe(shown(done.kamiyo_funded!, KAMIYO_DECIMALS, "KAMIYO"));
  const landed = (await store.listTxs(run.id)).filter((t) => t.status === "landed").map((t) => t.signature).sort();
  const linked = (await row.locator("a[data-signature]").evaluateAll((as) => as.map((a) => a.getAttribute("data-signature")!))).sort();
  expect(linked).toEqual(landed);
  const href = await row.locator("a[data-signature]").first().getAttribute("href");
  expect(href).toMatch(/^https:\/\/explorer\.solana\.com\/tx\/\w+\?cluster=custom&customUrl=/);

  // Stakers per tier as the stakes table has them.
  const stakers = (await sql<{ tier: string; n: string }>`SELECT discount_tier AS tier, count(DISTINCT owner)::text AS n FROM stakes WHERE NOT closed GROUP BY 1`.execute(db)).rows;
  for (const s of stakers) {
    const r = page.locator("#stake tr", { has: page.locator("td:first-child", { hasText: new RegExp(`^${s.tier}$`) }) });
    expect(await r.locator('[data-field="stakers"]').textContent()).toBe(s.n);
  }

  // Indexer and ledger reconciliation as the database has them.
  expect(await text("indexer-backfill")).toBe(backfilledAt);
  expect(await text("indexer-reconciled")).toBe(reconciledAt);
  expect(await text("ledger-reconciled")).toBe(pass!.finished_at.toISOString());
  expect(await text("ledger-slot")).toBe(pass!.through_slot);
  expect(await text("ledger-repairs")).toBe(
    `completed ${pass!.completed}, inserted ${pass!.inserted}, released ${pass!.released}, unexplained transfers ${pass!.unexplained}`,
  );
  expect(await page.locator('[data-field="ledger-latest"]').count()).toBe(0);

  // Charts: uPlot reports its series, and each canvas has drawn pixels.
  type Chart = { id: string; series: number; points: number };
  const charts = (await page.evaluate("window.__charts.map(({ id, series, points }) => ({ id, series, points }))")) as Chart[];
  expect(charts.map((c) => c.id).sort()).toEqual(["chart-apy", "chart-pipeline", "chart-requests", "chart-revenue"]);
  for (const c of charts) expect(c.series, c.id).toBeGreaterThan(0);
  expect(charts.find((c) => c.id === "chart-apy")!.points).toBeGreaterThanOrEqual(1);
  expect(charts.find((c) => c.id === "chart-revenue")!.points).toBe(30);
  // Pixels with any ink on each chart's canvas (uPlot draws series and axes there).
  const inked = (await page.evaluate(`[...document.querySelectorAll(".chart canvas")].map((canvas) => {
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
    return { id: canvas.closest(".chart").id, inked: n };
  })`)) as Array<{ id: string; inked: number }>;
  expect(inked.map((c) => c.id).sort()).toEqual(["chart-apy", "chart-pipeline", "chart-requests", "chart-revenue"]);
  for (const c of inked) expect(c.inked, c.id).toBeGreaterThan(200);

  // Linked from and back to bull-board.
  expect(await page.locator('a[href="/admin/queues"]').count()).toBe(1);

  await mkdir(dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  console.log(`admin dashboard screenshot: ${SCREENSHOT}`);
  await context.close();
  expect(problems, problems.join("\n")).toEqual([]);
}, 180_000);
