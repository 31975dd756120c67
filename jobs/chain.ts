/**
 * What the pipeline asks the chain, over JSON-RPC: statuses of stored signatures, block height and
 * blockhash validity (the expiry test), balances, token balance changes of a landed transaction, and
 * sending raw bytes. Amounts are bigint.
 */
import { Connection, PublicKey, type TransactionError, type VersionedTransaction } from "@solana/web3.js";
import type { Commitment } from "../src/config.ts";

export type SignatureOutcome =
  | { kind: "landed"; slot: bigint }
  | { kind: "failed"; slot: bigint; err: TransactionError }
  | { kind: "unknown" };

export interface TokenDelta {
  account: string;
  owner: string;
  mint: string;
  pre: bigint;
  post: bigint;
}

export interface ChainGateway {
  connection: Connection;
  signatureOutcome(signature: string): Promise<SignatureOutcome>;
  /** True once the blockhash can no longer be used: finalized height past `lastValidBlockHeight` and the cluster no longer accepts it. */
  blockhashExpired(blockhash: string, lastValidBlockHeight: bigint): Promise<boolean>;
  latestBlockhash(): Promise<{ blockhash: string; lastValidBlockHeight: bigint }>;
  /** Sends without preflight (a failed transaction lands and pays its fee, as on mainnet with skipPreflight). */
  sendRaw(raw: Uint8Array): Promise<void>;
  simulate(tx: VersionedTransaction): Promise<{ err: TransactionError | null; logs: string[] }>;
  lamports(address: PublicKey): Promise<bigint>;
  /** 0 when the token account does not exist. */
  tokenBalance(account: PublicKey): Promise<bigint>;
  /** Token balances before and after a landed transaction, one entry per token account it touched. */
  tokenDeltas(signature: string): Promise<TokenDelta[]>;
  accountData(address: PublicKey): Promise<Buffer | null>;
}

export function createChainGateway(options: { rpcUrl: string; wsUrl?: string; commitment: Commitment }): ChainGateway {
  const commitment = options.commitment === "processed" ? "confirmed" : options.commitment;
  const connection = new Connection(options.rpcUrl, {
    commitment,
    ...(options.wsUrl ? { wsEndpoint: options.wsUrl } : {}),
    disableRetryOnRateLimit: false,
  });
  return {
    connection,

    async signatureOutcome(signature) {
      const { value } = await connection.getSignatureStatuses([signature], { searchTransactionHistory: true });
      const s = value[0];
      if (!s) return { kind: "unknown" };
      // "processed" can still be dropped with its fork: not an outcome yet.
      if (s.confirmationStatus === "processed") return { kind: "unknown" };
      return s.err ? { kind: "failed", slot: BigInt(s.slot), err: s.err } : { kind: "landed", slot: BigInt(s.slot) };
    },

    async blockhashExpired(blockhash, lastValidBlockHeight) {
      const height = BigInt(await connection.getBlockHeight("finalized"));
      if (height <= lastValidBlockHeight) return false;
      const { value: valid } = await connection.isBlockhashValid(blockhash, { commitment: "finalized" });
      return !valid;
    },

    async latestBlockhash() {
      const r = await connection.getLatestBlockhash(commitment);
      return { blockhash: r.blockhash, lastValidBlockHeight: BigInt(r.lastValidBlockHeight) };
    },

    async sendRaw(raw) {
      try {
        await connection.sendRawTransaction(raw, { skipPreflight: true, maxRetries: 0 });
      } catch (err) {
        // A resend of bytes that already landed is answered with AlreadyProcessed: nothing to do.
        if (/already been processed|AlreadyProcessed/i.test(String((err as Error).message))) return;
        throw err;
      }
    },

    async simulate(tx) {
      const { value } = await connection.simulateTransaction(tx, { sigVerify: false, commitment });
      return { err: value.err, logs: value.logs ?? [] };
    },

    async lamports(address) {
      return BigInt(await connection.getBalance(address, commitment));
    },

    async tokenBalance(account) {
      const info = await connection.getAccountInfo(account, commitment);
      if (!info) return 0n;
      const { value } = await connection.getTokenAccountBalance(account, commitment);
      return BigInt(value.amount);
    },

    async tokenDeltas(signature) {
      const tx = await connection.getTransaction(signature, { commitment, maxSupportedTransactionVersion: 0 });
      if (!tx?.meta) throw new Error(`transaction ${signature} is not available from the RPC node yet`);
      const keys = tx.transaction.message.getAccountKeys({
        ...(tx.meta.loadedAddresses ? { accountKeysFromLookups: tx.meta.loadedAddresses } : {}),
      });
      const byIndex = new Map<number, TokenDelta>();
      const entry = (b: { accountIndex: number; mint: string; owner?: string }) => {
        let d = byIndex.get(b.accountIndex);
        if (!d) {
          d = { account: keys.get(b.accountIndex)?.toBase58() ?? "", owner: b.owner ?? "", mint: b.mint, pre: 0n, post: 0n };
          byIndex.set(b.accountIndex, d);
        }
        return d;
      };
      for (const b of tx.meta.preTokenBalances ?? []) entry(b).pre = BigInt(b.uiTokenAmount.amount);
      for (const b of tx.meta.postTokenBalances ?? []) entry(b).post = BigInt(b.uiTokenAmount.amount);
      return [...byIndex.values()];
    },

    async accountData(address) {
      const info = await connection.getAccountInfo(address, commitment);
      return info ? Buffer.from(info.data) : null;
    },
  };
}

/** Sum of (post - pre) over the token accounts of `owner` in `mint`. */
export function ownerDelta(deltas: readonly TokenDelta[], owner: string, mint: string): bigint {
  return deltas.filter((d) => d.owner === owner && d.mint === mint).reduce((sum, d) => sum + d.post - d.pre, 0n);
}
