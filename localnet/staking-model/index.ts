/**
 * A TypeScript model of the KAMIYO staking program (Anchor 0.30.1, docs/staking-program.md) for the local
 * chain: same dispatch, account validation order, checks, account bytes, events, logs and error codes, with
 * token movements and account creation as real CPIs into LiteSVM's System and Token-2022 programs.
 */
import { PublicKey } from "@solana/web3.js";
import type { ModelContext, ModelInstruction, ProgramModel } from "../types.ts";
import { AnchorFailure, ProgramFailure, reportFailure } from "./anchor-errors.ts";
import { instructionArgs, selectInstruction, type RawArgs } from "./args.ts";
import { claimRewards } from "./instructions/claim-rewards.ts";
import { fundPool } from "./instructions/fund-pool.ts";
import { initializePool } from "./instructions/initialize-pool.ts";
import { stake } from "./instructions/stake.ts";
import { unstake } from "./instructions/unstake.ts";
import { updatePool } from "./instructions/update-pool.ts";
import { withdraw } from "./instructions/withdraw.ts";
import type { Env } from "./validation.ts";

type Handler = (env: Env, args: RawArgs) => void;

/** By IDL instruction name. */
const HANDLERS: Readonly<Record<string, Handler>> = {
  initialize_pool: (env) => initializePool(env),
  stake,
  unstake,
  withdraw: (env) => withdraw(env),
  claim_rewards: (env) => claimRewards(env),
  update_pool: updatePool,
  fund_pool: fundPool,
};

/** Anchor's log name: the method name in UpperCamelCase ("claim_rewards" -> "ClaimRewards"). */
function logName(name: string): string {
  return name.replace(/(^|_)([a-z])/g, (_m, _sep: string, c: string) => c.toUpperCase());
}

function run(programId: string, ix: ModelInstruction, ctx: ModelContext): void {
  const name = selectInstruction(ix.data);
  const handler = HANDLERS[name];
  if (!handler) throw new Error(`IDL instruction ${name} has no handler`);
  ctx.log(`Instruction: ${logName(name)}`);
  const args = instructionArgs(name, ix.data);
  handler({ ctx, programId, accounts: ix.accounts }, args);
}

export function createStakingModel(options: { programId: string }): ProgramModel {
  const programId = new PublicKey(options.programId).toBase58();
  return {
    programId,
    execute(ix: ModelInstruction, ctx: ModelContext): void {
      try {
        run(programId, ix, ctx);
      } catch (err) {
        // A failed CPI aborts the program where it stands: its error passes through without an Anchor log.
        if (err instanceof AnchorFailure || err instanceof ProgramFailure) throw reportFailure(ctx, err);
        throw err;
      }
    },
  };
}
