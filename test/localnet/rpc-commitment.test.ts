/**
 * Commitment levels as a validator has them: processed is the newest block, confirmed trails it by one block,
 * finalized by `finalizedLag`; every read and every subscription honours the level it asks for. The slot is
 * moved by hand (slotMs 0), so each step is exact.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Keypair, LAMPORTS_PER_SOL, PublicKey, SystemProgram, Transaction } from "@solana/web3.js";
import { address, createSolanaRpc, createSolanaRpcSubscriptions, signature as kitSignature } from "@solana/kit";
import { startHarness, type Harness } from "./rpc-harness.ts";
import { waitFor } from "../kit/wait-for.ts";

const FINALIZED_LAG = 6;

describe("commitment levels", () => {
  let h: Harness;
  let payer: Keypair;
  beforeAll(async () => {
    h = await startHarness({ confirmedLag: 1, finalizedLag: FINALIZED_LAG });
    payer = Keypair.generate();
    h.chain.setAccount(payer.publicKey.toBase58(), { lamports: BigInt(100 * LAMPORTS_PER_SOL) });
  });
  afterAll(async () => {
    await h.close();
  });

  /** A transfer sent without waiting (the slot stands still until the test moves it). */
  async function transfer(to: PublicKey, lamports: number): Promise<string> {
    const { blockhash } = await h.connection.getLatestBlockhash("processed");
    const tx = new Transaction({ feePayer: payer.publicKey, recentBlockhash: blockhash }).add(
      SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: to, lamports }),
    );
    tx.sign(payer);
    return h.connection.sendRawTransaction(tx.serialize(), { preflightCommitment: "processed" });
  }

  it("keeps processed, confirmed and finalized one and FINALIZED_LAG blocks apart", async () => {
    const processed = await h.connection.getSlot("processed");
    const confirmed = await h.connection.getSlot("confirmed");
    const finalized = await h.connection.getSlot("finalized");
    expect(processed - confirmed).toBe(1);
    expect(processed - finalized).toBe(FINALIZED_LAG);
    h.chain.advanceSlots(1);
    expect(await h.connection.getSlot("processed")).toBe(processed + 1);
    expect(await h.connection.getSlot("confirmed")).toBe(processed);
    expect(await h.call("getSlot")).toBe(finalized + 1); // the validator's default is finalized
    const heights = await Promise.all((["processed", "finalized"] as const).map((c) => h.connection.getBlockHeight(c)));
    expect(heights[0]! - heights[1]!).toBe(FINALIZED_LAG);
    const hashes = await Promise.all((["processed", "confirmed", "finalized"] as const).map((c) => h.connection.getLatestBlockhash(c)));
    expect(new Set(hashes.map((x) => x.blockhash)).size).toBe(3);
    const levels = ["processed", "confirmed", "finalized"] as const;
    for (const [i, x] of hashes.entries()) expect(await h.connection.isBlockhashValid(x.blockhash, { commitment: levels[i] })).toMatchObject({ value: true });
    // a bank knows only the blockhashes of its own block and those before it
    expect(await h.connection.isBlockhashValid(hashes[0]!.blockhash, { commitment: "finalized" })).toMatchObject({ value: false });
    expect(await h.connection.isBlockhashValid(hashes[2]!.blockhash, { commitment: "processed" })).toMatchObject({ value: true });
  });

  it("shows a transaction at processed at once, at confirmed a block later, at finalized FINALIZED_LAG blocks later", async () => {
    const to = Keypair.generate().publicKey;
    const sig = await transfer(to, 1_000_000);
    const statusOf = async () => (await h.connection.getSignatureStatuses([sig])).value[0];
    const balances = async () =>
      Promise.all((["processed", "confirmed", "finalized"] as const).map((c) => h.connection.getBalance(to, c)));

    expect(await statusOf()).toMatchObject({ confirmations: 0, confirmationStatus: "processed", err: null });
    expect(await balances()).toEqual([1_000_000, 0, 0]);
    expect(await h.connection.getTransaction(sig, { commitment: "confirmed" })).toBeNull();
    expect(await h.connection.getAccountInfo(to, "confirmed")).toBeNull();
    expect((await h.connection.getAccountInfo(to, "processed"))?.lamports).toBe(1_000_000);
    const history = (c: "confirmed" | "finalized") => h.connection.getSignaturesForAddress(to, {}, c);
    expect(await history("confirmed")).toEqual([]);

    h.chain.advanceSlots(1);
    expect(await statusOf()).toMatchObject({ confirmations: 1, confirmationStatus: "confirmed" });
    expect(await balances()).toEqual([1_000_000, 1_000_000, 0]);
    expect((await h.connection.getTransaction(sig, { commitment: "confirmed" }))?.meta?.err).toBeNull();
    expect(await h.connection.getTransaction(sig, { commitment: "finalized" })).toBeNull();
    expect((await history("confirmed")).map((s) => s.signature)).toEqual([sig]);
    expect(await history("finalized")).toEqual([]);

    h.chain.advanceSlots(FINALIZED_LAG - 2);
    expect(await statusOf()).toMatchObject({ confirmations: FINALIZED_LAG - 1, confirmationStatus: "confirmed" });
    h.chain.advanceSlots(1);
    expect(await statusOf()).toMatchObject({ confirmations: null, confirmationStatus: "finalized" });
    expect(await balances()).toEqual([1_000_000, 1_000_000, 1_000_000]);
    expect((await history("finalized"))[0]).toMatchObject({ signature: sig, confirmationStatus: "finalized" });
  });

  it("answers getProgramAccounts and getMultipleAccounts at the level asked for", async () => {
    const owner = Keypair.generate().publicKey;
    const created = Keypair.generate();
    const { blockhash } = await h.connection.getLatestBlockhash("processed");
    const tx = new Transaction({ feePayer: payer.publicKey, recentBlockhash: blockhash }).add(
      SystemProgram.createAccount({ fromPubkey: payer.publicKey, newAccountPubkey: created.publicKey, lamports: 10_000_000, space: 8, programId: owner }),
    );
    tx.sign(payer, created);
    await h.connection.sendRawTransaction(tx.serialize(), { preflightCommitment: "processed" });
    const listed = async (c: "processed" | "confirmed" | "finalized") =>
      (await h.connection.getProgramAccounts(owner, c)).map((a) => a.pubkey.toBase58());
    expect(await listed("processed")).toEqual([created.publicKey.toBase58()]);
    expect(await listed("confirmed")).toEqual([]);
    const multiple = await h.connection.getMultipleAccountsInfo([created.publicKey, payer.publicKey], "confirmed");
    expect(multiple[0]).toBeNull();
    h.chain.advanceSlots(1);
    expect(await listed("confirmed")).toEqual([created.publicKey.toBase58()]);
    expect(await listed("finalized")).toEqual([]);
    // the kit client passes commitment the same way
    const rpc = createSolanaRpc(h.httpUrl);
    const kitList = await rpc.getProgramAccounts(address(owner.toBase58()), { commitment: "finalized", encoding: "base64" }).send();
    expect(kitList).toEqual([]);
    const kitSlot = await rpc.getSlot({ commitment: "confirmed" }).send();
    expect(kitSlot).toBe(BigInt(await h.connection.getSlot("processed")) - 1n);
  });

  it("simulates on the bank of the level asked for, and preflights at the preflight level", async () => {
    const fresh = Keypair.generate();
    await transfer(fresh.publicKey, LAMPORTS_PER_SOL); // lands at processed; confirmed has not seen it
    const { blockhash } = await h.connection.getLatestBlockhash("finalized");
    const spend = new Transaction({ feePayer: fresh.publicKey, recentBlockhash: blockhash }).add(
      SystemProgram.transfer({ fromPubkey: fresh.publicKey, toPubkey: payer.publicKey, lamports: LAMPORTS_PER_SOL / 2 }),
    );
    spend.sign(fresh);
    const simulate = async (commitment: string) =>
      (await h.call("simulateTransaction", [spend.serialize().toString("base64"), { encoding: "base64", commitment }])).value;
    expect((await simulate("processed")).err).toBeNull();
    expect(await simulate("confirmed")).toMatchObject({ err: "AccountNotFound", fee: null, preBalances: null });
    expect(await h.connection.getBalance(fresh.publicKey, "processed")).toBe(LAMPORTS_PER_SOL); // state put back

    // A blockhash the finalized bank has not seen yet: preflight at finalized refuses it, at processed it lands.
    const latest = await h.connection.getLatestBlockhash("processed");
    const tx = new Transaction({ feePayer: payer.publicKey, recentBlockhash: latest.blockhash }).add(
      SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: fresh.publicKey, lamports: 1 }),
    );
    tx.sign(payer);
    await expect(h.connection.sendRawTransaction(tx.serialize(), { preflightCommitment: "finalized" })).rejects.toThrow(/Blockhash not found/);
    const signature = await h.connection.sendRawTransaction(tx.serialize(), { preflightCommitment: "processed" });
    expect((await h.connection.getSignatureStatus(signature)).value?.confirmationStatus).toBe("processed");
  });

  it("gives two transfers of the same amount in different slots different signatures", async () => {
    const to = Keypair.generate().publicKey;
    const first = await transfer(to, 1_000_000);
    h.chain.advanceSlots(1);
    const second = await transfer(to, 1_000_000);
    expect(second).not.toBe(first);
    expect((await h.connection.getSignatureStatuses([first, second])).value.map((s) => s?.err)).toEqual([null, null]);
  });

  it("delivers notifications when the level is reached, also to a subscriber registered after the change", async () => {
    const to = Keypair.generate().publicKey;
    const sig = await transfer(to, 2_000_000);
    // registered after the transaction landed at processed
    const finalizedBalances: number[] = [];
    const confirmedBalances: number[] = [];
    const before = h.server.subscriptionCount();
    const subs = [
      h.connection.onAccountChange(to, (a) => finalizedBalances.push(a.lamports), { commitment: "finalized" }),
      h.connection.onAccountChange(to, (a) => confirmedBalances.push(a.lamports), { commitment: "confirmed" }),
    ];
    const signatureResults: { level: string; err: unknown }[] = [];
    for (const level of ["confirmed", "finalized"] as const) {
      h.connection.onSignature(sig, (r) => signatureResults.push({ level, err: r.err }), level);
    }
    const kit = createSolanaRpcSubscriptions(h.wsUrl);
    const abort = new AbortController();
    const kitNotes = await kit
      .signatureNotifications(kitSignature(sig), { commitment: "finalized" })
      .subscribe({ abortSignal: abort.signal });
    const kitFirst = (async () => {
      for await (const note of kitNotes) return note;
      return null;
    })();
    await waitFor("subscriptions", () => h.server.subscriptionCount() >= before + 5, { timeoutMs: 3000 });
    expect(confirmedBalances).toEqual([]);

    h.chain.advanceSlots(1);
    await waitFor("confirmed notifications", () => confirmedBalances.length === 1 && signatureResults.length === 1, { timeoutMs: 3000 });
    expect(confirmedBalances).toEqual([2_000_000]);
    expect(signatureResults).toEqual([{ level: "confirmed", err: null }]);
    expect(finalizedBalances).toEqual([]);

    h.chain.advanceSlots(FINALIZED_LAG - 1);
    await waitFor("finalized notifications", () => finalizedBalances.length === 1 && signatureResults.length === 2, { timeoutMs: 3000 });
    expect(finalizedBalances).toEqual([2_000_000]);
    expect(signatureResults[1]).toEqual({ level: "finalized", err: null });
    expect((await kitFirst)?.value.err).toBeNull();
    abort.abort();
    await Promise.all(subs.map((s) => h.connection.removeAccountChangeListener(s)));
  });

  it("sends logs, root and slotsUpdates notifications", async () => {
    const logs: { signature: string; logs: string[] }[] = [];
    const roots: number[] = [];
    const updates: string[] = [];
    const before = h.server.subscriptionCount();
    const logsId = h.connection.onLogs(SystemProgram.programId, (l) => logs.push(l), "confirmed");
    const rootId = h.connection.onRootChange((r) => roots.push(r));
    const updatesId = h.connection.onSlotUpdate((u) => updates.push(u.type));
    await waitFor("subscriptions", () => h.server.subscriptionCount() === before + 3, { timeoutMs: 3000 });
    const sig = await transfer(Keypair.generate().publicKey, 1_000_000);
    expect(logs).toEqual([]);
    h.chain.advanceSlots(1);
    await waitFor("logsNotification", () => logs.length === 1, { timeoutMs: 3000 });
    expect(logs[0]).toMatchObject({ signature: sig, logs: [`Program ${SystemProgram.programId.toBase58()} invoke [1]`, expect.any(String)] });
    await waitFor("root and slot updates", () => roots.length > 0 && updates.includes("optimisticConfirmation"), { timeoutMs: 3000 });
    expect(roots.at(-1)).toBe(await h.connection.getSlot("finalized"));
    expect(updates).toEqual(expect.arrayContaining(["createdBank", "frozen", "optimisticConfirmation", "root"]));
    await h.connection.removeOnLogsListener(logsId);
    await h.connection.removeRootChangeListener(rootId);
    await h.connection.removeSlotUpdateListener(updatesId);
  });
});
