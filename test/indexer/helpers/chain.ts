/**
 * The local chain for indexer tests: started with the demo pool on free ports, reached over real JSON-RPC and
 * websockets; stakers funded in-process (setup only), stake transactions sent over HTTP.
 */
import { loadLocalnetConfig } from "../../../localnet/demo-env.ts";
import { TOKEN_2022_PROGRAM_ID } from "@solana/spl-token";
import { Keypair, Transaction, type TransactionInstruction } from "@solana/web3.js";
import { type Config } from "../../../src/config.ts";
import type { DemoSeed } from "../../../localnet/seed-demo.ts";
import { createStakingInstructions, type StakingInstructions } from "../../../src/solana/instructions.ts";
import { decodeUserStake } from "../../../src/solana/accounts.ts";
import { startTestLocalnet, type SeededTestLocalnet } from "../../kit/localnet.ts";

export interface TestChain {
  net: SeededTestLocalnet;
  seed: DemoSeed;
  config: Config;
  staking: StakingInstructions;
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  close(): Promise<void>;
}

export async function startTestChain(options: { slotMs?: number; env?: Record<string, string> } = {}): Promise<TestChain> {
  const net = await startTestLocalnet({ slotMs: options.slotMs ?? 50 });
  const seed = net.seed;
  const config = loadLocalnetConfig({ LOG_LEVEL: "silent", ...net.env, ...options.env });
  return {
    net,
    seed,
    config,
    staking: createStakingInstructions(config.solana.programId, seed.kamiyoMint),
    rpc: net.call,
    close: () => net.close(),
  };
}

export interface Staker {
  keypair: Keypair;
  wallet: string;
  tokenAccount: string;
}

/** Wallets with SOL and KAMIYO (Token-2022), made in-process: setup, not the workload under test. */
export function createStakers(chain: TestChain, count: number, kamiyo: bigint): Staker[] {
  const out: Staker[] = [];
  for (let i = 0; i < count; i++) {
    const keypair = Keypair.generate();
    const wallet = keypair.publicKey.toBase58();
    chain.net.chain.requestAirdrop(wallet, 10n ** 10n);
    const tokenAccount = chain.net.chain.setTokenAccount(
      wallet,
      chain.seed.kamiyoMint,
      { amount: kamiyo },
      TOKEN_2022_PROGRAM_ID.toBase58(),
    );
    out.push({ keypair, wallet, tokenAccount });
  }
  return out;
}

/** Signs and sends over JSON-RPC; returns the signature. Preflight failures throw RpcFailure. */
export async function sendTx(
  chain: TestChain,
  signer: Keypair,
  ixs: TransactionInstruction[],
  options: { skipPreflight?: boolean } = {},
): Promise<string> {
  const { blockhash } = chain.net.chain.latestBlockhash();
  const tx = new Transaction({ feePayer: signer.publicKey, recentBlockhash: blockhash }).add(...ixs);
  tx.sign(signer);
  return chain.rpc<string>("sendTransaction", [
    tx.serialize().toString("base64"),
    { encoding: "base64", skipPreflight: options.skipPreflight ?? false, preflightCommitment: "confirmed" },
  ]);
}

/** getTransaction JSON, as a raw Helius webhook element carries it. */
export function getTransactionJson(chain: TestChain, signature: string): Promise<Record<string, unknown>> {
  return chain.rpc("getTransaction", [signature, { encoding: "json", commitment: "confirmed", maxSupportedTransactionVersion: 0 }]);
}

/** Every UserStake of the pool as the chain has it now, decoded by Anchor's coder. */
export function chainStakes(chain: TestChain, pool: string): Map<string, ReturnType<typeof decodeUserStake>> {
  const out = new Map<string, ReturnType<typeof decodeUserStake>>();
  for (const { pubkey, account } of chain.net.chain.getProgramAccounts(chain.config.solana.programId)) {
    if (account.data.length !== 147) continue;
    try {
      const s = decodeUserStake(account.data);
      if (s.pool === pool) out.set(pubkey, s);
    } catch {
      // not a UserStake
    }
  }
  return out;
}

export interface StakeRowView {
  address: string;
  owner: string;
  staked_amount: bigint;
  cooldown_amount: bigint;
  cooldown_end: bigint | null;
  effective_stake: bigint;
  discount_tier: string;
  closed: boolean;
}

/**
 * Differences between the table and the chain: every UserStake on chain must have an equal live row, and
 * every other row must be closed with stake 0. Effective stake and tier are recomputed here from the
 * decoded account with the configured tier table.
 */
export function diffTableAgainstChain(
  rows: StakeRowView[],
  onChain: Map<string, ReturnType<typeof decodeUserStake>>,
  tiersFor: (effective: bigint) => string,
): string[] {
  const problems: string[] = [];
  const byAddress = new Map(rows.map((r) => [r.address, r]));
  for (const [address, s] of onChain) {
    const row = byAddress.get(address);
    if (!row) {
      problems.push(`${address}: on chain, no row`);
      continue;
    }
    const effective = s.cooldownEnd === null ? s.stakedAmount : s.stakedAmount - s.cooldownAmount;
    const expected = {
      owner: s.owner,
      staked_amount: s.stakedAmount,
      cooldown_amount: s.cooldownAmount,
      cooldown_end: s.cooldownEnd,
      effective_stake: effective,
      discount_tier: tiersFor(effective),
      closed: false,
    };
    const actual = {
      owner: row.owner,
      staked_amount: row.staked_amount,
      cooldown_amount: row.cooldown_amount,
      cooldown_end: row.cooldown_end,
      effective_stake: row.effective_stake,
      discount_tier: row.discount_tier,
      closed: row.closed,
    };
    for (const key of Object.keys(expected) as (keyof typeof expected)[]) {
      if (expected[key] !== actual[key]) problems.push(`${address}: ${key} is ${actual[key]}, chain says ${expected[key]}`);
    }
  }
  for (const row of rows) {
    if (onChain.has(row.address)) continue;
    if (!row.closed || row.effective_stake !== 0n || row.staked_amount !== 0n) problems.push(`${row.address}: not on chain but not closed`);
  }
  return problems;
}
