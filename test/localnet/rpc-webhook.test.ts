/** The Helius-style raw webhook sender against a local HTTP receiver. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Keypair, LAMPORTS_PER_SOL, PublicKey, SystemProgram, Transaction } from "@solana/web3.js";
import { startHarness, type Harness } from "./rpc-harness.ts";
import { waitFor } from "../kit/wait-for.ts";

const PROGRAM_ID = new PublicKey("Fg6PaFpoGXkYsidMpWTK6W2BeZ7FEfcYkg476zPFsLnS");
const AUTH = "Bearer local-webhook-secret-123";

interface Received {
  at: number;
  authorization: string | undefined;
  body: any;
}

/** A receiver whose answer to the n-th request (0-based) is decided by `respond`. */
async function receiver(respond: (n: number, req: IncomingMessage, res: ServerResponse) => void) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      received.push({ at: Date.now(), authorization: req.headers.authorization, body: JSON.parse(Buffer.concat(parts).toString()) });
      respond(received.length - 1, req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`;
  return {
    url,
    received,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function sendTouchingProgram(h: Harness, payer: Keypair, touchProgram: boolean): Promise<string> {
  const latest = await h.connection.getLatestBlockhash();
  const ix = SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: Keypair.generate().publicKey, lamports: LAMPORTS_PER_SOL });
  if (touchProgram) ix.keys.push({ pubkey: PROGRAM_ID, isSigner: false, isWritable: false });
  const tx = new Transaction({ feePayer: payer.publicKey, ...latest }).add(ix);
  tx.sign(payer);
  return h.connection.sendRawTransaction(tx.serialize());
}

describe("webhook sender", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(respond: (n: number, req: IncomingMessage, res: ServerResponse) => void, retryDelaysMs = [20, 40, 80]) {
    const rx = await receiver(respond);
    cleanups.push(rx.close);
    const h = await startHarness({ programId: PROGRAM_ID.toBase58(), webhook: { urls: [rx.url], authHeader: AUTH, retryDelaysMs } });
    cleanups.push(h.close);
    const payer = Keypair.generate();
    h.chain.setAccount(payer.publicKey.toBase58(), { lamports: BigInt(100 * LAMPORTS_PER_SOL) });
    return { rx, h, payer };
  }

  it("posts a raw-format array with the Authorization header for transactions that touch the program", async () => {
    const { rx, h, payer } = await setup((_n, _req, res) => res.writeHead(200).end("ok"));
    const unrelated = await sendTouchingProgram(h, payer, false);
    const signature = await sendTouchingProgram(h, payer, true);
    await waitFor("webhook delivery", () => rx.received[0], { timeoutMs: 5000 });
    await h.server.webhook!.idle();
    expect(rx.received).toHaveLength(1);
    const delivery = rx.received[0]!;
    expect(delivery.authorization).toBe(AUTH);
    expect(Array.isArray(delivery.body)).toBe(true);
    expect(delivery.body).toHaveLength(1);
    const element = delivery.body[0];
    const record = h.chain.getTransaction(signature)!;
    expect(element).toMatchObject({
      slot: Number(record.slot),
      blockTime: record.blockTime,
      indexWithinBlock: record.indexWithinBlock,
      meta: {
        err: null,
        status: { Ok: null },
        fee: 5000,
        innerInstructions: [],
        loadedAddresses: { writable: [], readonly: [] },
        preTokenBalances: [],
        postTokenBalances: [],
        rewards: [],
      },
      transaction: { signatures: [signature] },
      version: "legacy",
    });
    expect(element.transaction.message.accountKeys).toContain(PROGRAM_ID.toBase58());
    expect(element.transaction.message.header).toEqual({ numRequiredSignatures: 1, numReadonlySignedAccounts: 0, numReadonlyUnsignedAccounts: 2 });
    expect(element.meta.logMessages.length).toBeGreaterThan(0);
    expect(element.transaction.signatures).not.toContain(unrelated);
    expect(h.server.webhook!.stats()).toEqual({ delivered: 1, dropped: 0, attempts: 1 });
  });

  it("retries after a 500 and delivers", async () => {
    const { rx, h, payer } = await setup((n, _req, res) => res.writeHead(n === 0 ? 500 : 200).end());
    const signature = await sendTouchingProgram(h, payer, true);
    await waitFor("retry", () => rx.received[1], { timeoutMs: 5000 });
    await h.server.webhook!.idle();
    expect(rx.received).toHaveLength(2);
    expect(rx.received.map((r) => r.body[0].transaction.signatures[0])).toEqual([signature, signature]);
    expect(rx.received[1]!.authorization).toBe(AUTH);
    expect(h.server.webhook!.stats()).toEqual({ delivered: 1, dropped: 0, attempts: 2 });
  });

  it("treats an answer slower than 1 s as a failed attempt and retries", async () => {
    const { rx, h, payer } = await setup((n, _req, res) => {
      if (n === 0) setTimeout(() => res.writeHead(200).end(), 1500);
      else res.writeHead(200).end();
    });
    const started = Date.now();
    const signature = await sendTouchingProgram(h, payer, true);
    // the chain answered without waiting for the slow receiver
    expect(Date.now() - started).toBeLessThan(500);
    expect(h.chain.getTransaction(signature)).not.toBeNull();
    await waitFor("retry after timeout", () => rx.received[1], { timeoutMs: 5000 });
    await h.server.webhook!.idle();
    const gap = rx.received[1]!.at - rx.received[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(1000);
    expect(gap).toBeLessThan(1500);
    expect(h.server.webhook!.stats()).toMatchObject({ delivered: 1, attempts: 2 });
  });

  it("drops a delivery after 3 retries with backoff", async () => {
    const { rx, h, payer } = await setup((_n, _req, res) => res.writeHead(503).end());
    await sendTouchingProgram(h, payer, true);
    await waitFor("fourth attempt", () => rx.received[3], { timeoutMs: 5000 });
    await h.server.webhook!.idle();
    // Nothing more may arrive: a bounded wait is the only way to see a fifth attempt that should not come.
    await new Promise((r) => setTimeout(r, 200));
    expect(rx.received).toHaveLength(4);
    const gaps = rx.received.slice(1).map((r, i) => r.at - rx.received[i]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(20);
    expect(gaps[2]).toBeGreaterThanOrEqual(80);
    expect(h.server.webhook!.stats()).toEqual({ delivered: 0, dropped: 1, attempts: 4 });
  });
});
