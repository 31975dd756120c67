/**
 * What the pipeline asks the chain, over JSON-RPC: statuses of stored signatures, block height and
 * blockhash validity (the expiry test), balances, token balance changes of a landed transaction, and
 * sending raw bytes. Amounts are bigint.
 *
 * Every failure of a call is an `upstream` error that says whether a retry can help: the node being
 * down, slow, rate-limiting or behind is retryable (each call is a read, or a send of bytes that were
 * stored first, so repeating it is safe); a request the node calls malformed is not.
 */
import { Connection, PublicKey, type TransactionError, type VersionedTransaction, type VersionedTransactionResponse } from "@solana/web3.js";
import type { Commitment } from "../src/config.ts";
import { describeError, KamiyoError, NonRetryableError, RetryableError } from "../src/errors.ts";

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
  /** The program that owns the account (for a mint: Token or Token-2022), or null when it does not exist. */
  accountOwner(address: PublicKey): Promise<PublicKey | null>;
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

/** Each JSON-RPC call of the pipeline fails (retryably) after this when the node says nothing. */
export const CHAIN_RPC_TIMEOUT_MS = 10_000;

export function createChainGateway(options: { rpcUrl: string; wsUrl?: string; commitment: Commitment; rpcTimeoutMs?: number }): ChainGateway {
  const commitment = options.commitment === "processed" ? "confirmed" : options.commitment;
  const timeoutMs = options.rpcTimeoutMs ?? CHAIN_RPC_TIMEOUT_MS;
  const connection = new Connection(options.rpcUrl, {
    commitment,
    // web3.js has no deadline of its own: a black-holed node would hold the step until the job's lock expires.
    fetch: (input, init) => {
      const deadline = AbortSignal.timeout(timeoutMs);
      return fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal as AbortSignal, deadline]) : deadline });
    },
    ...(options.wsUrl ? { wsEndpoint: options.wsUrl } : {}),
    disableRetryOnRateLimit: false,
  });
  return classifyFailures(rpcCalls(connection, commitment));
}

function rpcCalls(connection: Connection, commitment: "confirmed" | "finalized"): ChainGateway {
  return {
    connection,

    async accountOwner(address) {
      return (await connection.getAccountInfo(address, commitment))?.owner ?? null;
    },

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
      // Its status said it landed; the node's transaction history can lag behind that for a moment.
      if (!tx?.meta) throw new RetryableError("upstream", `transaction ${signature} is not available from the RPC node yet`);
      return tokenDeltasOf(tx as VersionedTransactionResponse & { meta: NonNullable<VersionedTransactionResponse["meta"]> });
    },

    async accountData(address) {
      const info = await connection.getAccountInfo(address, commitment);
      return info ? Buffer.from(info.data) : null;
    },
  };
}

function tokenDeltasOf(tx: VersionedTransactionResponse & { meta: NonNullable<VersionedTransactionResponse["meta"]> }): TokenDelta[] {
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
}

/** JSON-RPC codes for a request the node cannot parse or does not serve: the same request fails again. */
const MALFORMED_REQUEST_CODES = new Set([-32600, -32601, -32602]);

/** Any failure of a chain call as an `upstream` error that says whether a retry can help. */
export function chainFailure(call: string, err: unknown): KamiyoError {
  if (err instanceof KamiyoError) return err;
  const message = `${call}: ${describeError(err)}`;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "number" && MALFORMED_REQUEST_CODES.has(code)) return new NonRetryableError("upstream", message, { code: "rpc_request_refused", cause: err });
  // web3.js rewraps transport failures (fetch failed, HTTP 5xx, timeouts) as plain Errors without a cause.
  return new RetryableError("upstream", message, { code: "rpc_unavailable", cause: err });
}

/** The same gateway, with every call's failure classified by `chainFailure`. */
function classifyFailures(g: ChainGateway): ChainGateway {
  const guard =
    <A extends unknown[], R>(call: string, f: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await f(...args);
      } catch (err) {
        throw chainFailure(call, err);
      }
    };
  return {
    connection: g.connection,
    accountOwner: guard("accountOwner", g.accountOwner),
    signatureOutcome: guard("signatureOutcome", g.signatureOutcome),
    blockhashExpired: guard("blockhashExpired", g.blockhashExpired),
    latestBlockhash: guard("latestBlockhash", g.latestBlockhash),
    sendRaw: guard("sendRaw", g.sendRaw),
    simulate: guard("simulate", g.simulate),
    lamports: guard("lamports", g.lamports),
    tokenBalance: guard("tokenBalance", g.tokenBalance),
    tokenDeltas: guard("tokenDeltas", g.tokenDeltas),
    accountData: guard("accountData", g.accountData),
  };
}

/** Sum of (post - pre) over the token accounts of `owner` in `mint`. */
export function ownerDelta(deltas: readonly TokenDelta[], owner: string, mint: string): bigint {
  return deltas.filter((d) => d.owner === owner && d.mint === mint).reduce((sum, d) => sum + d.post - d.pre, 0n);
}
