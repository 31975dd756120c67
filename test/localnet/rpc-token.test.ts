/** SPL Token and Token-2022 through @solana/spl-token against the facade; jsonParsed accounts and transactions. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Keypair, LAMPORTS_PER_SOL, type ParsedAccountData, type PublicKey, type TokenBalance } from "@solana/web3.js";
import {
  createMint,
  getOrCreateAssociatedTokenAccount,
  mintTo,
  transfer,
  transferChecked,
  TOKEN_2022_PROGRAM_ID,
  TOKEN_PROGRAM_ID,
} from "@solana/spl-token";
import { startHarness, type Harness } from "./rpc-harness.ts";

describe.each([
  { name: "Token-2022", programId: TOKEN_2022_PROGRAM_ID, program: "spl-token-2022" },
  { name: "Token", programId: TOKEN_PROGRAM_ID, program: "spl-token" },
])("$name through @solana/spl-token", ({ programId, program }) => {
  let h: Harness;
  let payer: Keypair;
  let mint: PublicKey;
  const alice = Keypair.generate();
  const bob = Keypair.generate();
  beforeAll(async () => {
    h = await startHarness();
    payer = Keypair.generate();
    h.chain.setAccount(payer.publicKey.toBase58(), { lamports: BigInt(100 * LAMPORTS_PER_SOL) });
  });
  afterAll(async () => {
    await h.close();
  });

  it("creates a mint and transfers between associated token accounts", async () => {
    const opts = { commitment: "confirmed" as const };
    mint = await createMint(h.connection, payer, payer.publicKey, null, 9, Keypair.generate(), opts, programId);
    const from = await getOrCreateAssociatedTokenAccount(h.connection, payer, mint, alice.publicKey, false, "confirmed", opts, programId);
    const to = await getOrCreateAssociatedTokenAccount(h.connection, payer, mint, bob.publicKey, false, "confirmed", opts, programId);
    await mintTo(h.connection, payer, mint, from.address, payer, 5_000_000_000n, [], opts, programId);
    const sig = await transferChecked(h.connection, payer, from.address, mint, to.address, alice, 1_500_000_000n, 9, [], opts, programId);

    const balance = await h.connection.getTokenAccountBalance(to.address);
    expect(balance.value).toEqual({ amount: "1500000000", decimals: 9, uiAmount: 1.5, uiAmountString: "1.5" });

    const parsedAccount = await h.connection.getParsedAccountInfo(from.address);
    const data = parsedAccount.value!.data as ParsedAccountData;
    expect(data.program).toBe(program);
    expect(data.parsed.type).toBe("account");
    expect(data.parsed.info).toMatchObject({
      mint: mint.toBase58(),
      owner: alice.publicKey.toBase58(),
      state: "initialized",
      isNative: false,
      tokenAmount: { amount: "3500000000", decimals: 9, uiAmount: 3.5, uiAmountString: "3.5" },
    });
    const parsedMint = await h.connection.getParsedAccountInfo(mint);
    expect((parsedMint.value!.data as ParsedAccountData).parsed).toMatchObject({
      type: "mint",
      info: { decimals: 9, supply: "5000000000", mintAuthority: payer.publicKey.toBase58(), freezeAuthority: null, isInitialized: true },
    });

    const tx = await h.connection.getParsedTransaction(sig, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
    expect(tx!.meta!.err).toBeNull();
    const ix = tx!.transaction.message.instructions[0]!;
    expect("parsed" in ix && ix.program).toBe("spl-token");
    expect("parsed" in ix && ix.parsed).toEqual({
      type: "transferChecked",
      info: {
        source: from.address.toBase58(),
        mint: mint.toBase58(),
        destination: to.address.toBase58(),
        authority: alice.publicKey.toBase58(),
        tokenAmount: { amount: "1500000000", decimals: 9, uiAmount: 1.5, uiAmountString: "1.5" },
      },
    });
    const byOwner = (list: TokenBalance[] | null | undefined) =>
      Object.fromEntries((list ?? []).map((b) => [b.owner, b.uiTokenAmount.uiAmountString]));
    expect(byOwner(tx!.meta!.preTokenBalances)).toEqual({ [alice.publicKey.toBase58()]: "5", [bob.publicKey.toBase58()]: "0" });
    expect(byOwner(tx!.meta!.postTokenBalances)).toEqual({ [alice.publicKey.toBase58()]: "3.5", [bob.publicKey.toBase58()]: "1.5" });
    for (const b of tx!.meta!.postTokenBalances!) {
      expect(b.mint).toBe(mint.toBase58());
      expect(b.programId).toBe(programId.toBase58());
    }

    // the json encoding carries the same balances with raw account indexes
    const raw = await h.connection.getTransaction(sig, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
    const keys = raw!.transaction.message.staticAccountKeys.map((k) => k.toBase58());
    const post = raw!.meta!.postTokenBalances!.find((b) => b.owner === bob.publicKey.toBase58())!;
    expect(keys[post.accountIndex]).toBe(to.address.toBase58());
    expect(post.uiTokenAmount).toEqual({ amount: "1500000000", decimals: 9, uiAmount: 1.5, uiAmountString: "1.5" });
  });

  it("parses an unchecked transfer and reports the empty source", async () => {
    const from = await getOrCreateAssociatedTokenAccount(h.connection, payer, mint, bob.publicKey, false, "confirmed", {}, programId);
    const carol = Keypair.generate();
    const to = await getOrCreateAssociatedTokenAccount(h.connection, payer, mint, carol.publicKey, false, "confirmed", {}, programId);
    const sig = await transfer(h.connection, payer, from.address, to.address, bob, 1_500_000_000n, [], { commitment: "confirmed" }, programId);
    const tx = await h.connection.getParsedTransaction(sig, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
    const ix = tx!.transaction.message.instructions[0]!;
    expect("parsed" in ix && ix.parsed).toEqual({
      type: "transfer",
      info: { source: from.address.toBase58(), destination: to.address.toBase58(), authority: bob.publicKey.toBase58(), amount: "1500000000" },
    });
    const balance = await h.connection.getTokenAccountBalance(from.address);
    expect(balance.value).toEqual({ amount: "0", decimals: 9, uiAmount: 0, uiAmountString: "0" });
  });
});
