/** The local chain's getProgramAccountsV2 (Helius): pages by pubkey and `changedSinceSlot`, as the incremental resync uses them. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { poolTarget, userStakeFilters } from "../../indexer/stake-accounts.ts";
import { KAMIYO } from "./helpers/accounts.ts";
import { createStakers, sendTx, startTestChain, type TestChain } from "./helpers/chain.ts";

let chain: TestChain;
beforeAll(async () => {
  chain = await startTestChain({ slotMs: 0 });
});
afterAll(async () => {
  await chain?.close();
});

interface Page {
  context: { slot: number };
  value: { accounts: { pubkey: string }[]; paginationKey: string | null; totalResults: number };
}

describe("getProgramAccountsV2 on the local chain", () => {
  it("returns only the accounts changed since a slot, in pages", async () => {
    const config = { encoding: "base64", withContext: true, filters: userStakeFilters(poolTarget(chain.config).pool) };
    const programId = chain.config.solana.programId;
    const all = await chain.rpc<Page>("getProgramAccountsV2", [programId, { ...config, limit: 10_000 }]);
    expect(all.value.accounts.length).toBeGreaterThanOrEqual(5);
    expect(all.value.paginationKey).toBeNull();

    chain.net.chain.advanceSlots(1);
    const since = chain.net.chain.slot("confirmed") + 1n;
    chain.net.chain.advanceSlots(1);
    const stakers = createStakers(chain, 3, 1_000_000n * KAMIYO);
    for (const st of stakers) {
      await sendTx(chain, st.keypair, [await chain.staking.stake(st.wallet, st.tokenAccount, 200_000n * KAMIYO)]);
    }
    const changed = stakers.map((st) => chain.staking.userStake(st.wallet).toBase58()).sort();

    const seen: string[] = [];
    let paginationKey: string | null = null;
    let pages = 0;
    do {
      const page: Page = await chain.rpc<Page>("getProgramAccountsV2", [
        programId,
        { ...config, limit: 2, changedSinceSlot: Number(since), ...(paginationKey ? { paginationKey } : {}) },
      ]);
      seen.push(...page.value.accounts.map((a) => a.pubkey));
      paginationKey = page.value.paginationKey;
      pages++;
    } while (paginationKey !== null);
    expect(seen).toEqual(changed);
    expect(pages).toBe(2);
    await expect(chain.rpc("getProgramAccountsV2", [programId, { limit: 20_000 }])).rejects.toThrow(/limit/);
  });
});
