/**
 * The indexer's Solana JSON-RPC client over fetch (injectable, so tests can put faults between it and the
 * node). getProgramAccounts is read as a stream and handed out in batches, so memory does not grow with
 * the number of accounts; getMultipleAccounts is split into calls of at most 100 keys.
 */
import { StoppedError } from "../src/errors.ts";
import { RpcCallError, MIN_CONTEXT_SLOT_NOT_REACHED } from "./errors.ts";
import { ResponseShapeError, RpcResultScanner } from "./json-scan.ts";
import type { Commitment } from "../src/config.ts";

export const MAX_MULTIPLE_ACCOUNTS = 100;

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** An account as the indexer needs it: owner program, lamports (0 means closed) and raw data. */
export interface RawAccount {
  owner: string;
  lamports: bigint;
  data: Uint8Array;
}

export interface KeyedRawAccount {
  address: string;
  account: RawAccount;
}

/** One account read at `slot` (the response's context slot); `account` is null when it does not exist. */
export interface AccountRead {
  address: string;
  slot: bigint;
  account: RawAccount | null;
}

export type ProgramAccountsFilter = { dataSize: number } | { memcmp: { offset: number; bytes: string; encoding?: "base58" | "base64" } };

export interface ProgramAccountsBatch {
  /** Context slot of the whole response (one consistent view). */
  slot: bigint;
  accounts: KeyedRawAccount[];
}

export interface RpcClient {
  readonly url: string;
  call<T>(method: string, params: unknown[], signal?: AbortSignal): Promise<T>;
  getSlot(commitment: Commitment, signal?: AbortSignal): Promise<bigint>;
  getMultipleAccounts(
    addresses: readonly string[],
    options: { commitment: Commitment; minContextSlot?: bigint },
    signal?: AbortSignal,
  ): Promise<AccountRead[]>;
  /** Streams getProgramAccounts (withContext) in batches of `batchSize`; at least one batch (maybe empty). */
  streamProgramAccounts(
    programId: string,
    options: { commitment: Commitment; filters: ProgramAccountsFilter[]; minContextSlot?: bigint; batchSize: number },
    signal?: AbortSignal,
  ): AsyncGenerator<ProgramAccountsBatch>;
}

export interface RpcClientOptions {
  url: string;
  fetch?: FetchLike;
  /**
   * Per-call deadline of ordinary calls (fetch and body). The streamed getProgramAccounts has no overall
   * deadline but may not stay silent longer than this (headers, then between chunks). Default 30 s.
   */
  timeoutMs?: number;
}

interface UiAccount {
  data: [string, string] | string;
  lamports: number;
  owner: string;
}

function toRawAccount(method: string, ui: UiAccount): RawAccount {
  if (!Array.isArray(ui.data) || ui.data[1] !== "base64") {
    throw new RpcCallError(method, "account data is not base64-encoded", { code: null, retryable: false });
  }
  return { owner: ui.owner, lamports: BigInt(ui.lamports), data: Buffer.from(ui.data[0], "base64") };
}

/** JSON-RPC error codes that come from the node being busy, behind or unhealthy: worth retrying. */
function retryableRpcCode(code: number): boolean {
  if (code === -32600 || code === -32601 || code === -32602 || code === -32700) return false;
  return true;
}

function rpcError(method: string, error: { code?: unknown; message?: unknown; data?: unknown }): RpcCallError {
  const code = typeof error.code === "number" ? error.code : null;
  const message = typeof error.message === "string" ? error.message : "JSON-RPC error";
  return new RpcCallError(method, `${message}${code === null ? "" : ` (${code})`}`, {
    code,
    retryable: code === null || retryableRpcCode(code),
  });
}

/** One JSON-RPC POST; transport failures and HTTP errors become RpcCallErrors, an abort a StoppedError. */
type Post = (method: string, params: unknown[], signal: AbortSignal | undefined, timeoutMs: number | null) => Promise<Response>;

function createPost(url: string, doFetch: FetchLike): Post {
  let nextId = 1;
  return async (method, params, signal, timeoutMs) => {
    if (signal?.aborted) throw new StoppedError();
    const signals = [signal, timeoutMs === null ? undefined : AbortSignal.timeout(timeoutMs)].filter((s) => s !== undefined);
    let res: Response;
    try {
      res = await doFetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params }),
        signal: signals.length > 0 ? AbortSignal.any(signals) : null,
      });
    } catch (err) {
      if (signal?.aborted) throw new StoppedError();
      throw new RpcCallError(method, `request failed: ${(err as Error).message}`, { code: null, retryable: true, cause: err });
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new RpcCallError(method, `HTTP ${res.status}`, {
        code: res.status,
        retryable: res.status === 429 || res.status >= 500,
      });
    }
    return res;
  };
}

async function callRpc<T>(post: Post, timeoutMs: number, method: string, params: unknown[], signal?: AbortSignal): Promise<T> {
  const res = await post(method, params, signal, timeoutMs);
  let body: { result?: T; error?: { code?: unknown; message?: unknown } };
  try {
    body = (await res.json()) as typeof body;
  } catch (err) {
    if (signal?.aborted) throw new StoppedError();
    throw new RpcCallError(method, `unreadable response: ${(err as Error).message}`, { code: null, retryable: true, cause: err });
  }
  if (body.error) throw rpcError(method, body.error);
  if (!("result" in body)) throw new RpcCallError(method, "response has neither result nor error", { code: null, retryable: true });
  return body.result as T;
}

type Call = <T>(method: string, params: unknown[], signal?: AbortSignal) => Promise<T>;

async function getMultipleAccounts(
  call: Call,
  addresses: readonly string[],
  opts: { commitment: Commitment; minContextSlot?: bigint },
  signal?: AbortSignal,
): Promise<AccountRead[]> {
  const out: AccountRead[] = [];
  for (let i = 0; i < addresses.length; i += MAX_MULTIPLE_ACCOUNTS) {
    const keys = addresses.slice(i, i + MAX_MULTIPLE_ACCOUNTS);
    const config: Record<string, unknown> = { commitment: opts.commitment, encoding: "base64" };
    if (opts.minContextSlot !== undefined) config.minContextSlot = Number(opts.minContextSlot);
    const result = await call<{ context: { slot: number }; value: (UiAccount | null)[] }>("getMultipleAccounts", [keys, config], signal);
    const slot = BigInt(result.context.slot);
    keys.forEach((address, j) => {
      const ui = result.value[j];
      out.push({ address, slot, account: ui ? toRawAccount("getMultipleAccounts", ui) : null });
    });
  }
  return out;
}

async function* streamProgramAccounts(
  post: Post,
  programId: string,
  opts: Parameters<RpcClient["streamProgramAccounts"]>[1],
  idleMs: number,
  signal?: AbortSignal,
): AsyncGenerator<ProgramAccountsBatch> {
  const method = "getProgramAccounts";
  const config: Record<string, unknown> = {
    commitment: opts.commitment,
    encoding: "base64",
    withContext: true,
    filters: opts.filters,
  };
  if (opts.minContextSlot !== undefined) config.minContextSlot = Number(opts.minContextSlot);
  // No overall timeout: a large program takes minutes to list. A silent node is bounded by `idleMs`: the
  // headers, then every chunk, must arrive within it (a half-open connection ends as a retryable failure).
  const idle = new AbortController();
  let timer = setTimeout(() => idle.abort(new Error(`no bytes for ${idleMs} ms`)), idleMs);
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => idle.abort(new Error(`no bytes for ${idleMs} ms`)), idleMs);
  };
  try {
    let res: Response;
    try {
      res = await post(method, [programId, config], signal ? AbortSignal.any([signal, idle.signal]) : idle.signal, null);
    } catch (err) {
      // The idle deadline, not the caller, ended it: the node is silent, which a retry may get past.
      if (err instanceof StoppedError && idle.signal.aborted && !signal?.aborted) {
        throw new RpcCallError(method, `no answer within ${idleMs} ms`, { code: null, retryable: true, cause: err });
      }
      throw err;
    }
    if (!res.body) throw new RpcCallError(method, "response has no body", { code: null, retryable: true });
    touch();
    yield* readAccountBatches(method, res.body, opts.batchSize, signal, touch);
  } finally {
    clearTimeout(timer);
  }
}

/** Scans a streamed getProgramAccounts response, handing out batches of `batchSize` once the slot is known. */
async function* readAccountBatches(
  method: string,
  body: ReadableStream<Uint8Array>,
  batchSize: number,
  signal?: AbortSignal,
  onChunk: () => void = () => undefined,
): AsyncGenerator<ProgramAccountsBatch> {
  let slot: bigint | null = null;
  // Set by the scanner's callback: typed by assertion, or the compiler would narrow it to null for good.
  let error = null as RpcCallError | null;
  let pending: KeyedRawAccount[] = [];
  let yielded = false;
  const scanner = new RpcResultScanner({
    context(json) {
      slot = BigInt((JSON.parse(json.toString("utf8")) as { slot: number }).slot);
    },
    error(json) {
      error = rpcError(method, JSON.parse(json.toString("utf8")) as { code?: unknown; message?: unknown });
    },
    item(json) {
      const keyed = JSON.parse(json.toString("utf8")) as { pubkey: string; account: UiAccount };
      pending.push({ address: keyed.pubkey, account: toRawAccount(method, keyed.account) });
    },
  });
  const shapeError = (err: unknown) =>
    new RpcCallError(method, `malformed response: ${(err as Error).message}`, {
      code: null,
      retryable: err instanceof ResponseShapeError,
      cause: err,
    });
  try {
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      onChunk();
      try {
        scanner.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } catch (err) {
        throw shapeError(err);
      }
      if (error) throw error;
      // Batches are handed out only once the context slot is known; validators write `context` first,
      // so in practice nothing waits here.
      if (slot !== null && pending.length >= batchSize) {
        const batch = pending;
        pending = [];
        yielded = true;
        yield { slot, accounts: batch };
      }
    }
    try {
      scanner.end();
    } catch (err) {
      throw shapeError(err);
    }
  } catch (err) {
    if (signal?.aborted) throw new StoppedError();
    if (err instanceof RpcCallError) throw err;
    throw new RpcCallError(method, `reading the response failed: ${(err as Error).message}`, {
      code: null,
      retryable: true,
      cause: err,
    });
  } finally {
    // Leaving early (consumer stopped, error) must release the connection.
    await body.cancel().catch(() => undefined);
  }
  if (error) throw error;
  if (slot === null) throw new RpcCallError(method, "response has no context slot (withContext)", { code: null, retryable: false });
  // Always at least one batch, possibly empty, so the caller learns the context slot.
  if (pending.length > 0 || !yielded) yield { slot, accounts: pending };
}

export function createRpcClient(options: RpcClientOptions): RpcClient {
  const post = createPost(options.url, options.fetch ?? ((input, init) => fetch(input, init)));
  const timeoutMs = options.timeoutMs ?? 30_000;
  const call: Call = (method, params, signal) => callRpc(post, timeoutMs, method, params, signal);
  return {
    url: options.url,
    call,
    async getSlot(commitment, signal) {
      return BigInt(await call<number>("getSlot", [{ commitment }], signal));
    },
    getMultipleAccounts: (addresses, opts, signal) => getMultipleAccounts(call, addresses, opts, signal),
    streamProgramAccounts: (programId, opts, signal) => streamProgramAccounts(post, programId, opts, timeoutMs, signal),
  };
}

export function isMinContextSlotError(err: unknown): boolean {
  return err instanceof RpcCallError && err.rpcCode === MIN_CONTEXT_SLOT_NOT_REACHED;
}
