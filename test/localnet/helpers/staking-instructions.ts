/** Staking instructions built by Anchor's `Program` from the shipped IDL, and readers for their logs. */
import { AnchorError } from "@coral-xyz/anchor";
import BN from "bn.js";
import { TOKEN_2022_PROGRAM_ID } from "@solana/spl-token";
import { SystemProgram, type Keypair, type PublicKey, type TransactionInstruction } from "@solana/web3.js";
import { eventCoder } from "../../../src/solana/program.ts";
import type { StakingHarness } from "./staking-harness.ts";

const bn = (v: bigint): BN => new BN(v.toString());

export function stakingInstructions(h: StakingHarness) {
  const methods = (name: string) => {
    const builder = h.program.methods[name];
    if (!builder) throw new Error(`IDL has no instruction ${name}`);
    return builder;
  };
  const common = { stakePool: h.stakePool, mint: h.mint, tokenProgram: TOKEN_2022_PROGRAM_ID };
  return {
    methods,
    initializePool: (admin: Keypair): Promise<TransactionInstruction> =>
      methods("initializePool")()
        .accounts({
          admin: admin.publicKey,
          ...common,
          stakeVault: h.stakeVault,
          rewardVault: h.rewardVault,
          systemProgram: SystemProgram.programId,
        })
        .instruction(),
    stakeAccounts: (user: Keypair, userTokenAccount: PublicKey) => ({
      user: user.publicKey,
      ...common,
      userStake: h.userStake(user.publicKey),
      userTokenAccount,
      stakeVault: h.stakeVault,
      systemProgram: SystemProgram.programId,
    }),
    stake(user: Keypair, userTokenAccount: PublicKey, amount: bigint): Promise<TransactionInstruction> {
      return methods("stake")(bn(amount)).accounts(this.stakeAccounts(user, userTokenAccount)).instruction();
    },
    unstake: (user: Keypair, amount: bigint): Promise<TransactionInstruction> =>
      methods("unstake")(bn(amount))
        .accounts({ user: user.publicKey, stakePool: h.stakePool, userStake: h.userStake(user.publicKey) })
        .instruction(),
    withdraw: (user: Keypair, userTokenAccount: PublicKey): Promise<TransactionInstruction> =>
      methods("withdraw")()
        .accounts({
          user: user.publicKey,
          ...common,
          userStake: h.userStake(user.publicKey),
          userTokenAccount,
          stakeVault: h.stakeVault,
        })
        .instruction(),
    claimRewards: (user: Keypair, userTokenAccount: PublicKey): Promise<TransactionInstruction> =>
      methods("claimRewards")()
        .accounts({
          user: user.publicKey,
          ...common,
          userStake: h.userStake(user.publicKey),
          userTokenAccount,
          rewardVault: h.rewardVault,
        })
        .instruction(),
    fundPool: (admin: Keypair, adminTokenAccount: PublicKey, amount: bigint): Promise<TransactionInstruction> =>
      methods("fundPool")(bn(amount))
        .accounts({ admin: admin.publicKey, ...common, adminTokenAccount, rewardVault: h.rewardVault })
        .instruction(),
    updatePool: (
      admin: Keypair,
      changes: {
        apyFree?: number;
        apyPro?: number;
        apyTeam?: number;
        apyEnterprise?: number;
        cooldownPeriod?: bigint;
        minStakeAmount?: bigint;
        isActive?: boolean;
      },
    ): Promise<TransactionInstruction> =>
      methods("updatePool")(
          changes.apyFree ?? null,
          changes.apyPro ?? null,
          changes.apyTeam ?? null,
          changes.apyEnterprise ?? null,
          changes.cooldownPeriod === undefined ? null : bn(changes.cooldownPeriod),
          changes.minStakeAmount === undefined ? null : bn(changes.minStakeAmount),
          changes.isActive ?? null,
        )
        .accounts({ admin: admin.publicKey, stakePool: h.stakePool })
        .instruction(),
  };
}

export interface DecodedEvent {
  name: string;
  data: Record<string, unknown>;
}

/** Every `emit!` payload in the logs, decoded by Anchor's event coder. */
export function events(logs: string[]): DecodedEvent[] {
  const out: DecodedEvent[] = [];
  for (const line of logs) {
    if (!line.startsWith("Program data: ")) continue;
    const decoded = eventCoder.decode(line.slice("Program data: ".length));
    if (decoded) out.push({ name: decoded.name, data: decoded.data as Record<string, unknown> });
  }
  return out;
}

/** The single event named `name`, with BN fields as bigint, keys as base58 and enums as their variant name. */
export function event(logs: string[], name: string): Record<string, unknown> {
  const matching = events(logs).filter((e) => e.name === name);
  if (matching.length !== 1) throw new Error(`expected one ${name}, found ${matching.length}`);
  const plain: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(matching[0]!.data)) {
    if (BN.isBN(value)) plain[key] = BigInt(value.toString());
    else if (value && typeof value === "object" && "toBase58" in value) plain[key] = (value as PublicKey).toBase58();
    else if (value && typeof value === "object") plain[key] = Object.keys(value)[0];
    else plain[key] = value;
  }
  return plain;
}

/** What `AnchorError.parse` reads from the logs: code number, name, and where the error came from. */
export function anchorError(logs: string[]): { number: number; code: string; origin: unknown; compared: unknown } {
  const parsed = AnchorError.parse(logs);
  if (!parsed) throw new Error(`no AnchorError in logs:\n${logs.join("\n")}`);
  return {
    number: parsed.error.errorCode.number,
    code: parsed.error.errorCode.code,
    origin: parsed.error.origin,
    compared: parsed.error.comparedValues?.map((v) => (typeof v === "string" ? v : v.toBase58())),
  };
}
