/**
 * A model of the Jupiter v6 program for the local chain, reduced to what the double's swaps use: `route`
 * (move the input to the liquidity wallet and the output back through its delegated authority) and the
 * slippage guard, both failing with SlippageToleranceExceeded (6001) when the user got less than the minimum.
 */
import { createHash } from "node:crypto";
import { createTransferInstruction } from "@solana/spl-token";
import { PublicKey, TransactionInstruction } from "@solana/web3.js";
import { ModelInstructionError, type ModelContext, type ModelInstruction, type ProgramModel } from "./types.ts";

export const JUPITER_V6_PROGRAM_ID = "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4";
export const SLIPPAGE_TOLERANCE_EXCEEDED = 6001;
const GUARD_DISCRIMINATOR = createHash("sha256").update("global:slippage_guard").digest().subarray(0, 8);
export const ROUTE_DISCRIMINATOR = createHash("sha256").update("global:route").digest().subarray(0, 8);
/** The program-derived authority the liquidity wallet's token accounts are delegated to. */
export const LIQUIDITY_AUTHORITY = PublicKey.findProgramAddressSync([Buffer.from("liquidity-authority")], new PublicKey(JUPITER_V6_PROGRAM_ID))[0];
export const TOKEN_AMOUNT_OFFSET = 64;


/**
 * The Jupiter program, reduced to its slippage check: accounts [destination token account], data
 * [discriminator, min_balance u64 LE]. Fails with 6001 when the destination holds less than min_balance.
 */
const tokenAmount = (ctx: ModelContext, address: string): bigint => {
  const account = ctx.getAccount(address);
  if (!account || account.data.length < TOKEN_AMOUNT_OFFSET + 8) throw new ModelInstructionError("InvalidAccountData");
  return Buffer.from(account.data).readBigUInt64LE(TOKEN_AMOUNT_OFFSET);
};

/**
 * route: accounts [user (signer), userIn, liqIn, liqOut, userOut, authority, inProgram, outProgram], data
 * [discriminator, in u64, out u64, min_out u64]. Moves `in` from the user, `out` to the user (the authority
 * signing by seeds), then fails with 6001 when the user's output account grew by less than min_out.
 */
function executeRoute(ix: ModelInstruction, ctx: ModelContext): void {
  const data = Buffer.from(ix.data);
  if (data.length !== 32) throw new ModelInstructionError("InvalidInstructionData");
  const [user, userIn, liqIn, liqOut, userOut, authority, inProgram, outProgram] = ix.accounts;
  if (!user || !userIn || !liqIn || !liqOut || !userOut || !authority || !inProgram || !outProgram) throw new ModelInstructionError("NotEnoughAccountKeys");
  if (authority.pubkey !== LIQUIDITY_AUTHORITY.toBase58()) throw new ModelInstructionError("InvalidSeeds");
  const amountIn = data.readBigUInt64LE(8);
  const amountOut = data.readBigUInt64LE(16);
  const minOut = data.readBigUInt64LE(24);
  const before = tokenAmount(ctx, userOut.pubkey);
  ctx.consume(20_000);
  const transfer = (program: string, from: string, to: string, owner: string, amount: bigint, pda: string[]) => {
    const t = createTransferInstruction(new PublicKey(from), new PublicKey(to), new PublicKey(owner), amount, [], new PublicKey(program));
    ctx.invoke({ programId: program, accounts: t.keys.map((k) => ({ pubkey: k.pubkey.toBase58(), isSigner: k.isSigner, isWritable: k.isWritable })), data: Uint8Array.from(t.data) }, pda);
  };
  transfer(inProgram.pubkey, userIn.pubkey, liqIn.pubkey, user.pubkey, amountIn, []);
  transfer(outProgram.pubkey, liqOut.pubkey, userOut.pubkey, authority.pubkey, amountOut, [authority.pubkey]);
  if (tokenAmount(ctx, userOut.pubkey) - before < minOut) {
    ctx.log("AnchorError occurred. Error Code: SlippageToleranceExceeded. Error Number: 6001. Error Message: Slippage tolerance exceeded.");
    throw new ModelInstructionError({ Custom: SLIPPAGE_TOLERANCE_EXCEEDED });
  }
}

export function createJupiterGuardModel(): ProgramModel {
  return {
    programId: JUPITER_V6_PROGRAM_ID,
    execute(ix: ModelInstruction, ctx: ModelContext): void {
      if (Buffer.from(ix.data).subarray(0, 8).equals(ROUTE_DISCRIMINATOR)) {
        executeRoute(ix, ctx);
        return;
      }
      const data = Buffer.from(ix.data);
      if (data.length !== 16 || !data.subarray(0, 8).equals(GUARD_DISCRIMINATOR)) throw new ModelInstructionError("InvalidInstructionData");
      const destination = ix.accounts[0];
      if (!destination) throw new ModelInstructionError("NotEnoughAccountKeys");
      const account = ctx.getAccount(destination.pubkey);
      if (!account || account.data.length < TOKEN_AMOUNT_OFFSET + 8) throw new ModelInstructionError("InvalidAccountData");
      const balance = Buffer.from(account.data).readBigUInt64LE(TOKEN_AMOUNT_OFFSET);
      const minimum = data.readBigUInt64LE(8);
      ctx.consume(1_500);
      if (balance < minimum) {
        ctx.log("AnchorError occurred. Error Code: SlippageToleranceExceeded. Error Number: 6001. Error Message: Slippage tolerance exceeded.");
        throw new ModelInstructionError({ Custom: SLIPPAGE_TOLERANCE_EXCEEDED });
      }
    },
  };
}

export function guardInstruction(destination: PublicKey, minimum: bigint): TransactionInstruction {
  const data = Buffer.alloc(16);
  GUARD_DISCRIMINATOR.copy(data, 0);
  data.writeBigUInt64LE(minimum, 8);
  return new TransactionInstruction({
    programId: new PublicKey(JUPITER_V6_PROGRAM_ID),
    keys: [{ pubkey: destination, isSigner: false, isWritable: false }],
    data,
  });
}
