/**
 * Staking program instructions built by Anchor from the shipped IDL, with every account given explicitly
 * (accountsStrict), so building needs no RPC. Callers sign and send themselves.
 */
import { Program, type Provider } from "@coral-xyz/anchor";
import { Connection, PublicKey, SystemProgram, type TransactionInstruction } from "@solana/web3.js";
import BN from "bn.js";
import { rewardVaultPda, stakeVaultPda, stakePoolPda, stakingIdl, TOKEN_2022_PROGRAM_ID, userStakePda } from "./program.ts";

type Key = PublicKey | string;
const pk = (v: Key) => (typeof v === "string" ? new PublicKey(v) : v);
const bn = (v: bigint) => new BN(v.toString());

export interface StakingAddresses {
  programId: PublicKey;
  mint: PublicKey;
  pool: PublicKey;
  stakeVault: PublicKey;
  rewardVault: PublicKey;
}

export function stakingAddresses(programId: Key, mint: Key): StakingAddresses {
  const [pool] = stakePoolPda(programId, mint);
  return {
    programId: pk(programId),
    mint: pk(mint),
    pool,
    stakeVault: stakeVaultPda(programId, pool)[0],
    rewardVault: rewardVaultPda(programId, pool)[0],
  };
}

export interface UpdatePoolArgs {
  apyFree?: number;
  apyPro?: number;
  apyTeam?: number;
  apyEnterprise?: number;
  cooldownPeriod?: bigint;
  minStakeAmount?: bigint;
  isActive?: boolean;
}

export function createStakingInstructions(programId: Key, mint: Key) {
  const a = stakingAddresses(programId, mint);
  // Building instructions never touches the connection; Anchor only wants a provider-shaped object.
  const provider = { connection: new Connection("http://127.0.0.1:1") } as unknown as Provider;
  const program = new Program(stakingIdl(a.programId), provider);
  const method = (name: string) => {
    const build = program.methods[name];
    if (!build) throw new Error(`the staking IDL has no instruction ${name}`);
    return build;
  };
  const userStake = (user: Key) => userStakePda(a.programId, a.pool, user)[0];
  const opt = <T>(v: T | undefined, f: (x: T) => unknown = (x) => x) => (v === undefined ? null : f(v));

  return {
    addresses: a,
    userStake,
    initializePool(admin: Key): Promise<TransactionInstruction> {
      return method("initializePool")()
        .accountsStrict({
          admin: pk(admin),
          mint: a.mint,
          stakePool: a.pool,
          stakeVault: a.stakeVault,
          rewardVault: a.rewardVault,
          tokenProgram: TOKEN_2022_PROGRAM_ID,
          systemProgram: SystemProgram.programId,
        })
        .instruction();
    },
    stake(user: Key, userTokenAccount: Key, amount: bigint): Promise<TransactionInstruction> {
      return method("stake")(bn(amount))
        .accountsStrict({
          user: pk(user),
          stakePool: a.pool,
          userStake: userStake(user),
          userTokenAccount: pk(userTokenAccount),
          stakeVault: a.stakeVault,
          mint: a.mint,
          tokenProgram: TOKEN_2022_PROGRAM_ID,
          systemProgram: SystemProgram.programId,
        })
        .instruction();
    },
    unstake(user: Key, amount: bigint): Promise<TransactionInstruction> {
      return method("unstake")(bn(amount))
        .accountsStrict({ user: pk(user), stakePool: a.pool, userStake: userStake(user) })
        .instruction();
    },
    withdraw(user: Key, userTokenAccount: Key): Promise<TransactionInstruction> {
      return method("withdraw")()
        .accountsStrict({
          user: pk(user),
          stakePool: a.pool,
          userStake: userStake(user),
          userTokenAccount: pk(userTokenAccount),
          stakeVault: a.stakeVault,
          mint: a.mint,
          tokenProgram: TOKEN_2022_PROGRAM_ID,
        })
        .instruction();
    },
    claimRewards(user: Key, userTokenAccount: Key): Promise<TransactionInstruction> {
      return method("claimRewards")()
        .accountsStrict({
          user: pk(user),
          stakePool: a.pool,
          userStake: userStake(user),
          userTokenAccount: pk(userTokenAccount),
          rewardVault: a.rewardVault,
          mint: a.mint,
          tokenProgram: TOKEN_2022_PROGRAM_ID,
        })
        .instruction();
    },
    updatePool(admin: Key, args: UpdatePoolArgs): Promise<TransactionInstruction> {
      return method("updatePool")(
          opt(args.apyFree),
          opt(args.apyPro),
          opt(args.apyTeam),
          opt(args.apyEnterprise),
          opt(args.cooldownPeriod, bn),
          opt(args.minStakeAmount, bn),
          opt(args.isActive),
        )
        .accountsStrict({ admin: pk(admin), stakePool: a.pool })
        .instruction();
    },
    fundPool(admin: Key, adminTokenAccount: Key, amount: bigint): Promise<TransactionInstruction> {
      return method("fundPool")(bn(amount))
        .accountsStrict({
          admin: pk(admin),
          stakePool: a.pool,
          adminTokenAccount: pk(adminTokenAccount),
          rewardVault: a.rewardVault,
          mint: a.mint,
          tokenProgram: TOKEN_2022_PROGRAM_ID,
        })
        .instruction();
    },
  };
}

export type StakingInstructions = ReturnType<typeof createStakingInstructions>;
