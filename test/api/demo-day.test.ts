/**
 * The whole local service as `npm start` composes it: real x402 payments from demo wallets through the
 * paywall, then the revenue pipeline's run for that day buys KAMIYO from the Jupiter double and funds the
 * staking pool's reward vault with fund_pool.
 */
import { readFile } from "node:fs/promises";
import { createKeyPairSignerFromBytes } from "@solana/kit";
import { getAccount, TOKEN_2022_PROGRAM_ID } from "@solana/spl-token";
import { Connection } from "@solana/web3.js";
import { wrapFetchWithPayment, x402Client } from "@x402/fetch";
import { ExactSvmScheme } from "@x402/svm/exact/client";
import { sql } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import { enqueueRun } from "../../jobs/queue.ts";
import { createRunStore, TERMINAL_STATUSES } from "../../jobs/runs.ts";
import { utcDayWindow } from "../../src/domain/utc-day.ts";
import { stakingAddresses } from "../../src/solana/instructions.ts";
import { waitFor } from "../kit/wait-for.ts";
import { startTestStack, type TestStack } from "./local-stack.ts";

type Network = Parameters<x402Client["register"]>[0];
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

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
    expect(res.status).toBe(200);
    await res.text();
  }
}

it("turns a day of paid requests into KAMIYO in the reward vault", async () => {
  await payAs("platinum", 3); // 3 x 0.07
  await payAs("nonstaker", 2); // 2 x 0.10
  const db = stack.state.database!.db;
  const revenue = await sql<{ total: bigint; n: bigint }>`
    SELECT sum(amount_charged) AS total, count(*) AS n FROM x402_usage WHERE settlement_signature IS NOT NULL`.execute(db);
  expect(revenue.rows[0]).toEqual({ total: 410_000n, n: 5n });

  // A day is allocated once it has closed, and yesterday's run was already frozen (empty) when the
  // scheduler caught up at start; these payments stand in for the day before.
  const day = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
  await sql`UPDATE x402_usage SET created_at = created_at - interval '2 days'`.execute(db);

  const connection = new Connection(stack.state.localnet!.httpUrl, "confirmed");
  const { rewardVault } = stakingAddresses(stack.state.config.solana.programId, stack.state.config.solana.kamiyoMint);
  const vaultBefore = (await getAccount(connection, rewardVault, "confirmed", TOKEN_2022_PROGRAM_ID)).amount;

  const store = createRunStore(db);
  await store.ensureRuns([{ day, ...utcDayWindow(day) }]);
  const run = (await store.getRunByDate(day))!;
  await enqueueRun(stack.state.jobs!.queue, run.id);
  const done = await waitFor(
    `run ${day} to finish`,
    async () => {
      const now = (await store.getRun(run.id))!;
      return TERMINAL_STATUSES.includes(now.status) ? now : null;
    },
    { timeoutMs: 60_000, everyMs: 200 },
  );
  expect({ status: done.status, error: done.error }).toEqual({ status: "done", error: null });
  expect(done.revenue_micro_usdc).toBe(410_000n);
  expect(done.allocation_micro_usdc).toBe(123_000n); // floor(410000 * 3000 / 10000)
  // The Jupiter double sells at 0.01 USDC per KAMIYO: 0.123 USDC buys 12.3 KAMIYO.
  expect(done.kamiyo_bought).toBe(12_300_000_000n);
  expect(done.kamiyo_funded).toBe(done.kamiyo_bought);
  const vaultAfter = (await getAccount(connection, rewardVault, "confirmed", TOKEN_2022_PROGRAM_ID)).amount;
  expect(vaultAfter - vaultBefore).toBe(done.kamiyo_funded);
}, 120_000);
