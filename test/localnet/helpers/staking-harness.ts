/**
 * An in-process chain hosting the staking model, a Token-2022 KAMIYO mint (9 decimals, no extensions) and
 * helpers to send real signed transactions and read accounts back, for staking-model.test.ts.
 */
import { AnchorProvider, Program, type Idl } from "@coral-xyz/anchor";
import {
  createAssociatedTokenAccountIdempotentInstruction,
  createInitializeMint2Instruction,
  createMintToInstruction,
  getAssociatedTokenAddressSync,
  MINT_SIZE,
  TOKEN_2022_PROGRAM_ID,
  unpackAccount,
} from "@solana/spl-token";
import {
  Connection,
  Keypair,
  LAMPORTS_PER_SOL,
  PublicKey,
  SystemProgram,
  Transaction,
  type TransactionInstruction,
} from "@solana/web3.js";
import { createChain, type Chain } from "../../../localnet/chain.ts";
import { createStakingModel } from "../../../localnet/staking-model/index.ts";
import { RpcError, type AccountState, type TransactionErrorJson } from "../../../localnet/types.ts";
import { rewardVaultPda, stakePoolPda, stakeVaultPda, stakingIdl, userStakePda } from "../../../src/solana/program.ts";

export const KAMIYO = 1_000_000_000n;

export interface Sent {
  signature: string;
  logs: string[];
}

export interface Failed {
  err: TransactionErrorJson;
  logs: string[];
}

export interface StakingHarness {
  chain: Chain;
  programId: PublicKey;
  program: Program<Idl>;
  mint: PublicKey;
  mintAuthority: Keypair;
  stakePool: PublicKey;
  stakeVault: PublicKey;
  rewardVault: PublicKey;
  /** A funded wallet. */
  wallet(): Keypair;
  /** The owner's Token-2022 associated token account, created, holding `amount`. */
  tokenAccount(owner: Keypair, amount: bigint): Promise<PublicKey>;
  userStake(user: PublicKey): PublicKey;
  /** Signs (the first signer pays) and lands the transaction with preflight; throws on failure. */
  send(instructions: TransactionInstruction[], signers: Keypair[]): Sent;
  /** Sends with preflight and returns the failure; throws if the transaction succeeds. */
  fail(instructions: TransactionInstruction[], signers: Keypair[]): Failed;
  /** Lands the transaction without preflight (a failure is recorded on chain) and returns its record's logs. */
  land(instructions: TransactionInstruction[], signers: Keypair[]): { signature: string; err: TransactionErrorJson | null; logs: string[] };
  account(key: PublicKey): AccountState | null;
  balance(tokenAccount: PublicKey): bigint;
  /** Moves the chain clock to `unixSeconds` (time travel). */
  setTime(unixSeconds: bigint): void;
  now(): bigint;
  close(): void;
}

export async function startStakingHarness(): Promise<StakingHarness> {
  const programId = Keypair.generate().publicKey;
  const chain = createChain({ slotMs: 0, models: [createStakingModel({ programId: programId.toBase58() })] });
  // The provider is only there to satisfy Program; every builder below passes all accounts, so nothing is fetched.
  const connection = new Connection("http://127.0.0.1:9");
  const providerWallet = Keypair.generate();
  const provider = new AnchorProvider(
    connection,
    {
      publicKey: providerWallet.publicKey,
      signTransaction: async (tx) => tx,
      signAllTransactions: async (txs) => txs,
    },
    {},
  );
  const program = new Program(stakingIdl(programId), provider);

  const wallet = (): Keypair => {
    const kp = Keypair.generate();
    chain.setAccount(kp.publicKey.toBase58(), { lamports: BigInt(100 * LAMPORTS_PER_SOL) });
    return kp;
  };

  const land = (instructions: TransactionInstruction[], signers: Keypair[], skipPreflight: boolean): string => {
    // A fresh blockhash per transaction keeps identical instructions from colliding as AlreadyProcessed.
    chain.advanceSlots(1);
    const [payer] = signers;
    if (!payer) throw new Error("a transaction needs a fee payer");
    const tx = new Transaction({ feePayer: payer.publicKey, recentBlockhash: chain.latestBlockhash().blockhash });
    tx.add(...instructions);
    tx.sign(...signers);
    return chain.sendTransaction(tx.serialize(), { skipPreflight });
  };

  const mintAuthority = wallet();
  const mintKeypair = Keypair.generate();
  const mint = mintKeypair.publicKey;
  land(
    [
      SystemProgram.createAccount({
        fromPubkey: mintAuthority.publicKey,
        newAccountPubkey: mint,
        lamports: Number(chain.minimumBalanceForRentExemption(MINT_SIZE)),
        space: MINT_SIZE,
        programId: TOKEN_2022_PROGRAM_ID,
      }),
      createInitializeMint2Instruction(mint, 9, mintAuthority.publicKey, null, TOKEN_2022_PROGRAM_ID),
    ],
    [mintAuthority, mintKeypair],
    false,
  );

  const [stakePool] = stakePoolPda(programId, mint);
  const harness: StakingHarness = {
    chain,
    programId,
    program,
    mint,
    mintAuthority,
    stakePool,
    stakeVault: stakeVaultPda(programId, stakePool)[0],
    rewardVault: rewardVaultPda(programId, stakePool)[0],
    wallet,
    async tokenAccount(owner, amount) {
      const ata = getAssociatedTokenAddressSync(mint, owner.publicKey, false, TOKEN_2022_PROGRAM_ID);
      const instructions = [
        createAssociatedTokenAccountIdempotentInstruction(
          mintAuthority.publicKey,
          ata,
          owner.publicKey,
          mint,
          TOKEN_2022_PROGRAM_ID,
        ),
      ];
      if (amount > 0n) {
        instructions.push(createMintToInstruction(mint, ata, mintAuthority.publicKey, amount, [], TOKEN_2022_PROGRAM_ID));
      }
      land(instructions, [mintAuthority], false);
      return ata;
    },
    userStake: (user) => userStakePda(programId, stakePool, user)[0],
    send(instructions, signers) {
      const signature = land(instructions, signers, false);
      const record = chain.getTransaction(signature);
      if (!record) throw new Error(`transaction ${signature} did not land`);
      return { signature, logs: record.logMessages };
    },
    fail(instructions, signers) {
      try {
        land(instructions, signers, false);
      } catch (err) {
        if (!(err instanceof RpcError)) throw err;
        const data = err.data as { err: TransactionErrorJson; logs: string[] };
        return { err: data.err, logs: data.logs };
      }
      throw new Error("transaction unexpectedly succeeded");
    },
    land(instructions, signers) {
      const signature = land(instructions, signers, true);
      const record = chain.getTransaction(signature);
      if (!record) throw new Error(`transaction ${signature} did not land`);
      return { signature, err: record.err, logs: record.logMessages };
    },
    account: (key) => chain.getAccount(key.toBase58()),
    balance(tokenAccount) {
      const account = chain.getAccount(tokenAccount.toBase58());
      if (!account) throw new Error(`no token account ${tokenAccount.toBase58()}`);
      const info = {
        data: Buffer.from(account.data),
        owner: new PublicKey(account.owner),
        lamports: Number(account.lamports),
        executable: account.executable,
      };
      return unpackAccount(tokenAccount, info, TOKEN_2022_PROGRAM_ID).amount;
    },
    setTime(unixSeconds) {
      chain.timeTravel({ absoluteTimestamp: unixSeconds * 1000n });
    },
    now: () => chain.clock().unixTimestamp,
    close: () => chain.close(),
  };
  return harness;
}
