/**
 * The admin key signs only a swap it understands. The swap is assembled here from Jupiter's instructions
 * (never a server-built transaction), then checked before it is stored or sent:
 *   - statically: every top-level program is allow-listed (compute budget, the token programs, associated
 *     token accounts, the Jupiter aggregator); token-program instructions at top level are limited to
 *     SyncNative and closing into the admin; nobody but the admin signs;
 *   - by simulation, against the admin's own accounts before and after: its USDC goes down by at most the
 *     allocation, its KAMIYO goes up by at least the quote's threshold, no other token account of the admin
 *     loses anything or changes owner, delegate or close authority, and its SOL pays at most fees and rent.
 * A failed check is a PipelineHalt (the run fails and alerts); nothing is stored, signed for the chain or sent.
 */
import {
  AccountLayout,
  ACCOUNT_SIZE,
  ASSOCIATED_TOKEN_PROGRAM_ID,
  getAssociatedTokenAddressSync,
  TOKEN_2022_PROGRAM_ID,
  TOKEN_PROGRAM_ID,
} from "@solana/spl-token";
import {
  ComputeBudgetProgram,
  TransactionMessage,
  VersionedTransaction,
  type AddressLookupTableAccount,
  type Connection,
  PublicKey,
  type Keypair,
  type TransactionInstruction,
} from "@solana/web3.js";
import { PipelineHalt, RetryableStepError } from "./errors.ts";
import type { SwapInstructions } from "./jupiter.ts";

/** Jupiter aggregator v6. */
export const JUPITER_AGGREGATOR_ID = "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4";
/** What the admin's SOL may pay for one swap: signature and priority fees and the rent of a new token account. */
export const MAX_SWAP_SOL_COST = 10_000_000n;

export const SWAP_PROGRAMS: ReadonlyMap<string, string> = new Map([
  [ComputeBudgetProgram.programId.toBase58(), "compute budget"],
  [TOKEN_PROGRAM_ID.toBase58(), "SPL Token"],
  [TOKEN_2022_PROGRAM_ID.toBase58(), "Token-2022"],
  [ASSOCIATED_TOKEN_PROGRAM_ID.toBase58(), "associated token account"],
  [JUPITER_AGGREGATOR_ID, "Jupiter aggregator"],
]);

const TOKEN_SYNC_NATIVE = 17;
const TOKEN_CLOSE_ACCOUNT = 9;
const refuse = (why: string): never => {
  throw new PipelineHalt("bad_swap_transaction", `refused to sign the swap: ${why}`);
};

/** The static check of the instructions Jupiter returned (see the module comment). */
export function checkSwapInstructions(instructions: readonly TransactionInstruction[], admin: PublicKey): void {
  instructions.forEach((ix, i) => {
    const program = ix.programId.toBase58();
    if (!SWAP_PROGRAMS.has(program)) refuse(`instruction ${i} calls ${program}, which is not an allow-listed program`);
    for (const key of ix.keys) {
      if (key.isSigner && !key.pubkey.equals(admin)) refuse(`instruction ${i} needs a signature from ${key.pubkey.toBase58()}`);
    }
    if (program === TOKEN_PROGRAM_ID.toBase58() || program === TOKEN_2022_PROGRAM_ID.toBase58()) {
      const tag = ix.data[0];
      const closesIntoAdmin = tag === TOKEN_CLOSE_ACCOUNT && ix.keys[1]?.pubkey.equals(admin) === true;
      if (tag !== TOKEN_SYNC_NATIVE && !closesIntoAdmin) refuse(`instruction ${i} is a ${SWAP_PROGRAMS.get(program)} instruction (tag ${tag}) a swap has no business making`);
    }
    if (program === ASSOCIATED_TOKEN_PROGRAM_ID.toBase58() && !(ix.data.length === 0 || (ix.data.length === 1 && ix.data[0] === 1))) {
      refuse(`instruction ${i} is an associated-token-account instruction other than create`);
    }
  });
}

/** The swap as a v0 transaction paid and signed by the admin, with the lookup tables Jupiter named. */
export async function assembleSwap(connection: Connection, admin: Keypair, swap: SwapInstructions): Promise<{ tx: VersionedTransaction; lastValidBlockHeight: bigint }> {
  checkSwapInstructions(swap.instructions, admin.publicKey);
  const tables: AddressLookupTableAccount[] = [];
  for (const address of swap.lookupTables) {
    const { value } = await connection.getAddressLookupTable(address);
    if (!value) refuse(`lookup table ${address.toBase58()} does not exist`);
    else tables.push(value);
  }
  const { blockhash, lastValidBlockHeight } = await connection.getLatestBlockhash("confirmed");
  const message = new TransactionMessage({ payerKey: admin.publicKey, recentBlockhash: blockhash, instructions: swap.instructions }).compileToV0Message(tables);
  const tx = new VersionedTransaction(message);
  tx.sign([admin]);
  if (tx.signatures.some((s) => s.every((b) => b === 0))) refuse("the transaction needs a signature other than the admin's");
  return { tx, lastValidBlockHeight: BigInt(lastValidBlockHeight) };
}

interface TokenState {
  mint: string;
  owner: string;
  amount: bigint;
  delegate: string | null;
  closeAuthority: string | null;
}

function tokenState(data: Uint8Array): TokenState | null {
  if (data.length < ACCOUNT_SIZE) return null;
  const a = AccountLayout.decode(data.subarray(0, ACCOUNT_SIZE));
  return {
    mint: a.mint.toBase58(),
    owner: a.owner.toBase58(),
    amount: a.amount,
    delegate: a.delegateOption ? a.delegate.toBase58() : null,
    closeAuthority: a.closeAuthorityOption ? a.closeAuthority.toBase58() : null,
  };
}

export interface SwapBounds {
  admin: PublicKey;
  usdcMint: PublicKey;
  kamiyoMint: PublicKey;
  /** micro-USDC: the allocation. */
  maxUsdcSpent: bigint;
  /** KAMIYO base units: the quote's otherAmountThreshold. */
  minKamiyoBought: bigint;
}

/** What the simulation showed, for the log. */
export interface SwapEffect {
  usdcSpent: bigint;
  kamiyoBought: bigint;
  solSpent: bigint;
}

/** Simulates the signed swap and checks what it does to the admin's accounts (see the module comment). */
export async function checkSwapBySimulation(connection: Connection, tx: VersionedTransaction, b: SwapBounds): Promise<SwapEffect> {
  const owned = await Promise.all(
    [TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID].map((programId) => connection.getTokenAccountsByOwner(b.admin, { programId }, "confirmed")),
  );
  const kamiyoProgram = (await connection.getAccountInfo(b.kamiyoMint, "confirmed"))?.owner ?? TOKEN_2022_PROGRAM_ID;
  const kamiyoAccount = getAssociatedTokenAddressSync(b.kamiyoMint, b.admin, true, kamiyoProgram).toBase58();
  const addresses = [...new Set([b.admin.toBase58(), kamiyoAccount, ...owned.flatMap((r) => r.value.map((a) => a.pubkey.toBase58()))])];
  const before = await connection.getMultipleAccountsInfo(addresses.map((a) => new PublicKey(a)), "confirmed");
  const sim = await connection.simulateTransaction(tx, {
    sigVerify: false,
    replaceRecentBlockhash: false,
    commitment: "confirmed",
    accounts: { encoding: "base64", addresses },
  });
  const err = sim.value.err;
  if (err) {
    const text = JSON.stringify(err);
    if (/"Custom":6001/.test(text)) throw new RetryableStepError(`swap simulation exceeded its slippage tolerance: retrying with a fresh quote`);
    if (/BlockhashNotFound/.test(text)) throw new RetryableStepError("swap simulation: blockhash not found");
    refuse(`its simulation fails: ${text}`);
  }
  const after = sim.value.accounts ?? refuse("the simulation returned no accounts");
  const effect: SwapEffect = { usdcSpent: 0n, kamiyoBought: 0n, solSpent: 0n };
  addresses.forEach((address, i) => {
    const pre = before[i] ?? null;
    const postRaw = after[i] ?? null;
    const post = postRaw ? { lamports: BigInt(postRaw.lamports), data: Buffer.from(postRaw.data[0] ?? "", "base64"), owner: postRaw.owner } : null;
    if (i === 0) {
      effect.solSpent = BigInt(pre?.lamports ?? 0) - (post?.lamports ?? 0n);
      if (effect.solSpent > MAX_SWAP_SOL_COST) refuse(`the admin's SOL would go down by ${effect.solSpent} lamports (at most ${MAX_SWAP_SOL_COST} for fees and rent)`);
      return;
    }
    const preState = pre ? tokenState(pre.data) : null;
    const postState = post ? tokenState(post.data) : null;
    if (preState && !postState) refuse(`the admin's token account ${address} would be closed`);
    if (!postState) return;
    if (postState.owner !== b.admin.toBase58()) refuse(`the admin's token account ${address} would belong to ${postState.owner}`);
    if (postState.delegate !== (preState?.delegate ?? null)) refuse(`the admin's token account ${address} would get delegate ${postState.delegate ?? "none"}`);
    if (postState.closeAuthority !== (preState?.closeAuthority ?? null)) refuse(`the admin's token account ${address} would get another close authority`);
    const change = postState.amount - (preState?.amount ?? 0n);
    if (postState.mint === b.usdcMint.toBase58()) {
      effect.usdcSpent += -change;
      if (-change > b.maxUsdcSpent) refuse(`the admin's USDC would go down by ${-change}, more than the allocation ${b.maxUsdcSpent}`);
    } else if (postState.mint === b.kamiyoMint.toBase58()) {
      effect.kamiyoBought += change;
    } else if (change < 0n) {
      refuse(`the admin's ${postState.mint} account ${address} would lose ${-change}`);
    }
  });
  if (effect.kamiyoBought < b.minKamiyoBought) refuse(`KAMIYO would go up by ${effect.kamiyoBought}, below the quote's threshold ${b.minKamiyoBought}`);
  return effect;
}
