/**
 * Staking from the outside, as a wallet would: real transactions built with the IDL, signed, and sent over
 * the local chain's JSON-RPC. Used by the end-to-end test and the freshness benchmark.
 */
import {
  createAssociatedTokenAccountIdempotentInstruction,
  createMintToInstruction,
  getAssociatedTokenAddressSync,
  TOKEN_2022_PROGRAM_ID,
} from "@solana/spl-token";
import { Connection, Keypair, PublicKey, Transaction, type TransactionInstruction } from "@solana/web3.js";
import { demoKeypair } from "../../localnet/demo-keys.ts";
import { createStakingInstructions } from "../../src/solana/instructions.ts";

export const KAMIYO = 10n ** 9n;

export interface StakeClient {
  connection: Connection;
  /** Signs with the first signer as fee payer and sends; resolves with the signature once the chain has it. */
  send(signers: Keypair[], ...ixs: TransactionInstruction[]): Promise<string>;
  /** SOL for fees and `kamiyo` base units of KAMIYO (minted by the demo admin) for a new wallet. */
  fund(user: Keypair, kamiyo: bigint): Promise<void>;
  stake(user: Keypair, amount: bigint): Promise<string>;
  unstake(user: Keypair, amount: bigint): Promise<string>;
  userStake(user: PublicKey | string): PublicKey;
}

export function createStakeClient(o: {
  rpcUrl: string;
  programId: string;
  kamiyoMint: string;
  /** Simulate before sending, so a failing transaction is an error here (default true). */
  preflight?: boolean;
}): StakeClient {
  const connection = new Connection(o.rpcUrl, { commitment: "confirmed" });
  const staking = createStakingInstructions(o.programId, o.kamiyoMint);
  const mint = new PublicKey(o.kamiyoMint);
  const admin = demoKeypair("admin");
  const ata = (owner: PublicKey) => getAssociatedTokenAddressSync(mint, owner, true, TOKEN_2022_PROGRAM_ID);
  let cached: { blockhash: string; at: number } | null = null;

  async function blockhash(): Promise<string> {
    // A blockhash stays valid for many seconds; fetching one per transaction would only add a round trip.
    if (!cached || Date.now() - cached.at > 5_000) {
      cached = { blockhash: (await connection.getLatestBlockhash("confirmed")).blockhash, at: Date.now() };
    }
    return cached.blockhash;
  }

  async function send(signers: Keypair[], ...ixs: TransactionInstruction[]): Promise<string> {
    const tx = new Transaction({ feePayer: signers[0]!.publicKey, recentBlockhash: await blockhash() });
    tx.add(...ixs).sign(...signers);
    return connection.sendRawTransaction(tx.serialize(), { skipPreflight: o.preflight === false });
  }

  return {
    connection,
    send,
    async fund(user, kamiyo) {
      await connection.requestAirdrop(user.publicKey, 1_000_000_000);
      const account = ata(user.publicKey);
      await send(
        [admin],
        createAssociatedTokenAccountIdempotentInstruction(admin.publicKey, account, user.publicKey, mint, TOKEN_2022_PROGRAM_ID),
        createMintToInstruction(mint, account, admin.publicKey, kamiyo, [], TOKEN_2022_PROGRAM_ID),
      );
    },
    async stake(user, amount) {
      return send([user], await staking.stake(user.publicKey, ata(user.publicKey), amount));
    },
    async unstake(user, amount) {
      return send([user], await staking.unstake(user.publicKey, amount));
    },
    userStake: (user) => staking.userStake(user),
  };
}
