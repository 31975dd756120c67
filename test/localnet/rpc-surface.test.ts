/**
 * The rest of the validator's HTTP surface through web3.js and @solana/kit: the block family (backed by the
 * chain's record of blocks), token queries, supply, cluster and leader information, inflation, samples.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Keypair, LAMPORTS_PER_SOL, SystemProgram, Transaction } from "@solana/web3.js";
import { createMint, getOrCreateAssociatedTokenAccount, mintTo, approve, TOKEN_PROGRAM_ID } from "@solana/spl-token";
import { address, createSolanaRpc } from "@solana/kit";
import { startHarness, type Harness } from "./rpc-harness.ts";

/** Every current HTTP method of the validator's JSON-RPC API. */
const VALIDATOR_METHODS = [
  "getAccountInfo", "getBalance", "getBlock", "getBlockCommitment", "getBlockHeight", "getBlockProduction",
  "getBlockTime", "getBlocks", "getBlocksWithLimit", "getClusterNodes", "getEpochInfo", "getEpochSchedule",
  "getFeeForMessage", "getFirstAvailableBlock", "getGenesisHash", "getHealth", "getHighestSnapshotSlot",
  "getIdentity", "getInflationGovernor", "getInflationRate", "getInflationReward", "getLargestAccounts",
  "getLatestBlockhash", "getLeaderSchedule", "getMaxRetransmitSlot", "getMaxShredInsertSlot",
  "getMinimumBalanceForRentExemption", "getMultipleAccounts", "getProgramAccounts", "getRecentPerformanceSamples",
  "getRecentPrioritizationFees", "getSignatureStatuses", "getSignaturesForAddress", "getSlot", "getSlotLeader",
  "getSlotLeaders", "getStakeMinimumDelegation", "getSupply", "getTokenAccountBalance",
  "getTokenAccountsByDelegate", "getTokenAccountsByOwner", "getTokenLargestAccounts", "getTokenSupply",
  "getTransaction", "getTransactionCount", "getVersion", "getVoteAccounts", "isBlockhashValid", "minimumLedgerSlot",
  "requestAirdrop", "sendTransaction", "simulateTransaction",
];

describe("the validator's wider RPC surface", () => {
  let h: Harness;
  let payer: Keypair;
  beforeAll(async () => {
    h = await startHarness({ slotMs: 20, confirmedLag: 1, finalizedLag: 4 });
    payer = Keypair.generate();
    h.chain.setAccount(payer.publicKey.toBase58(), { lamports: BigInt(100 * LAMPORTS_PER_SOL) });
  });
  afterAll(async () => {
    await h.close();
  });

  it("answers every current method (no -32601)", async () => {
    for (const method of VALIDATOR_METHODS) {
      const { json } = await h.rpc({ jsonrpc: "2.0", id: 1, method, params: [] });
      expect(json.error?.code, method).not.toBe(-32601);
    }
  });

  it("serves blocks from its record of slots and transactions", async () => {
    const to = Keypair.generate().publicKey;
    const { blockhash } = await h.connection.getLatestBlockhash();
    const tx = new Transaction({ feePayer: payer.publicKey, recentBlockhash: blockhash }).add(
      SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: to, lamports: LAMPORTS_PER_SOL }),
    );
    const signature = await h.connection.sendTransaction(tx, [payer]);
    await h.connection.confirmTransaction({ signature, blockhash, lastValidBlockHeight: 1e12 }, "confirmed");
    const { slot } = (await h.connection.getSignatureStatuses([signature])).value[0]!;

    const block = await h.connection.getBlock(slot, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
    expect(block!.transactions.map((t) => t.transaction.signatures[0])).toContain(signature);
    expect(block!.parentSlot).toBe(slot - 1);
    const parent = await h.connection.getBlock(slot - 1, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
    expect(block!.previousBlockhash).toBe(parent!.blockhash);
    const header = (s: number) => h.call("getBlock", [s, { commitment: "confirmed", transactionDetails: "none", rewards: false }]);
    const [own, parentHeader] = await Promise.all([header(slot), header(slot - 1)]);
    expect(own).toEqual({ blockHeight: parentHeader.blockHeight + 1, blockTime: block!.blockTime, blockhash: block!.blockhash, parentSlot: slot - 1, previousBlockhash: parent!.blockhash });
    const signatures = await h.connection.getBlockSignatures(slot, "confirmed");
    expect(signatures.signatures).toContain(signature);
    expect(await h.connection.getBlockTime(slot)).toBe(block!.blockTime);

    const first = await h.connection.getFirstAvailableBlock();
    expect(await h.call("minimumLedgerSlot")).toBe(first);
    const blocks = await h.connection.getBlocks(slot - 2, slot, "confirmed");
    expect(blocks).toEqual([slot - 2, slot - 1, slot]);
    expect(await h.call("getBlocksWithLimit", [slot - 1, 2, { commitment: "confirmed" }])).toEqual([slot - 1, slot]);
    // not yet at confirmed, and before the ledger's start
    const ahead = await h.rpc({ jsonrpc: "2.0", id: 1, method: "getBlock", params: [slot + 10_000] });
    expect(ahead.json.error).toEqual({ code: -32004, message: `Block not available for slot ${slot + 10_000}` });
    const old = await h.rpc({ jsonrpc: "2.0", id: 1, method: "getBlock", params: [first - 1] });
    expect(old.json.error.code).toBe(-32001);
    const processed = await h.rpc({ jsonrpc: "2.0", id: 1, method: "getBlock", params: [slot, { commitment: "processed" }] });
    expect(processed.json.error.message).toBe("Method does not support commitment below `confirmed`");

    expect(await h.connection.getTransactionCount()).toBeGreaterThanOrEqual(1);
    const production = await h.connection.getBlockProduction();
    const identity = (await h.call("getIdentity")).identity as string;
    expect(production.value.byIdentity[identity]![1]).toBeGreaterThan(0);
    const samples = await h.connection.getRecentPerformanceSamples(5);
    expect(samples[0]).toMatchObject({ samplePeriodSecs: 60 });
    expect(samples[0]!.numTransactions).toBeGreaterThanOrEqual(1);
  });

  it("answers token queries by owner, delegate and mint", async () => {
    const mint = await createMint(h.connection, payer, payer.publicKey, null, 6, undefined, { commitment: "confirmed" }, TOKEN_PROGRAM_ID);
    const holder = Keypair.generate();
    const ata = await getOrCreateAssociatedTokenAccount(h.connection, payer, mint, holder.publicKey, false, "confirmed", { commitment: "confirmed" });
    await mintTo(h.connection, payer, mint, ata.address, payer, 1_500_000n, [], { commitment: "confirmed" });
    const delegate = Keypair.generate().publicKey;
    await approve(h.connection, payer, ata.address, delegate, holder, 10n, [], { commitment: "confirmed" });

    const byOwner = await h.connection.getParsedTokenAccountsByOwner(holder.publicKey, { mint }, "confirmed");
    expect(byOwner.value.map((a) => a.pubkey.toBase58())).toEqual([ata.address.toBase58()]);
    expect(byOwner.value[0]!.account.data.parsed.info.tokenAmount.uiAmountString).toBe("1.5");
    const byProgram = await h.connection.getTokenAccountsByOwner(holder.publicKey, { programId: TOKEN_PROGRAM_ID }, "confirmed");
    expect(byProgram.value).toHaveLength(1);
    const byDelegate = await createSolanaRpc(h.httpUrl)
      .getTokenAccountsByDelegate(address(delegate.toBase58()), { mint: address(mint.toBase58()) }, { commitment: "confirmed", encoding: "jsonParsed" })
      .send();
    expect(byDelegate.value[0]!.account.data.parsed.info.delegatedAmount?.amount).toBe("10");
    expect((await h.connection.getTokenSupply(mint, "confirmed")).value).toMatchObject({ amount: "1500000", decimals: 6 });
    const largest = await h.connection.getTokenLargestAccounts(mint, "confirmed");
    expect(largest.value[0]).toMatchObject({ address: ata.address, amount: "1500000", uiAmountString: "1.5" });
    const unknownMint = await h.rpc({ jsonrpc: "2.0", id: 1, method: "getTokenAccountsByOwner", params: [holder.publicKey.toBase58(), { mint: Keypair.generate().publicKey.toBase58() }] });
    expect(unknownMint.json.error).toEqual({ code: -32602, message: "Invalid param: could not find mint" });
  });

  it("describes a one-validator devnet: supply, nodes, votes, leaders, inflation, stake minimum", async () => {
    const identity = (await h.call("getIdentity")).identity as string;
    const supply = await h.connection.getSupply();
    expect(supply.value.total).toBeGreaterThan(0);
    const largest = await h.connection.getLargestAccounts({ commitment: "confirmed" });
    expect(largest.value.length).toBeGreaterThan(0);
    expect((await h.connection.getClusterNodes())[0]!.pubkey).toBe(identity);
    const votes = await h.connection.getVoteAccounts();
    expect(votes.current[0]).toMatchObject({ nodePubkey: identity, epochVoteAccount: true });
    expect(votes.delinquent).toEqual([]);
    expect(await h.connection.getSlotLeader()).toBe(identity);
    expect((await h.connection.getSlotLeaders(await h.connection.getSlot(), 3)).map((k) => k.toBase58())).toEqual([identity, identity, identity]);
    const schedule = await h.connection.getLeaderSchedule();
    expect(schedule[identity]!.length).toBe(432_000);
    expect(await h.connection.getInflationGovernor()).toMatchObject({ initial: 0.08, terminal: 0.015 });
    expect((await h.connection.getInflationRate()).total).toBeGreaterThan(0);
    expect(await h.call("getInflationReward", [[payer.publicKey.toBase58()], { epoch: 0 }])).toEqual([null]);
    expect(await h.connection.getStakeMinimumDelegation()).toMatchObject({ value: expect.any(Number) });

    const rpc = createSolanaRpc(h.httpUrl);
    const slot = await rpc.getSlot({ commitment: "processed" }).send();
    expect(await rpc.getMaxShredInsertSlot().send()).toBeGreaterThanOrEqual(slot);
    expect(await rpc.getMaxRetransmitSlot().send()).toBeGreaterThanOrEqual(slot);
    expect(await rpc.getGenesisHash().send()).toBe("EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG");
  });
});
