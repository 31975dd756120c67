/**
 * The admin wallet as the money steps see it: its token accounts and the balance checks that halt a run
 * (a shortfall is the operator's to fix; no retry can help until they top the wallet up).
 */
import { getAssociatedTokenAddressSync, TOKEN_2022_PROGRAM_ID } from "@solana/spl-token";
import { PublicKey, type Keypair } from "@solana/web3.js";
import type { ChainGateway } from "../chain.ts";
import { PipelineHalt } from "../errors.ts";

export interface AdminWalletDeps {
  chain: ChainGateway;
  admin: Keypair;
  kamiyoMint: string;
  usdcMint: string;
  /** Below this the wallet cannot be trusted to pay fees and rent. */
  minSolLamports: bigint;
}

export function createAdminWallet(deps: AdminWalletDeps) {
  const { chain, admin } = deps;
  const kamiyoMint = new PublicKey(deps.kamiyoMint);
  const usdcMint = new PublicKey(deps.usdcMint);
  // KAMIYO is a Token-2022 mint.
  const kamiyoAccount = getAssociatedTokenAddressSync(kamiyoMint, admin.publicKey, false, TOKEN_2022_PROGRAM_ID);
  let usdcAccount: PublicKey | undefined;

  /** USDC may be a classic Token or a Token-2022 mint: the mint's owner says which. */
  async function usdc(): Promise<PublicKey> {
    if (usdcAccount) return usdcAccount;
    const owner = await chain.accountOwner(usdcMint);
    if (!owner) throw new PipelineHalt("insufficient_usdc", `USDC mint ${usdcMint.toBase58()} does not exist`);
    usdcAccount = getAssociatedTokenAddressSync(usdcMint, admin.publicKey, false, owner);
    return usdcAccount;
  }

  return {
    keypair: admin,
    address: admin.publicKey.toBase58(),
    kamiyoMint,
    usdcMint,
    kamiyoAccount,

    async requireSol(): Promise<void> {
      const lamports = await chain.lamports(admin.publicKey);
      if (lamports < deps.minSolLamports) {
        throw new PipelineHalt("insufficient_sol", `admin wallet holds ${lamports} lamports, needs at least ${deps.minSolLamports}`);
      }
    },

    async requireUsdc(amount: bigint): Promise<void> {
      const balance = await chain.tokenBalance(await usdc());
      if (balance < amount) throw new PipelineHalt("insufficient_usdc", `admin wallet holds ${balance} micro-USDC, the buyback needs ${amount}`);
    },

    async requireKamiyo(amount: bigint): Promise<void> {
      const balance = await chain.tokenBalance(kamiyoAccount);
      if (balance < amount) throw new PipelineHalt("insufficient_kamiyo", `admin wallet holds ${balance} KAMIYO base units, funding needs ${amount}`);
    },
  };
}

export type AdminWallet = ReturnType<typeof createAdminWallet>;
