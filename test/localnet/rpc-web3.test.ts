/** The facade through @solana/web3.js 1.x Connection and @solana/kit over real HTTP. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Keypair,
  LAMPORTS_PER_SOL,
  PublicKey,
  SendTransactionError,
  SystemProgram,
  Transaction,
  TransactionMessage,
  VersionedTransaction,
} from "@solana/web3.js";
import { address, createSolanaRpc, getBase58Decoder } from "@solana/kit";
import { USER_STAKE_DISCRIMINATOR, USER_STAKE_SIZE } from "../../src/solana/program.ts";
import { startHarness, type Harness } from "./rpc-harness.ts";

const PROGRAM_ID = new PublicKey("Fg6PaFpoGXkYsidMpWTK6W2BeZ7FEfcYkg476zPFsLnS");
const b58 = (bytes: Uint8Array) => getBase58Decoder().decode(bytes);

function userStakeData(owner: PublicKey, pool: PublicKey, staked: bigint): Uint8Array {
  const data = Buffer.alloc(USER_STAKE_SIZE);
  USER_STAKE_DISCRIMINATOR.copy(data, 0);
  owner.toBuffer().copy(data, 8);
  pool.toBuffer().copy(data, 40);
  data.writeBigUInt64LE(staked, 72);
  return data;
}

async function fundedKeypair(h: Harness, sol = 10): Promise<Keypair> {
  const kp = Keypair.generate();
  h.chain.setAccount(kp.publicKey.toBase58(), { lamports: BigInt(sol * LAMPORTS_PER_SOL) });
  return kp;
}

async function transfer(h: Harness, from: Keypair, to: PublicKey, lamports: number) {
  const latest = await h.connection.getLatestBlockhash("confirmed");
  const tx = new Transaction({ feePayer: from.publicKey, ...latest }).add(
    SystemProgram.transfer({ fromPubkey: from.publicKey, toPubkey: to, lamports }),
  );
  tx.sign(from);
  const signature = await h.connection.sendRawTransaction(tx.serialize());
  const confirmation = await h.connection.confirmTransaction({ signature, ...latest }, "confirmed");
  return { signature, confirmation };
}

describe("local chain RPC through @solana/web3.js and @solana/kit", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it("answers getAccountInfo with the account's lamports, owner and data", async () => {
    const key = Keypair.generate().publicKey;
    h.chain.setAccount(key.toBase58(), { lamports: 5_000_000n, data: new Uint8Array([1, 2, 3]), owner: PROGRAM_ID.toBase58() });
    const info = await h.connection.getAccountInfo(key);
    expect(info).not.toBeNull();
    expect(info!.lamports).toBe(5_000_000);
    expect(info!.owner.equals(PROGRAM_ID)).toBe(true);
    expect([...info!.data]).toEqual([1, 2, 3]);
    expect(await h.connection.getAccountInfo(Keypair.generate().publicKey)).toBeNull();
  });

  it("filters getProgramAccounts by dataSize and memcmp, with context", async () => {
    const poolA = Keypair.generate().publicKey;
    const poolB = Keypair.generate().publicKey;
    const inA = [Keypair.generate().publicKey, Keypair.generate().publicKey];
    for (const [i, key] of inA.entries()) {
      h.chain.setAccount(key.toBase58(), {
        lamports: 2_000_000n,
        data: userStakeData(Keypair.generate().publicKey, poolA, BigInt(i + 1) * 10n ** 15n),
        owner: PROGRAM_ID.toBase58(),
      });
    }
    h.chain.setAccount(Keypair.generate().publicKey.toBase58(), {
      lamports: 2_000_000n,
      data: userStakeData(Keypair.generate().publicKey, poolB, 1n),
      owner: PROGRAM_ID.toBase58(),
    });
    // right prefix, wrong size: dataSize must exclude it
    h.chain.setAccount(Keypair.generate().publicKey.toBase58(), {
      lamports: 2_000_000n,
      data: userStakeData(Keypair.generate().publicKey, poolA, 1n).subarray(0, 120),
      owner: PROGRAM_ID.toBase58(),
    });
    const result = await h.connection.getProgramAccounts(PROGRAM_ID, {
      commitment: "confirmed",
      withContext: true,
      filters: [
        { dataSize: USER_STAKE_SIZE },
        { memcmp: { offset: 0, bytes: b58(USER_STAKE_DISCRIMINATOR) } },
        { memcmp: { offset: 40, bytes: poolA.toBase58() } },
      ],
    });
    expect(result.context.slot).toBe(Number(h.chain.slot()));
    const keys = result.value.map((a) => a.pubkey.toBase58()).sort();
    expect(keys).toEqual(inA.map((k) => k.toBase58()).sort());
    for (const { account } of result.value) {
      expect(account.data.length).toBe(USER_STAKE_SIZE);
      expect(new PublicKey(account.data.subarray(40, 72)).equals(poolA)).toBe(true);
    }
    // without withContext the validator answers a bare array
    const bare = await h.connection.getProgramAccounts(PROGRAM_ID, {
      filters: [{ dataSize: USER_STAKE_SIZE }, { memcmp: { offset: 40, bytes: poolB.toBase58() } }],
      dataSlice: { offset: 72, length: 8 },
    });
    expect(bare).toHaveLength(1);
    expect(Buffer.from(bare[0]!.account.data).readBigUInt64LE(0)).toBe(1n);
  });

  it("airdrops, sends a transfer, confirms it and reports it in getTransaction", async () => {
    const payer = Keypair.generate();
    const airdrop = await h.connection.requestAirdrop(payer.publicKey, 3 * LAMPORTS_PER_SOL);
    const latest = await h.connection.getLatestBlockhash();
    await h.connection.confirmTransaction({ signature: airdrop, ...latest }, "confirmed");
    expect(await h.connection.getBalance(payer.publicKey)).toBe(3 * LAMPORTS_PER_SOL);

    const to = Keypair.generate().publicKey;
    const { signature, confirmation } = await transfer(h, payer, to, 1_234_567);
    expect(confirmation.value.err).toBeNull();
    expect(await h.connection.getBalance(to)).toBe(1_234_567);

    const tx = await h.connection.getTransaction(signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
    expect(tx).not.toBeNull();
    expect(tx!.version).toBe("legacy");
    expect(tx!.meta!.err).toBeNull();
    expect(tx!.meta!.fee).toBe(5000);
    expect(tx!.meta!.preBalances[0]! - tx!.meta!.postBalances[0]!).toBe(1_234_567 + 5000);
    expect(tx!.meta!.postBalances[1]).toBe(1_234_567);
    expect(tx!.transaction.signatures[0]).toBe(signature);
    const keys = tx!.transaction.message.staticAccountKeys.map((k) => k.toBase58());
    expect(keys).toEqual([payer.publicKey.toBase58(), to.toBase58(), SystemProgram.programId.toBase58()]);
    expect(tx!.meta!.logMessages!.length).toBeGreaterThan(0);

    const parsed = await h.connection.getParsedTransaction(signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
    const ix = parsed!.transaction.message.instructions[0]!;
    expect("parsed" in ix && ix.program).toBe("system");
    expect("parsed" in ix && ix.parsed).toEqual({
      type: "transfer",
      info: { source: payer.publicKey.toBase58(), destination: to.toBase58(), lamports: 1_234_567 },
    });
    expect(parsed!.transaction.message.accountKeys[0]).toMatchObject({ signer: true, writable: true, source: "transaction" });
    expect(parsed!.transaction.message.accountKeys[2]).toMatchObject({ signer: false, writable: false });

    const statuses = await h.connection.getSignatureStatuses([signature, b58(new Uint8Array(64).fill(7))]);
    expect(statuses.value[0]).toMatchObject({ err: null, confirmationStatus: "finalized" });
    expect(statuses.value[1]).toBeNull();

    const history = await h.connection.getSignaturesForAddress(payer.publicKey);
    expect(history.map((s) => s.signature)).toEqual([signature, airdrop]);
    const older = await h.connection.getSignaturesForAddress(payer.publicKey, { before: signature });
    expect(older.map((s) => s.signature)).toEqual([airdrop]);
    const newer = await h.connection.getSignaturesForAddress(payer.publicKey, { until: airdrop });
    expect(newer.map((s) => s.signature)).toEqual([signature]);
    expect(history[0]).toMatchObject({ slot: tx!.slot, err: null, memo: null, confirmationStatus: "finalized" });
  });

  it("reads balances through @solana/kit", async () => {
    const kp = await fundedKeypair(h, 7);
    const rpc = createSolanaRpc(h.httpUrl);
    const { value, context } = await rpc.getBalance(address(kp.publicKey.toBase58()), { commitment: "confirmed" }).send();
    expect(value).toBe(7_000_000_000n);
    expect(typeof context.slot).toBe("bigint");
    expect(await rpc.getGenesisHash().send()).toBe(h.chain.genesisHash);
    expect(await rpc.getHealth().send()).toBe("ok");
    const version = await rpc.getVersion().send();
    expect(version["solana-core"]).toBe("2.3.0");
  });

  it("refuses a transaction whose blockhash has expired", async () => {
    const payer = await fundedKeypair(h);
    const latest = await h.connection.getLatestBlockhash();
    const tx = new Transaction({ feePayer: payer.publicKey, ...latest }).add(
      SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: Keypair.generate().publicKey, lamports: 1000 }),
    );
    tx.sign(payer);
    await h.call("surfnet_timeTravel", [{ absoluteSlot: Number(h.chain.slot()) + 151 }]);
    expect(await h.connection.isBlockhashValid(latest.blockhash)).toMatchObject({ value: false });
    const error = await h.connection.sendRawTransaction(tx.serialize()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SendTransactionError);
    expect((error as Error).message).toMatch(/Blockhash not found/);
    // a fresh blockhash works again
    const fresh = await h.connection.getLatestBlockhash();
    expect(await h.connection.isBlockhashValid(fresh.blockhash)).toMatchObject({ value: true });
  });

  it("answers -32016 while the chain is behind minContextSlot", async () => {
    const ahead = Number(h.chain.slot()) + 10;
    const error = await h.connection
      .getAccountInfoAndContext(PROGRAM_ID, { minContextSlot: ahead })
      .catch((e: unknown) => e as { code?: number; message: string });
    expect((error as { code?: number }).code).toBe(-32016);
    const { json } = await h.rpc({ jsonrpc: "2.0", id: 1, method: "getSlot", params: [{ minContextSlot: ahead }] });
    expect(json.error).toEqual({
      code: -32016,
      message: "Minimum context slot has not been reached",
      data: { contextSlot: Number(h.chain.slot()) },
    });
  });

  it("refuses a v0 transaction to getTransaction without maxSupportedTransactionVersion", async () => {
    const payer = await fundedKeypair(h);
    const latest = await h.connection.getLatestBlockhash();
    const message = new TransactionMessage({
      payerKey: payer.publicKey,
      recentBlockhash: latest.blockhash,
      instructions: [SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: Keypair.generate().publicKey, lamports: LAMPORTS_PER_SOL })],
    }).compileToV0Message();
    const tx = new VersionedTransaction(message);
    tx.sign([payer]);
    const signature = await h.connection.sendTransaction(tx);
    await h.connection.confirmTransaction({ signature, ...latest }, "confirmed");
    const { json } = await h.rpc({ jsonrpc: "2.0", id: "v0", method: "getTransaction", params: [signature, { commitment: "confirmed" }] });
    expect(json.id).toBe("v0");
    expect(json.error.code).toBe(-32015);
    expect(json.error.message).toBe(
      'Transaction version (0) is not supported by the requesting client. Please try the request again with the following configuration parameter: "maxSupportedTransactionVersion": 0',
    );
    const ok = await h.connection.getTransaction(signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
    expect(ok!.version).toBe(0);
    expect(ok!.transaction.message.addressTableLookups).toEqual([]);
    expect(ok!.meta!.loadedAddresses).toEqual({ writable: [], readonly: [] });
  });
});
