/**
 * The facilitator behind the paywall: a hosted one by URL, or one in this process (x402Facilitator with the
 * Solana exact scheme, its own fee-payer keypair, against the configured RPC). Either way, a facilitator
 * (or its chain) that cannot be reached surfaces as FacilitatorUnavailableError, which @x402/express answers
 * with a 502 and no content, rather than as a payment the client got wrong.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import {
  createDefaultRpcTransport,
  createKeyPairSignerFromBytes,
  createSolanaRpcFromTransport,
  isSolanaError,
  SOLANA_ERROR__RPC__TRANSPORT_HTTP_ERROR,
  type RpcTransport,
} from "@solana/kit";
import { x402Facilitator } from "@x402/core/facilitator";
import { FacilitatorResponseError, HTTPFacilitatorClient, type FacilitatorClient } from "@x402/core/server";
import type { Network, PaymentPayload, PaymentRequirements, SettleResponse, SupportedResponse, VerifyResponse } from "@x402/core/types";
import { VerifyError, SettleError } from "@x402/core/types";
import { toFacilitatorSvmSigner, type FacilitatorRpcClient, type FacilitatorSvmSigner } from "@x402/svm";
import { ExactSvmScheme } from "@x402/svm/exact/facilitator";
import { ConfigError, type Config } from "../../src/config.ts";
import { describeError, isTransientFailure } from "../../src/errors.ts";
import type { Logger } from "../../src/log.ts";
import { readKeypairFile } from "../../src/solana/keypair-file.ts";

/** The facilitator, or the chain it settles on, cannot be reached. Retrying later can help. */
export class FacilitatorUnavailableError extends FacilitatorResponseError {
  override name = "FacilitatorUnavailableError";
  readonly operation: string;
  /** Read by isRetryable (src/errors.ts): the facilitator or its chain may answer a later attempt. */
  readonly retryable = true;
  /** `detail` reaches the client: it names no host, port or key. */
  constructor(operation: string, detail: string, options?: { cause?: unknown }) {
    super(`payment facilitator unavailable (${operation}): ${detail}`);
    this.operation = operation;
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

/** A facilitator this paywall can use, with what it is for logs. */
export interface PaywallFacilitator extends FacilitatorClient {
  readonly kind: "hosted" | "in-process";
  /** What it is, for logs and the start banner: kind and where (no credentials). */
  readonly describe: string;
  /** Re-reads what the facilitator supports; true when it changed (a rotated fee payer). */
  refresh(): Promise<boolean>;
  /** The fee payer quotes name, once known. */
  feePayer(): string | undefined;
}

/**
 * True for an error that means "the other side could not be reached", not "the other side said no": the
 * shared transient-failure test (socket codes, timeouts), plus what @solana/kit and fetch report instead.
 */
export function isTransportError(err: unknown): boolean {
  if (isTransientFailure(err)) return true;
  let current: unknown = err;
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    if (isSolanaError(current, SOLANA_ERROR__RPC__TRANSPORT_HTTP_ERROR)) return true;
    if (current.name === "AbortError") return true;
    if (current instanceof TypeError && current.message === "fetch failed") return true;
    if (current instanceof AggregateError && current.errors.some(isTransportError)) return true;
    current = current.cause;
  }
  return false;
}

/** The error's message plus what caused it ("fetch failed: connect ECONNREFUSED 127.0.0.1:9"). */
export function transportDetail(err: unknown): string {
  let text = describeError(err);
  let current: unknown = err instanceof Error ? err.cause : undefined;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const inner = describeError(current);
    if (inner && !text.includes(inner)) text = `${text}: ${inner}`;
    current = current.cause;
  }
  return text;
}

/** Where an endpoint is, for people: scheme, host and path, without credentials or query (API keys live there). */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === "/" ? "" : u.pathname}`;
  } catch {
    return "(invalid URL)";
  }
}

/** A failed verify or settle that says "its chain could not be reached", not "the payment is wrong". */
const CHAIN_UNREACHABLE = /fetch failed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|socket hang up|timed? ?out|HTTP error|\b(429|502|503|504)\b|network error/i;
const CHAIN_REASONS = new Set(["invalid_exact_svm_transaction_simulation_failed", "invalid_exact_svm_transaction_failed", "transaction_failed", "unexpected_settle_error", "unexpected_verify_error"]);
/** The answer a facilitator gives when the payer's fee payer is not one of its keys (it rotated its key). */
export const FEE_PAYER_NOT_MANAGED = /fee_payer_not_managed/;

export function chainUnreachable(reason: string | undefined, message: string | undefined): boolean {
  return reason !== undefined && CHAIN_REASONS.has(reason) && message !== undefined && CHAIN_UNREACHABLE.test(message);
}

/** The first fee payer a supported answer names (what quotes carry as extra.feePayer). */
function feePayerOf(supported: SupportedResponse): string | undefined {
  for (const kind of supported.kinds) {
    const payer = (kind.extra as { feePayer?: unknown } | undefined)?.feePayer;
    if (typeof payer === "string") return payer;
  }
  return undefined;
}

export interface HostedFacilitatorOptions {
  url: string;
  /** Settle's timeout: never shorter than a settle can take (X402_FACILITATOR_TIMEOUT_SECONDS). */
  timeoutMs?: number;
  /** verify's and supported's timeout (default the smaller of 15 s and timeoutMs). */
  quickTimeoutMs?: number;
  /** Sent with every request (an API key the hosted facilitator requires). */
  headers?: Readonly<Record<string, string>>;
  logger?: Logger;
  /** Called when the facilitator says the quoted fee payer is not its own (it rotated its key). */
  onStaleFeePayer?: () => void;
}

/** A hosted facilitator (POST /verify, /settle, GET /supported). */
export function createHostedFacilitator(options: HostedFacilitatorOptions): PaywallFacilitator {
  const timeoutMs = options.timeoutMs ?? 75_000;
  const headers = { ...options.headers };
  const auth = Object.keys(headers).length > 0 ? { createAuthHeaders: () => Promise.resolve({ verify: headers, settle: headers, supported: headers }) } : {};
  const quick = new HTTPFacilitatorClient({ url: options.url, timeoutMs: options.quickTimeoutMs ?? Math.min(15_000, timeoutMs), ...auth });
  const slow = new HTTPFacilitatorClient({ url: options.url, timeoutMs, ...auth });
  const where = redactedUrl(options.url);
  let supported: SupportedResponse | null = null;
  // The facilitator's own verdicts (VerifyError, SettleError) pass through; anything else means it could not
  // be asked or did not answer sensibly. The client's answer names neither host nor port: those go to the log.
  const guard = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      if (err instanceof VerifyError && chainUnreachable(err.invalidReason, err.invalidMessage)) {
        options.logger?.warn({ operation, facilitator: where, reason: err.invalidReason }, "hosted facilitator cannot reach its chain");
        throw new FacilitatorUnavailableError(operation, "its Solana RPC is unreachable", { cause: err });
      }
      if (err instanceof SettleError && chainUnreachable(err.errorReason, err.errorMessage)) {
        options.logger?.warn({ operation, facilitator: where, reason: err.errorReason }, "hosted facilitator cannot reach its chain");
        throw new FacilitatorUnavailableError(operation, "its Solana RPC is unreachable", { cause: err });
      }
      if (err instanceof VerifyError || err instanceof SettleError) throw err;
      options.logger?.warn({ operation, facilitator: where, err: transportDetail(err) }, "hosted facilitator unavailable");
      throw new FacilitatorUnavailableError(operation, isTransportError(err) ? "not reachable" : "no usable answer", { cause: err });
    }
  };
  const fetchSupported = () => guard("supported", () => quick.getSupported());
  const facilitator: PaywallFacilitator = {
    kind: "hosted",
    describe: `hosted ${where}`,
    async verify(p, r) {
      const result = await guard("verify", () => quick.verify(p, r));
      if (!result.isValid && chainUnreachable(result.invalidReason, result.invalidMessage)) {
        throw new FacilitatorUnavailableError("verify", "its Solana RPC is unreachable");
      }
      if (!result.isValid && FEE_PAYER_NOT_MANAGED.test(result.invalidReason ?? "")) options.onStaleFeePayer?.();
      return result;
    },
    async settle(p, r) {
      const result = await guard("settle", () => slow.settle(p, r));
      if (!result.success && chainUnreachable(result.errorReason, result.errorMessage)) {
        throw new FacilitatorUnavailableError("settle", "its Solana RPC is unreachable");
      }
      if (!result.success && FEE_PAYER_NOT_MANAGED.test(result.errorReason ?? "")) options.onStaleFeePayer?.();
      return result;
    },
    // Answered from the last refresh, so x402's re-initialisation (which clears its tables before asking)
    // completes within one turn of the event loop.
    async getSupported() {
      return (supported ??= await fetchSupported());
    },
    async refresh() {
      const fresh = await fetchSupported();
      const changed = supported !== null && JSON.stringify(fresh) !== JSON.stringify(supported);
      const before = supported ? feePayerOf(supported) : undefined;
      supported = fresh;
      if (changed) options.logger?.info({ facilitator: where, feePayer: feePayerOf(fresh), previous: before }, "facilitator's supported kinds changed");
      return changed;
    },
    feePayer: () => (supported ? feePayerOf(supported) : undefined),
  };
  return facilitator;
}

type RpcMethod = "simulateTransaction" | "sendTransaction" | "confirmTransaction";

/**
 * The scheme turns RPC failures into "invalid payment" answers. To tell "the chain is unreachable" from
 * "the payment is bad", every RPC call made during one verify/settle records a transport failure here.
 */
const rpcFailures = new AsyncLocalStorage<{ failure?: unknown }>();

function trackRpcFailures(signer: FacilitatorSvmSigner): FacilitatorSvmSigner {
  const wrap = <K extends RpcMethod>(name: K): FacilitatorSvmSigner[K] => {
    const original = signer[name] as (...args: unknown[]) => Promise<unknown>;
    return (async (...args: unknown[]) => {
      try {
        return await original.apply(signer, args);
      } catch (err) {
        const store = rpcFailures.getStore();
        if (store && isTransportError(err)) store.failure = err;
        throw err;
      }
    }) as FacilitatorSvmSigner[K];
  };
  return {
    ...signer,
    simulateTransaction: wrap("simulateTransaction"),
    sendTransaction: wrap("sendTransaction"),
    confirmTransaction: wrap("confirmTransaction"),
  };
}

/** What the fee payer agrees to pay for, per payment (see ExactSvmSchemeOptions). */
export interface FeeCaps {
  maxComputeUnits: number;
  maxPriorityFeeMicroLamports: number;
  maxRequiredSignatures: number;
}

/**
 * Defaults for sub-dollar payments: a stock client asks 20,000 compute units at 1 µlamport. At the caps the
 * fee payer spends at most 2 x 5,000 lamports of signatures plus 50,000 x 10,000 / 10^6 = 500 lamports of
 * priority fee (about 0.0000105 SOL), instead of ~0.007 SOL with the scheme's own limits.
 */
export const DEFAULT_FEE_CAPS: FeeCaps = Object.freeze({ maxComputeUnits: 50_000, maxPriorityFeeMicroLamports: 10_000, maxRequiredSignatures: 2 });

export interface InProcessFacilitatorOptions {
  logger?: Logger;
  /** The fee payer's 64-byte secret key (Solana CLI keypair file contents). */
  secretKey: Uint8Array;
  rpcUrl: string;
  network: Network;
  feeCaps?: FeeCaps;
  /** Deadline of each RPC call (simulate, send, each confirmation poll). Default DEFAULT_RPC_TIMEOUT_MS. */
  rpcTimeoutMs?: number;
}

/** A black-holed RPC fails a paid request within this (plus the scheme's own handful of calls). */
export const DEFAULT_RPC_TIMEOUT_MS = 5_000;

/** The JSON-RPC client the scheme uses, each call bounded by `timeoutMs` (the stock one waits forever on a silent node). */
export function rpcWithDeadline(url: string, timeoutMs: number): FacilitatorRpcClient {
  const transport = createDefaultRpcTransport({ url });
  const bounded: RpcTransport = (config) => {
    const deadline = AbortSignal.timeout(timeoutMs);
    return transport({ ...config, signal: config.signal ? AbortSignal.any([config.signal, deadline]) : deadline });
  };
  // The scheme types its client per cluster; the methods it calls are the same on every cluster.
  return createSolanaRpcFromTransport(bounded) as unknown as FacilitatorRpcClient;
}

/**
 * x402Facilitator + ExactSvmScheme in this process. Its getSupported is synchronous and the signer is made
 * asynchronously, hence this adapter.
 */
export function createInProcessFacilitator(options: InProcessFacilitatorOptions): PaywallFacilitator & { ready: Promise<string> } {
  const built = (async () => {
    const keypair = await createKeyPairSignerFromBytes(options.secretKey);
    const signer = trackRpcFailures(toFacilitatorSvmSigner(keypair, {
        // By network: the scheme tells a single client from a map with `"getSlot" in`, which the RPC proxy fails.
        [options.network]: rpcWithDeadline(options.rpcUrl, options.rpcTimeoutMs ?? DEFAULT_RPC_TIMEOUT_MS),
      }),);
    const scheme = new ExactSvmScheme(signer, undefined, { ...(options.feeCaps ?? DEFAULT_FEE_CAPS) });
    const facilitator = new x402Facilitator().register(options.network, scheme);
    return { facilitator, address: keypair.address as string };
  })();
  // A bad key fails here and in every call; nothing is left unhandled in the meantime.
  built.catch(() => undefined);

  const run = async <T extends VerifyResponse | SettleResponse>(
    operation: "verify" | "settle",
    call: (f: x402Facilitator) => Promise<T>,
  ): Promise<T> => {
    const { facilitator } = await built;
    const store: { failure?: unknown } = {};
    let result: T;
    try {
      result = await rpcFailures.run(store, () => call(facilitator));
    } catch (err) {
      if (store.failure !== undefined || isTransportError(err)) {
        options.logger?.warn({ operation, err: transportDetail(store.failure ?? err) }, "facilitator's Solana RPC unreachable");
        throw new FacilitatorUnavailableError(operation, "Solana RPC unreachable", { cause: err });
      }
      throw err;
    }
    const failed = "isValid" in result ? !result.isValid : !result.success;
    if (failed && store.failure !== undefined) {
      options.logger?.warn({ operation, err: transportDetail(store.failure) }, "facilitator's Solana RPC unreachable");
      throw new FacilitatorUnavailableError(operation, "Solana RPC unreachable", { cause: store.failure });
    }
    return result;
  };

  let address: string | undefined;
  void built.then((b) => (address = b.address));
  return {
    kind: "in-process",
    describe: `in-process against ${redactedUrl(options.rpcUrl)}`,
    ready: built.then((b) => b.address),
    // Its key is read once at start-up: nothing to refresh.
    refresh: () => Promise.resolve(false),
    feePayer: () => address,
    verify: (p: PaymentPayload, r: PaymentRequirements) => run("verify", (f) => f.verify(p, r)),
    settle: (p: PaymentPayload, r: PaymentRequirements) => run("settle", (f) => f.settle(p, r)),
    async getSupported(): Promise<SupportedResponse> {
      const { facilitator } = await built;
      const supported = facilitator.getSupported();
      // x402Facilitator types its networks as plain strings; they are the CAIP-2 ids it was registered with.
      return { ...supported, kinds: supported.kinds.map((k) => ({ ...k, network: k.network as Network })) };
    },
  };
}

/** The facilitator the configuration names: hosted when X402_FACILITATOR_URL is set, else in-process with its own keypair. */
export function facilitatorFromConfig(config: Config, options: { logger?: Logger; onStaleFeePayer?: () => void } = {}): PaywallFacilitator {
  const { x402, solana } = config;
  if (x402.facilitatorUrl) {
    return createHostedFacilitator({
      url: x402.facilitatorUrl,
      timeoutMs: x402.facilitatorTimeoutSeconds * 1000,
      headers: x402.facilitatorHeaders,
      ...options,
    });
  }
  if (x402.facilitatorKeypairPath === undefined) throw new ConfigError("X402_FACILITATOR_KEYPAIR: required by the api role unless X402_FACILITATOR_URL is set");
  const secretKey = readKeypairFile(x402.facilitatorKeypairPath, "facilitator keypair");
  return createInProcessFacilitator({
    secretKey,
    rpcUrl: solana.rpcUrl,
    network: x402.network as Network,
    feeCaps: x402.feeCaps,
    ...(options.logger ? { logger: options.logger } : {}),
  });
}
