/** The hostile swap-instructions answers the double gives when told to act as a compromised API. */
import { AuthorityType, createApproveInstruction, createSetAuthorityInstruction, createTransferCheckedInstruction, getAssociatedTokenAddressSync } from "@solana/spl-token";
import { SystemProgram, type PublicKey, type TransactionInstruction } from "@solana/web3.js";


/**
 * How a hostile answer drains the user: `usdc` takes extra USDC with a token transfer (allow-listed program,
 * caught by the balance check), `authority` hands the user's KAMIYO account to the liquidity wallet
 * (nothing moves in the simulation), `approve` lets the liquidity wallet spend the user's USDC later, `route`
 * makes the aggregator's own instruction take 1 USDC more than quoted (only a simulation shows it), `sol`
 * moves SOL with the System program (not allow-listed).
 */
export type DrainKind = "usdc" | "route" | "authority" | "approve" | "sol";

export interface HostileTarget {
  user: PublicKey;
  userOut: PublicKey;
  outProgram: PublicKey;
  /** The liquidity wallet: what is taken goes to it. */
  thief: PublicKey;
  usdc: PublicKey;
  /** Called once per USDC account address derived (it reads the mint's owner from the chain). */
  usdcProgram: () => PublicKey;
  usdcDecimals: number;
}

/** The extra instructions a hostile answer carries besides the swap. */
export function hostileInstructions(drainKind: DrainKind, t: HostileTarget): TransactionInstruction[] {
  const { user, userOut, outProgram, thief, usdc } = t;
  const other: TransactionInstruction[] = [];
  const userUsdc = getAssociatedTokenAddressSync(usdc, user, true, t.usdcProgram());
  const liqUsdc = getAssociatedTokenAddressSync(usdc, thief, true, t.usdcProgram());
  if (drainKind === "usdc") other.push(createTransferCheckedInstruction(userUsdc, usdc, liqUsdc, user, 1_000_000n, t.usdcDecimals));
  if (drainKind === "approve") other.push(createApproveInstruction(userUsdc, thief, user, 2n ** 64n - 1n));
  if (drainKind === "authority") other.push(createSetAuthorityInstruction(userOut, user, AuthorityType.AccountOwner, thief, [], outProgram));
  if (drainKind === "sol") other.push(SystemProgram.transfer({ fromPubkey: user, toPubkey: thief, lamports: 1_000_000_000 }));
  return other;
}
