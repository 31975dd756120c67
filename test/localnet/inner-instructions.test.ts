/**
 * Inner instructions recorded from execution, through public clients: the staking model's Token-2022 transfer CPI
 * (Anchor over RPC) in getTransaction json and jsonParsed, getBlock and the Helius-style webhook delivery; an associated
 * token account create (CPIs inside LiteSVM) in getTransaction and simulateTransaction; and the simulation and
 * preflight fields a validator reports (fee, balances, loadedAccountsDataSize, replacementBlockhash, returnData).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { AnchorProvider, Program, Wallet } from "@coral-xyz/anchor";
import {
  createAssociatedTokenAccountIdempotentInstruction,
  getAssociatedTokenAddressSync,
  NATIVE_MINT,
  TOKEN_2022_PROGRAM_ID,
  TOKEN_PROGRAM_ID,
} from "@solana/spl-token";
import { Connection, Keypair, LAMPORTS_PER_SOL, SystemProgram, Transaction, type TransactionInstruction } from "@solana/web3.js";
import BN from "bn.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoKeypair } from "../../localnet/demo-keys.ts";
import { stakingAddresses } from "../../src/solana/instructions.ts";
import { stakingIdl } from "../../src/solana/program.ts";
import { startTestLocalnet, type SeededTestLocalnet } from "../kit/localnet.ts";
import { waitFor } from "../kit/wait-for.ts";

const KAMIYO = 10n ** 9n;
let net: SeededTestLocalnet;
let connection: Connection;
let receiver: Server;
const deliveries: any[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      deliveries.push(...(JSON.parse(Buffer.concat(parts).toString()) as unknown[]));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhook`;
  net = await startTestLocalnet({ webhook: { urls: [url], authHeader: "Bearer inner-test" } });
  connection = new Connection(net.httpUrl, { commitment: "confirmed", wsEndpoint: net.wsUrl });
});
afterAll(async () => {
  await net.close();
  receiver.closeAllConnections();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

async function rpc(method: string, params: unknown[]): Promise<any> {
  const res = await fetch(net.httpUrl, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return res.json();
}

async function funded(): Promise<Keypair> {
  const payer = Keypair.generate();
  await net.call("surfnet_setAccount", [payer.publicKey.toBase58(), { lamports: 10 * LAMPORTS_PER_SOL }]);
  return payer;
}

async function signed(payer: Keypair, ixs: TransactionInstruction[], blockhash?: string): Promise<Transaction> {
  const tx = new Transaction({ feePayer: payer.publicKey, recentBlockhash: blockhash ?? (await connection.getLatestBlockhash()).blockhash }).add(...ixs);
  tx.sign(payer);
  return tx;
}

describe("inner instructions", () => {
  it("records the staking model's Token-2022 transfer CPI in getTransaction (json, jsonParsed) and the webhook delivery", async () => {
    const admin = demoKeypair("admin");
    const program = new Program(stakingIdl(net.seed.programId), new AnchorProvider(connection, new Wallet(admin), { commitment: "confirmed" }));
    const a = stakingAddresses(net.seed.programId, net.seed.kamiyoMint);
    const adminToken = getAssociatedTokenAddressSync(a.mint, admin.publicKey, true, TOKEN_2022_PROGRAM_ID);
    await net.call("surfnet_setTokenAccount", [admin.publicKey.toBase58(), a.mint.toBase58(), { amount: Number(10n * KAMIYO) }, TOKEN_2022_PROGRAM_ID.toBase58()]);
    const signature = await program.methods.fundPool!(new BN((3n * KAMIYO).toString()))
      .accountsPartial({ admin: admin.publicKey, stakePool: a.pool, adminTokenAccount: adminToken, rewardVault: a.rewardVault, mint: a.mint, tokenProgram: TOKEN_2022_PROGRAM_ID })
      .rpc();

    const raw = (await rpc("getTransaction", [signature, { encoding: "json", commitment: "confirmed", maxSupportedTransactionVersion: 0 }])).result;
    const keys: string[] = raw.transaction.message.accountKeys;
    expect(raw.meta.innerInstructions).toHaveLength(1);
    const group = raw.meta.innerInstructions[0];
    expect(group.index).toBe(0);
    expect(group.instructions).toHaveLength(1);
    const cpi = group.instructions[0];
    expect(keys[cpi.programIdIndex]).toBe(TOKEN_2022_PROGRAM_ID.toBase58());
    expect(cpi.accounts.map((i: number) => keys[i])).toEqual([adminToken.toBase58(), a.rewardVault.toBase58(), admin.publicKey.toBase58()]);
    expect(cpi.stackHeight).toBe(2);
    expect(typeof cpi.data).toBe("string");

    const parsed = await connection.getParsedTransaction(signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
    const inner = parsed!.meta!.innerInstructions!;
    expect(inner).toHaveLength(1);
    expect(inner[0]!.instructions[0]).toMatchObject({
      program: "spl-token",
      programId: TOKEN_2022_PROGRAM_ID,
      parsed: { type: "transfer", info: { source: adminToken.toBase58(), destination: a.rewardVault.toBase58(), authority: admin.publicKey.toBase58(), amount: (3n * KAMIYO).toString() } },
      stackHeight: 2,
    });

    const blockParams = (details: string) => [raw.slot, { encoding: "json", transactionDetails: details, commitment: "confirmed", maxSupportedTransactionVersion: 0 }];
    const full = (await rpc("getBlock", blockParams("full"))).result;
    const inBlock = full.transactions.find((t: any) => t.transaction.signatures[0] === signature);
    expect(inBlock.meta.innerInstructions).toEqual(raw.meta.innerInstructions);
    const accountsOnly = (await rpc("getBlock", blockParams("accounts"))).result;
    const simple = accountsOnly.transactions.find((t: any) => t.transaction.signatures[0] === signature);
    expect(Object.keys(simple.meta).sort()).toEqual(["err", "fee", "postBalances", "postTokenBalances", "preBalances", "preTokenBalances", "rewards", "status"]);

    await waitFor("webhook delivery of fund_pool", () => deliveries.find((d) => d.transaction.signatures[0] === signature), { timeoutMs: 5000 });
    const delivered = deliveries.find((d) => d.transaction.signatures[0] === signature);
    expect(delivered.meta.innerInstructions).toEqual(raw.meta.innerInstructions);
  });

  it("records an associated token account create's CPIs and shows them in simulation when asked", async () => {
    const payer = await funded();
    const owner = Keypair.generate().publicKey;
    const ata = getAssociatedTokenAddressSync(NATIVE_MINT, owner, false, TOKEN_PROGRAM_ID);
    const create = createAssociatedTokenAccountIdempotentInstruction(payer.publicKey, ata, owner, NATIVE_MINT, TOKEN_PROGRAM_ID);

    const tx = await signed(payer, [create]);
    const encoded = tx.serialize().toString("base64");
    const sim = (await rpc("simulateTransaction", [encoded, { encoding: "base64", innerInstructions: true, commitment: "confirmed" }])).result.value;
    expect(sim.err).toBeNull();
    expect(sim.fee).toBe(5000);
    expect(sim.preBalances).toHaveLength(tx.compileMessage().accountKeys.length);
    expect(sim.preBalances[0] - sim.postBalances[0]).toBeGreaterThan(5000); // fee plus the new account's rent
    expect(sim.loadedAddresses).toEqual({ readonly: [], writable: [] });
    expect(sim.loadedAccountsDataSize).toBeGreaterThanOrEqual(64 * sim.preBalances.length);
    expect(sim.replacementBlockhash).toBeNull();
    expect(sim.returnData).toBeNull(); // the token program's GetAccountDataSize answer is cleared by the CPIs after it
    const simulatedTypes = sim.innerInstructions[0].instructions.map((ix: any) => ix.parsed?.type);
    expect(simulatedTypes).toEqual(["getAccountDataSize", "createAccount", "initializeImmutableOwner", "initializeAccount3"]);
    expect(sim.innerInstructions[0].instructions.map((ix: any) => ix.stackHeight)).toEqual([2, 2, 2, 2]);
    const plain = (await rpc("simulateTransaction", [encoded, { encoding: "base64" }])).result.value;
    expect(plain.innerInstructions).toBeNull();

    const signature = await connection.sendRawTransaction(tx.serialize());
    await connection.confirmTransaction({ signature, blockhash: tx.recentBlockhash!, lastValidBlockHeight: Number.MAX_SAFE_INTEGER }, "confirmed");
    const parsed = await connection.getParsedTransaction(signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
    const landed = parsed!.meta!.innerInstructions![0]!;
    expect(landed.index).toBe(0);
    expect(landed.instructions.map((ix) => ("parsed" in ix ? (ix.parsed as { type: string }).type : null))).toEqual(simulatedTypes);
    const raw = (await rpc("getTransaction", [signature, { encoding: "json", commitment: "confirmed" }])).result;
    expect(raw.meta).not.toHaveProperty("returnData"); // left out when no return data remains, as the validator does
    const keys: string[] = raw.transaction.message.accountKeys;
    expect(keys[raw.meta.innerInstructions[0].instructions[1].programIdIndex]).toBe(SystemProgram.programId.toBase58());
  });

  it("replaces the blockhash in simulation and reports it, and answers preflight failures with the validator's fields", async () => {
    const payer = await funded();
    const transfer = SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: Keypair.generate().publicKey, lamports: LAMPORTS_PER_SOL });
    const stale = await signed(payer, [transfer], Keypair.generate().publicKey.toBase58());
    const refused = (await rpc("simulateTransaction", [stale.serialize().toString("base64"), { encoding: "base64" }])).result.value;
    expect(refused).toMatchObject({ err: "BlockhashNotFound", fee: null, preBalances: null, postBalances: null, loadedAccountsDataSize: 0, innerInstructions: null });
    const replaced = (
      await rpc("simulateTransaction", [stale.serialize().toString("base64"), { encoding: "base64", replaceRecentBlockhash: true, commitment: "processed" }])
    ).result.value;
    expect(replaced.err).toBeNull();
    expect(replaced.replacementBlockhash.blockhash).not.toBe(stale.recentBlockhash);
    expect(await connection.isBlockhashValid(replaced.replacementBlockhash.blockhash, { commitment: "processed" })).toMatchObject({ value: true });
    expect(replaced.replacementBlockhash.lastValidBlockHeight).toBeGreaterThan(await connection.getBlockHeight("processed"));
    expect(replaced.postBalances[1] - replaced.preBalances[1]).toBe(LAMPORTS_PER_SOL);

    const overdraw = SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: Keypair.generate().publicKey, lamports: 1_000 * LAMPORTS_PER_SOL });
    const failing = await signed(payer, [overdraw]);
    const answer = await rpc("sendTransaction", [failing.serialize().toString("base64"), { encoding: "base64" }]);
    expect(answer.error.code).toBe(-32002);
    expect(answer.error.message).toBe("Transaction simulation failed: Error processing Instruction 0: custom program error: 0x1");
    expect(answer.error.data).toMatchObject({
      accounts: null,
      err: { InstructionError: [0, { Custom: 1 }] },
      fee: 5000,
      innerInstructions: null,
      replacementBlockhash: null,
      returnData: null,
      preTokenBalances: [],
      postTokenBalances: [],
      loadedAddresses: { readonly: [], writable: [] },
    });
    expect(answer.error.data.loadedAccountsDataSize).toBeGreaterThanOrEqual(3 * 64);
    expect(answer.error.data.preBalances[0] - answer.error.data.postBalances[0]).toBe(5000);
    expect(answer.error.data.logs).toContain("Program 11111111111111111111111111111111 invoke [1]");
  });
});
