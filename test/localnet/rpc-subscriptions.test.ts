/** Websocket subscriptions through web3.js, @solana/kit and a raw ws client. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Keypair, LAMPORTS_PER_SOL, PublicKey, SystemProgram, Transaction, type KeyedAccountInfo } from "@solana/web3.js";
import { AccountLayout, createMint, getOrCreateAssociatedTokenAccount, mintTo, TOKEN_PROGRAM_ID } from "@solana/spl-token";
import { createSolanaRpcSubscriptions } from "@solana/kit";
import { startHarness, type Harness } from "./rpc-harness.ts";
import { waitFor } from "../kit/wait-for.ts";

/** A raw websocket JSON-RPC client that records every message. */
async function rawClient(url: string) {
  const socket = new WebSocket(url);
  const messages: any[] = [];
  socket.on("message", (data) => messages.push(JSON.parse(data.toString())));
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  let id = 100;
  return {
    messages,
    async request(method: string, params: unknown[]) {
      const requestId = id++;
      socket.send(JSON.stringify({ jsonrpc: "2.0", id: requestId, method, params }));
      return waitFor(`${method} reply`, () => messages.find((m) => m.id === requestId), { timeoutMs: 5000 });
    },
    close: () => socket.close(),
  };
}

function tokenAccountHex(mint: PublicKey, owner: PublicKey, amount: bigint): string {
  const data = Buffer.alloc(AccountLayout.span);
  AccountLayout.encode(
    {
      mint,
      owner,
      amount,
      delegateOption: 0,
      delegate: PublicKey.default,
      state: 1,
      isNativeOption: 0,
      isNative: 0n,
      delegatedAmount: 0n,
      closeAuthorityOption: 0,
      closeAuthority: PublicKey.default,
    },
    data,
  );
  return data.toString("hex");
}

describe("websocket subscriptions", () => {
  let h: Harness;
  let payer: Keypair;
  beforeAll(async () => {
    h = await startHarness();
    payer = Keypair.generate();
    h.chain.setAccount(payer.publicKey.toBase58(), { lamports: BigInt(100 * LAMPORTS_PER_SOL) });
  });
  afterAll(async () => {
    await h.close();
  });

  it("notifies onProgramAccountChange for filtered changes from transactions and surfnet_setAccount", async () => {
    const opts = { commitment: "confirmed" as const };
    const mintA = await createMint(h.connection, payer, payer.publicKey, null, 6, Keypair.generate(), opts, TOKEN_PROGRAM_ID);
    const mintB = await createMint(h.connection, payer, payer.publicKey, null, 6, Keypair.generate(), opts, TOKEN_PROGRAM_ID);
    const holder = Keypair.generate().publicKey;
    const ataA = await getOrCreateAssociatedTokenAccount(h.connection, payer, mintA, holder, false, "confirmed", opts);
    const ataB = await getOrCreateAssociatedTokenAccount(h.connection, payer, mintB, holder, false, "confirmed", opts);

    const seen: KeyedAccountInfo[] = [];
    const before = h.server.subscriptionCount();
    const subId = h.connection.onProgramAccountChange(TOKEN_PROGRAM_ID, (info) => seen.push(info), {
      commitment: "confirmed",
      filters: [{ dataSize: AccountLayout.span }, { memcmp: { offset: 0, bytes: mintA.toBase58() } }],
    });
    await waitFor("programSubscribe", () => h.server.subscriptionCount() > before, { timeoutMs: 5000 });

    // a transaction: minting on mint B must not pass the filter, minting on mint A must
    await mintTo(h.connection, payer, mintB, ataB.address, payer, 9n, [], opts);
    await mintTo(h.connection, payer, mintA, ataA.address, payer, 42n, [], opts);
    const fromTx = await waitFor("notification from mintTo", () => seen.find((s) => s.accountId.equals(ataA.address)), { timeoutMs: 5000 });
    expect(AccountLayout.decode(fromTx.accountInfo.data).amount).toBe(42n);
    expect(fromTx.accountInfo.owner.equals(TOKEN_PROGRAM_ID)).toBe(true);

    // a cheatcode: a token account of mint A written with surfnet_setAccount
    const planted = Keypair.generate().publicKey;
    await h.call("surfnet_setAccount", [
      planted.toBase58(),
      { lamports: 2_039_280, owner: TOKEN_PROGRAM_ID.toBase58(), data: tokenAccountHex(mintA, holder, 777n) },
    ]);
    const fromCheat = await waitFor("notification from setAccount", () => seen.find((s) => s.accountId.equals(planted)), { timeoutMs: 5000 });
    expect(AccountLayout.decode(fromCheat.accountInfo.data).amount).toBe(777n);
    expect(seen.every((s) => AccountLayout.decode(s.accountInfo.data).mint.equals(mintA))).toBe(true);

    // closing the planted account sends nothing to program subscribers; a later change still arrives
    await h.call("surfnet_setAccount", [planted.toBase58(), { lamports: 0 }]);
    await mintTo(h.connection, payer, mintA, ataA.address, payer, 1n, [], opts);
    await waitFor("second mintTo", () => seen.filter((s) => s.accountId.equals(ataA.address)).length === 2, { timeoutMs: 5000 });
    expect(seen.filter((s) => s.accountId.equals(planted))).toHaveLength(1);
    expect(seen.some((s) => s.accountId.equals(ataB.address))).toBe(false);

    await h.connection.removeProgramAccountChangeListener(subId);
    await waitFor("programUnsubscribe", () => h.server.subscriptionCount() === before, { timeoutMs: 5000 });
  });

  it("notifies onAccountChange, including a closed account", async () => {
    const watched = Keypair.generate();
    const changes: { lamports: number; dataLength: number; owner: string; slot: number }[] = [];
    const before = h.server.subscriptionCount();
    const id = h.connection.onAccountChange(
      watched.publicKey,
      (info, ctx) => changes.push({ lamports: info.lamports, dataLength: info.data.length, owner: info.owner.toBase58(), slot: ctx.slot }),
      { commitment: "confirmed" },
    );
    await waitFor("accountSubscribe", () => h.server.subscriptionCount() > before, { timeoutMs: 5000 });
    const latest = await h.connection.getLatestBlockhash();
    const tx = new Transaction({ feePayer: payer.publicKey, ...latest }).add(
      SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: watched.publicKey, lamports: LAMPORTS_PER_SOL }),
    );
    tx.sign(payer);
    await h.connection.sendRawTransaction(tx.serialize());
    await waitFor("account notification", () => changes[0], { timeoutMs: 5000 });
    expect(changes[0]).toMatchObject({ lamports: LAMPORTS_PER_SOL, dataLength: 0, owner: SystemProgram.programId.toBase58() });
    expect(changes[0]!.slot).toBe(Number(h.chain.slot()));

    await h.call("surfnet_setAccount", [watched.publicKey.toBase58(), { lamports: 0 }]);
    await waitFor("closed-account notification", () => changes[1], { timeoutMs: 5000 });
    expect(changes[1]).toMatchObject({ lamports: 0, dataLength: 0, owner: SystemProgram.programId.toBase58() });
    await h.connection.removeAccountChangeListener(id);
  });

  it("notifies onSlotChange and kit slotNotifications", async () => {
    const slots: { slot: number; parent: number }[] = [];
    const before = h.server.subscriptionCount();
    const id = h.connection.onSlotChange((info) => slots.push({ slot: info.slot, parent: info.parent }));
    await waitFor("slotSubscribe", () => h.server.subscriptionCount() > before, { timeoutMs: 5000 });

    const abort = new AbortController();
    const kitSlots: bigint[] = [];
    const subscriptions = createSolanaRpcSubscriptions(h.wsUrl);
    const iterable = await subscriptions.slotNotifications().subscribe({ abortSignal: abort.signal });
    const consumer = (async () => {
      for await (const n of iterable) {
        kitSlots.push(n.slot);
        expect(n.parent).toBe(n.slot - 1n);
        if (kitSlots.length === 3) break;
      }
    })();

    const start = h.chain.slot();
    h.chain.advanceSlots(3);
    await waitFor("slot notifications", () => slots.length >= 3 && kitSlots.length >= 3, { timeoutMs: 5000 });
    await consumer;
    abort.abort();
    expect(slots.slice(0, 3)).toEqual([1, 2, 3].map((i) => ({ slot: Number(start) + i, parent: Number(start) + i - 1 })));
    expect(kitSlots).toEqual([1n, 2n, 3n].map((i) => start + i));
    await h.connection.removeSlotChangeListener(id);
  });

  it("speaks the validator's wire shapes: programNotification, signature auto-unsubscribe, errors", async () => {
    const client = await rawClient(h.wsUrl);
    try {
      const program = Keypair.generate().publicKey;
      const sub = await client.request("programSubscribe", [program.toBase58(), { encoding: "base64", commitment: "confirmed" }]);
      expect(sub).toEqual({ jsonrpc: "2.0", result: expect.any(Number), id: sub.id });
      const target = Keypair.generate().publicKey;
      await h.call("surfnet_setAccount", [target.toBase58(), { lamports: 1_000_000, owner: program.toBase58(), data: "0102ff" }]);
      const note = await waitFor("programNotification", () => client.messages.find((m) => m.method === "programNotification"), { timeoutMs: 5000 });
      expect(note).toEqual({
        jsonrpc: "2.0",
        method: "programNotification",
        params: {
          result: {
            context: { slot: Number(h.chain.slot()) },
            value: {
              pubkey: target.toBase58(),
              account: { data: ["AQL/", "base64"], executable: false, lamports: 1_000_000, owner: program.toBase58(), rentEpoch: 0, space: 3 },
            },
          },
          subscription: sub.result,
        },
      });

      // a signature that already landed is notified at once, after the subscription id, and then retired
      const airdrop = await h.connection.requestAirdrop(Keypair.generate().publicKey, LAMPORTS_PER_SOL);
      const sigSub = await client.request("signatureSubscribe", [airdrop, { commitment: "confirmed" }]);
      const sigNote = await waitFor("signatureNotification", () => client.messages.find((m) => m.method === "signatureNotification"), { timeoutMs: 5000 });
      expect(client.messages.indexOf(sigNote)).toBeGreaterThan(client.messages.indexOf(sigSub));
      expect(sigNote.params).toEqual({ result: { context: { slot: Number(h.chain.slot()) }, value: { err: null } }, subscription: sigSub.result });
      const gone = await client.request("signatureUnsubscribe", [sigSub.result]);
      expect(gone.error).toEqual({ code: -32602, message: "Invalid subscription id." });

      const unsub = await client.request("programUnsubscribe", [sub.result]);
      expect(unsub.result).toBe(true);
      const unknown = await client.request("blockSubscribe", []);
      expect(unknown.error).toEqual({ code: -32601, message: "Method not found" });
      const bad = await client.request("accountSubscribe", ["not-a-key"]);
      expect(bad.error.code).toBe(-32602);
    } finally {
      client.close();
    }
  });
});
