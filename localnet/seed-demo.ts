/**
 * `localnet --seed-demo`: a KAMIYO mint (Token-2022, 9 decimals), a USDC mint (SPL Token, 6 decimals) at
 * devnet's canonical USDC address, the staking pool, and stakers in every discount tier (one in cooldown),
 * made with real transactions. The USDC mint is the one account written through the chain's account setter:
 * nobody holds devnet USDC's key, and stock x402 clients pay only that address without configuration.
 *
 * An operator rehearsing production passes its own pool admin (and payTo): the pool is initialised by that
 * key, which also becomes the USDC mint authority and holds the buyback's USDC.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  createAssociatedTokenAccountIdempotentInstruction,
  createInitializeMint2Instruction,
  createMintToInstruction,
  getAssociatedTokenAddressSync,
  MINT_SIZE,
  MintLayout,
  TOKEN_2022_PROGRAM_ID,
  TOKEN_PROGRAM_ID,
} from "@solana/spl-token";
import { Keypair, PublicKey, SystemProgram, Transaction, type TransactionInstruction } from "@solana/web3.js";
import { USDC_MINT_BY_CLUSTER } from "../src/config.ts";
import { createStakingInstructions } from "../src/solana/instructions.ts";
import type { Chain } from "./chain.ts";
import { demoKeypair } from "./demo-keys.ts";

const KAMIYO = 10n ** 9n;
const USDC = 10n ** 6n;
const SOL = 1_000_000_000n;

export interface DemoStakerPlan {
  name: string;
  stake: bigint;
  /** Amount put into cooldown with `unstake` after staking. */
  unstake?: bigint;
}

/** One staker per discount tier, one below the first tier, one in cooldown, and a non-staker. */
export const DEMO_STAKERS: readonly DemoStakerPlan[] = [
  { name: "silver", stake: 150_000n * KAMIYO },
  { name: "gold", stake: 600_000n * KAMIYO },
  { name: "platinum", stake: 1_500_000n * KAMIYO },
  { name: "small", stake: 1_000n * KAMIYO },
  { name: "cooldown", stake: 600_000n * KAMIYO, unstake: 550_000n * KAMIYO },
  { name: "nonstaker", stake: 0n },
];

export interface DemoWallet {
  name: string;
  address: string;
  staked: bigint;
  cooldown: bigint;
  keypairPath: string;
}

export interface DemoSeed {
  programId: string;
  kamiyoMint: string;
  usdcMint: string;
  pool: string;
  admin: string;
  payTo: string;
  facilitator: string;
  wallets: DemoWallet[];
  walletsDir: string;
}

export interface SeedDemoOptions {
  programId: string;
  stateDir: string;
  /** The pool admin (default the demo admin): initialises the pool, mints the demo tokens, holds the buyback's USDC. */
  admin?: Keypair;
  /** The wallet x402 payments go to (default the demo payTo); its USDC account is created. */
  payTo?: PublicKey;
}

/** Writes an initialised SPL Token mint at `address` (no key needed), `authority` minting. */
export function writeMint(chain: Chain, address: string, decimals: number, authority: PublicKey): void {
  const data = Buffer.alloc(MINT_SIZE);
  MintLayout.encode(
    { mintAuthorityOption: 1, mintAuthority: authority, supply: 0n, decimals, isInitialized: true, freezeAuthorityOption: 0, freezeAuthority: PublicKey.default },
    data,
  );
  chain.setAccount(address, {
    lamports: chain.minimumBalanceForRentExemption(MINT_SIZE),
    data,
    owner: TOKEN_PROGRAM_ID.toBase58(),
    executable: false,
    rentEpoch: 0n,
  });
}

export async function seedDemo(chain: Chain, options: SeedDemoOptions): Promise<DemoSeed> {
  const admin = options.admin ?? demoKeypair("admin");
  const kamiyoMint = demoKeypair("kamiyoMint");
  const usdcMint = { publicKey: new PublicKey(USDC_MINT_BY_CLUSTER.devnet) };
  const payTo = options.payTo ? { publicKey: options.payTo } : demoKeypair("payTo");
  const facilitator = demoKeypair("facilitator");
  const liquidity = demoKeypair("jupiterLiquidity");
  const staking = createStakingInstructions(options.programId, kamiyoMint.publicKey);

  const send = (signers: Keypair[], ...ixs: TransactionInstruction[]) => {
    const tx = new Transaction({ feePayer: signers[0]!.publicKey, recentBlockhash: chain.latestBlockhash().blockhash });
    tx.add(...ixs).sign(...signers);
    return chain.sendTransaction(tx.serialize(), { skipPreflight: false });
  };
  const ata = (owner: PublicKey, mint: PublicKey, program: PublicKey) =>
    getAssociatedTokenAddressSync(mint, owner, true, program);
  const fundTokens = (owner: PublicKey, mint: { publicKey: PublicKey }, program: PublicKey, amount: bigint) => {
    const account = ata(owner, mint.publicKey, program);
    const ixs: TransactionInstruction[] = [
      createAssociatedTokenAccountIdempotentInstruction(admin.publicKey, account, owner, mint.publicKey, program),
    ];
    if (amount > 0n) ixs.push(createMintToInstruction(mint.publicKey, account, admin.publicKey, amount, [], program));
    send([admin], ...ixs);
    return account;
  };
  const createMint = (mint: Keypair, decimals: number, program: PublicKey) =>
    send(
      [admin, mint],
      SystemProgram.createAccount({
        fromPubkey: admin.publicKey,
        newAccountPubkey: mint.publicKey,
        lamports: Number(chain.minimumBalanceForRentExemption(MINT_SIZE)),
        space: MINT_SIZE,
        programId: program,
      }),
      createInitializeMint2Instruction(mint.publicKey, decimals, admin.publicKey, null, program),
    );

  for (const k of [admin, payTo, facilitator, liquidity]) chain.requestAirdrop(k.publicKey.toBase58(), 1000n * SOL);
  createMint(kamiyoMint, 9, TOKEN_2022_PROGRAM_ID);
  writeMint(chain, usdcMint.publicKey.toBase58(), 6, admin.publicKey);
  send([admin], await staking.initializePool(admin.publicKey));

  fundTokens(admin.publicKey, kamiyoMint, TOKEN_2022_PROGRAM_ID, 0n);
  // The buyback spends the admin's USDC (revenue reaches payTo; moving it to the admin is treasury work).
  fundTokens(admin.publicKey, usdcMint, TOKEN_PROGRAM_ID, 10_000n * USDC);
  fundTokens(payTo.publicKey, usdcMint, TOKEN_PROGRAM_ID, 0n);
  fundTokens(liquidity.publicKey, kamiyoMint, TOKEN_2022_PROGRAM_ID, 100_000_000n * KAMIYO);
  fundTokens(liquidity.publicKey, usdcMint, TOKEN_PROGRAM_ID, 1_000_000n * USDC);

  const walletsDir = join(options.stateDir, "wallets");
  await mkdir(walletsDir, { recursive: true });
  const save = async (name: string, k: Keypair) => {
    const path = join(walletsDir, `${name}.json`);
    await writeFile(path, JSON.stringify([...k.secretKey]), { mode: 0o600 });
    return path;
  };
  if (!options.admin) await save("admin", admin);
  await save("facilitator", facilitator);
  if (!options.payTo) await save("payTo", payTo as Keypair);
  await save("jupiterLiquidity", liquidity);

  const wallets: DemoWallet[] = [];
  for (const plan of DEMO_STAKERS) {
    const user = demoKeypair(`staker-${plan.name}`);
    chain.requestAirdrop(user.publicKey.toBase58(), 10n * SOL);
    const kamiyoAccount = fundTokens(user.publicKey, kamiyoMint, TOKEN_2022_PROGRAM_ID, plan.stake + 10_000n * KAMIYO);
    fundTokens(user.publicKey, usdcMint, TOKEN_PROGRAM_ID, 1_000n * USDC);
    if (plan.stake > 0n) send([user], await staking.stake(user.publicKey, kamiyoAccount, plan.stake));
    if (plan.unstake) send([user], await staking.unstake(user.publicKey, plan.unstake));
    wallets.push({
      name: plan.name,
      address: user.publicKey.toBase58(),
      staked: plan.stake,
      cooldown: plan.unstake ?? 0n,
      keypairPath: await save(`staker-${plan.name}`, user),
    });
  }
  return {
    programId: options.programId,
    kamiyoMint: kamiyoMint.publicKey.toBase58(),
    usdcMint: usdcMint.publicKey.toBase58(),
    pool: staking.addresses.pool.toBase58(),
    admin: admin.publicKey.toBase58(),
    payTo: payTo.publicKey.toBase58(),
    facilitator: facilitator.publicKey.toBase58(),
    wallets,
    walletsDir,
  };
}
