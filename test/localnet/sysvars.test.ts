/**
 * Sysvars and genesis as a validator has them, through web3.js and spl-token: SlotHashes current with the slot
 * (a lookup table is created, extended and used by a v0 transfer), the wrapped-SOL mint, and fieldless error
 * names, and a durable-nonce transfer (the nonce advances when used, also when the transaction fails).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AddressLookupTableProgram,
  Keypair,
  LAMPORTS_PER_SOL,
  NONCE_ACCOUNT_LENGTH,
  SystemProgram,
  SYSVAR_CLOCK_PUBKEY,
  Transaction,
  TransactionInstruction,
  TransactionMessage,
  VersionedTransaction,
  type PublicKey,
  type TransactionInstruction as Ix,
} from "@solana/web3.js";
import { createWrappedNativeAccount, getMint, NATIVE_MINT } from "@solana/spl-token";
import { startHarness, type Harness } from "./rpc-harness.ts";
import { waitFor } from "../kit/wait-for.ts";

describe("sysvars and genesis", () => {
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

  async function send(ixs: Ix[], signers: Keypair[] = []): Promise<string> {
    const latest = await h.connection.getLatestBlockhash();
    const tx = new Transaction({ feePayer: payer.publicKey, ...latest }).add(...ixs);
    const signature = await h.connection.sendTransaction(tx, [payer, ...signers]);
    await h.connection.confirmTransaction({ signature, ...latest }, "confirmed");
    return signature;
  }

  const nextSlot = async () => {
    const now = await h.connection.getSlot("confirmed");
    await waitFor("next slot", async () => (await h.connection.getSlot("confirmed")) > now, { timeoutMs: 3000 });
  };

  it("creates an address lookup table and lands a v0 transfer that uses it", async () => {
    const recentSlot = await h.connection.getSlot("finalized");
    const [create, table] = AddressLookupTableProgram.createLookupTable({ authority: payer.publicKey, payer: payer.publicKey, recentSlot });
    const recipients: PublicKey[] = [Keypair.generate().publicKey, Keypair.generate().publicKey];
    await send([create, AddressLookupTableProgram.extendLookupTable({ lookupTable: table, authority: payer.publicKey, payer: payer.publicKey, addresses: recipients })]);
    await nextSlot(); // addresses become usable the slot after they were added
    const lookup = (await h.connection.getAddressLookupTable(table)).value!;
    expect(lookup.state.addresses.map((a) => a.toBase58())).toEqual(recipients.map((r) => r.toBase58()));

    const latest = await h.connection.getLatestBlockhash();
    const message = new TransactionMessage({
      payerKey: payer.publicKey,
      recentBlockhash: latest.blockhash,
      instructions: recipients.map((to) => SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: to, lamports: LAMPORTS_PER_SOL })),
    }).compileToV0Message([lookup]);
    expect(message.addressTableLookups).toHaveLength(1);
    const tx = new VersionedTransaction(message);
    tx.sign([payer]);
    const signature = await h.connection.sendTransaction(tx);
    await h.connection.confirmTransaction({ signature, ...latest }, "confirmed");
    for (const to of recipients) expect(await h.connection.getBalance(to, "confirmed")).toBe(LAMPORTS_PER_SOL);
    const landed = await h.connection.getTransaction(signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
    expect(landed!.meta!.loadedAddresses!.writable.map((a) => a.toBase58())).toEqual(recipients.map((r) => r.toBase58()));
  });

  it("has the wrapped-SOL mint from genesis and wraps SOL into it", async () => {
    const mint = await getMint(h.connection, NATIVE_MINT, "confirmed");
    expect(mint).toMatchObject({ decimals: 9, isInitialized: true, mintAuthority: null, supply: 0n });
    const wrapped = await createWrappedNativeAccount(h.connection, payer, payer.publicKey, LAMPORTS_PER_SOL, undefined, { commitment: "confirmed" });
    expect((await h.connection.getTokenAccountBalance(wrapped, "confirmed")).value.uiAmountString).toBe("1");
  });

  it("lands a durable-nonce transfer; the nonce advances when used, also by a failed transaction", async () => {
    const nonceAccount = Keypair.generate();
    const rent = await h.connection.getMinimumBalanceForRentExemption(NONCE_ACCOUNT_LENGTH);
    await send(
      SystemProgram.createNonceAccount({
        fromPubkey: payer.publicKey,
        noncePubkey: nonceAccount.publicKey,
        authorizedPubkey: payer.publicKey,
        lamports: rent,
      }).instructions,
      [nonceAccount],
    );
    const created = (await h.connection.getNonce(nonceAccount.publicKey, "confirmed"))!;
    expect(created.authorizedPubkey.toBase58()).toBe(payer.publicKey.toBase58());
    expect(created.feeCalculator.lamportsPerSignature).toBe(5000);

    // Advancing needs a newer bank blockhash than the one the nonce was stored under, as on a validator.
    await nextSlot();
    await send([SystemProgram.nonceAdvance({ noncePubkey: nonceAccount.publicKey, authorizedPubkey: payer.publicKey })]);
    const advanced = (await h.connection.getNonce(nonceAccount.publicKey, "confirmed"))!;
    expect(advanced.nonce).not.toBe(created.nonce);

    await nextSlot();
    const recipient = Keypair.generate().publicKey;
    const nonceAdvance = SystemProgram.nonceAdvance({ noncePubkey: nonceAccount.publicKey, authorizedPubkey: payer.publicKey });
    const transfer = new Transaction({ feePayer: payer.publicKey, nonceInfo: { nonce: advanced.nonce, nonceInstruction: nonceAdvance } }).add(
      SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: recipient, lamports: LAMPORTS_PER_SOL }),
    );
    transfer.sign(payer);
    expect(transfer.compileMessage().recentBlockhash).toBe(advanced.nonce);
    const signature = await h.connection.sendRawTransaction(transfer.serialize());
    const minContextSlot = await h.connection.getSlot("processed");
    const confirmed = await h.connection.confirmTransaction(
      { signature, nonceAccountPubkey: nonceAccount.publicKey, nonceValue: advanced.nonce, minContextSlot },
      "confirmed",
    );
    expect(confirmed.value.err).toBeNull();
    expect(await h.connection.getBalance(recipient, "confirmed")).toBe(LAMPORTS_PER_SOL);
    const used = (await h.connection.getNonce(nonceAccount.publicKey, "confirmed"))!;
    expect(used.nonce).not.toBe(advanced.nonce);

    // The old nonce value is spent: another transaction carrying it is refused at admission.
    const stale = new Transaction({ feePayer: payer.publicKey, nonceInfo: { nonce: advanced.nonce, nonceInstruction: nonceAdvance } }).add(
      SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: recipient, lamports: 2 }),
    );
    stale.sign(payer);
    await expect(h.connection.sendRawTransaction(stale.serialize())).rejects.toThrow(/Blockhash not found/);

    // A durable-nonce transaction that fails still lands (fee charged) and still advances the nonce.
    await nextSlot();
    const overdraw = new Transaction({ feePayer: payer.publicKey, nonceInfo: { nonce: used.nonce, nonceInstruction: nonceAdvance } }).add(
      SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: recipient, lamports: 1_000 * LAMPORTS_PER_SOL }),
    );
    overdraw.sign(payer);
    const failed = await h.connection.sendRawTransaction(overdraw.serialize(), { skipPreflight: true });
    await waitFor("failed nonce transaction confirmed", async () => ["confirmed", "finalized"].includes((await h.connection.getSignatureStatus(failed)).value?.confirmationStatus ?? ""), { timeoutMs: 3000 });
    const landed = (await h.connection.getTransaction(failed, { commitment: "confirmed", maxSupportedTransactionVersion: 0 }))!;
    expect(landed.meta!.err).toEqual({ InstructionError: [1, { Custom: 1 }] }); // ResultWithNegativeLamports
    expect(landed.meta!.preBalances[0]! - landed.meta!.postBalances[0]!).toBe(5000);
    expect((await h.connection.getNonce(nonceAccount.publicKey, "confirmed"))!.nonce).not.toBe(used.nonce);
  });

  it("notifies Clock subscribers every slot, at the level asked for, with that level's clock", async () => {
    const seen: { slot: number; clockSlot: bigint }[] = [];
    const id = h.connection.onAccountChange(SYSVAR_CLOCK_PUBKEY, (info, context) => seen.push({ slot: context.slot, clockSlot: info.data.readBigUInt64LE(0) }), { commitment: "confirmed" });
    await waitFor("three Clock notifications", () => seen.length >= 3, { timeoutMs: 5000 });
    await h.connection.removeAccountChangeListener(id);
    for (const n of seen.slice(0, 3)) expect(n.clockSlot).toBe(BigInt(n.slot));
    expect(seen[1]!.slot).toBeGreaterThan(seen[0]!.slot);
    expect(seen[0]!.slot).toBeLessThan(await h.connection.getSlot("processed"));
  });

  it("names fieldless instruction errors as the validator does", async () => {
    const latest = await h.connection.getLatestBlockhash();
    const garbage = new TransactionInstruction({ programId: SystemProgram.programId, keys: [{ pubkey: payer.publicKey, isSigner: true, isWritable: true }], data: Buffer.from([99, 0, 0, 0]) });
    const tx = new Transaction({ feePayer: payer.publicKey, ...latest }).add(garbage);
    tx.sign(payer);
    const { json } = await h.rpc({ jsonrpc: "2.0", id: 1, method: "simulateTransaction", params: [tx.serialize().toString("base64"), { encoding: "base64", commitment: "confirmed" }] });
    expect(json.result.value.err).toEqual({ InstructionError: [0, "InvalidInstructionData"] });
  });
});
