/**
 * The payTo USDC account's history through standard Solana JSON-RPC: getSignaturesForAddress (paged newest
 * first), getTransaction (base64, batched), getSlot, getBlockTime and isBlockhashValid, all at finalized
 * commitment (what is finalized cannot be rolled back, so a release decided from it holds).
 *
 * A call the node did not answer (transport, timeout, HTTP 429/5xx) is a RetryableError("upstream"); an answer
 * that is an RPC error is a NonRetryableError("upstream").
 */
import { NonRetryableError, RetryableError, describeError } from "../../src/errors.ts";

export interface SignatureInfo {
  signature: string;
  slot: bigint;
  /** Unix seconds, when the node knows it. */
  blockTime: number | null;
  /** The transaction failed on chain (it moved no tokens). */
  failed: boolean;
}

export interface TokenBalance {
  accountIndex: number;
  mint: string;
  owner: string | null;
  amount: bigint;
}

export interface FetchedTransaction {
  signature: string;
  slot: bigint;
  blockTime: number | null;
  /** The wire transaction (signatures + message). */
  raw: Uint8Array;
  failed: boolean;
  preTokenBalances: TokenBalance[];
  postTokenBalances: TokenBalance[];
  /** Account keys of the message followed by those loaded from lookup tables (the order token balances index). */
  loadedWritable: string[];
  loadedReadonly: string[];
}

export interface ChainHistory {
  finalizedSlot(): Promise<bigint>;
  blockTime(slot: bigint): Promise<Date | null>;
  /** False once the blockhash can no longer be used by a transaction (or the node never knew it). */
  blockhashValid(blockhash: string): Promise<boolean>;
  /** One page, newest first: signatures older than `before` (exclusive) and newer than `until` (exclusive). */
  signatures(address: string, page: { before?: string; until?: string; limit?: number }): Promise<SignatureInfo[]>;
  /** The transactions, in the order asked; null for one the node does not have. */
  transactions(signatures: readonly string[]): Promise<Array<FetchedTransaction | null>>;
  /** Calls made and their total wall time (for the benchmark's comparison). */
  readonly stats: { calls: number; ms: number };
}

interface RpcReply {
  id: number;
  result?: unknown;
  error?: { code: number; message: string };
}

const FINALIZED = { commitment: "finalized" } as const;

export function createChainHistory(options: { rpcUrl: string; timeoutMs?: number; batchSize?: number }): ChainHistory {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const batchSize = options.batchSize ?? 100;
  const stats = { calls: 0, ms: 0 };

  async function post(body: unknown): Promise<unknown> {
    const started = performance.now();
    stats.calls++;
    let res: Response;
    try {
      res = await fetch(options.rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new RetryableError("upstream", `Solana RPC unreachable: ${describeError(err)}`, { cause: err, code: "rpc_unreachable" });
    } finally {
      stats.ms += performance.now() - started;
    }
    if (res.status === 429 || res.status >= 500) {
      await res.body?.cancel();
      throw new RetryableError(res.status === 429 ? "rate_limited" : "upstream", `Solana RPC answered HTTP ${res.status}`, { code: "rpc_http" });
    }
    try {
      return await res.json();
    } catch (err) {
      throw new RetryableError("upstream", `Solana RPC answered a body that is not JSON: ${describeError(err)}`, { code: "rpc_body" });
    }
  }

  function unwrap(method: string, reply: RpcReply): unknown {
    if (reply.error) throw new NonRetryableError("upstream", `${method}: ${reply.error.message} (${reply.error.code})`, { code: "rpc_error" });
    return reply.result;
  }

  async function call<T>(method: string, params: unknown[]): Promise<T> {
    return unwrap(method, (await post({ jsonrpc: "2.0", id: 1, method, params })) as RpcReply) as T;
  }

  async function batch<T>(method: string, paramsList: unknown[][]): Promise<T[]> {
    if (paramsList.length === 0) return [];
    const replies = (await post(paramsList.map((params, id) => ({ jsonrpc: "2.0", id, method, params })))) as RpcReply[];
    if (!Array.isArray(replies)) throw new NonRetryableError("upstream", `${method}: the node does not answer JSON-RPC batches`, { code: "rpc_batch" });
    const byId = new Map(replies.map((r) => [r.id, r]));
    return paramsList.map((_, id) => {
      const reply = byId.get(id);
      if (!reply) throw new RetryableError("upstream", `${method}: the batch answer lacks request ${id}`, { code: "rpc_batch" });
      return unwrap(method, reply) as T;
    });
  }

  const balances = (list: unknown): TokenBalance[] =>
    ((list as Array<{ accountIndex: number; mint: string; owner?: string; uiTokenAmount: { amount: string } }> | null) ?? []).map((b) => ({
      accountIndex: b.accountIndex,
      mint: b.mint,
      owner: b.owner ?? null,
      amount: BigInt(b.uiTokenAmount.amount),
    }));

  return {
    stats,
    finalizedSlot: async () => BigInt(await call<number>("getSlot", [FINALIZED])),
    async blockTime(slot) {
      const t = await call<number | null>("getBlockTime", [Number(slot)]);
      return t === null ? null : new Date(t * 1000);
    },
    async blockhashValid(blockhash) {
      const r = await call<{ value: boolean }>("isBlockhashValid", [blockhash, FINALIZED]);
      return r.value;
    },
    async signatures(address, page) {
      const list = await call<Array<{ signature: string; slot: number; blockTime: number | null; err: unknown }>>("getSignaturesForAddress", [
        address,
        { ...FINALIZED, limit: page.limit ?? 1000, ...(page.before ? { before: page.before } : {}), ...(page.until ? { until: page.until } : {}) },
      ]);
      return list.map((s) => ({ signature: s.signature, slot: BigInt(s.slot), blockTime: s.blockTime ?? null, failed: s.err !== null && s.err !== undefined }));
    },
    async transactions(signatures) {
      const out: Array<FetchedTransaction | null> = [];
      for (let i = 0; i < signatures.length; i += batchSize) {
        const chunk = signatures.slice(i, i + batchSize);
        const results = await batch<{
          slot: number;
          blockTime: number | null;
          transaction: [string, string];
          meta: { err: unknown; preTokenBalances?: unknown; postTokenBalances?: unknown; loadedAddresses?: { writable: string[]; readonly: string[] } } | null;
        } | null>(
          "getTransaction",
          chunk.map((sig) => [sig, { ...FINALIZED, encoding: "base64", maxSupportedTransactionVersion: 0 }]),
        );
        results.forEach((r, j) => {
          if (!r) return out.push(null);
          out.push({
            signature: chunk[j]!,
            slot: BigInt(r.slot),
            blockTime: r.blockTime ?? null,
            raw: Buffer.from(r.transaction[0], "base64"),
            failed: r.meta?.err !== null && r.meta?.err !== undefined,
            preTokenBalances: balances(r.meta?.preTokenBalances),
            postTokenBalances: balances(r.meta?.postTokenBalances),
            loadedWritable: r.meta?.loadedAddresses?.writable ?? [],
            loadedReadonly: r.meta?.loadedAddresses?.readonly ?? [],
          });
        });
      }
      return out;
    },
  };
}
