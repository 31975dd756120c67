/**
 * The facilitator behind the paywall: a hosted one by URL, or one in this process (x402Facilitator with the
 * Solana exact scheme, its own fee-payer keypair, against the configured RPC). Either way, a facilitator
 * (or its chain) that cannot be reached surfaces as FacilitatorUnavailableError, which @x402/express answers
 * with a 502 and no content, rather than as a payment the client got wrong.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { createKeyPairSignerFromBytes, isSolanaError, SOLANA_ERROR__RPC__TRANSPORT_HTTP_ERROR } from "@solana/kit";
import { x402Facilitator } from "@x402/core/facilitator";
import { FacilitatorResponseError, HTTPFacilitatorClient, type FacilitatorClient } from "@x402/core/server";
import type { Network, PaymentPayload, PaymentRequirements, SettleResponse, SupportedResponse, VerifyResponse } from "@x402/core/types";
import { VerifyError, SettleError } from "@x402/core/types";
import { toFacilitatorSvmSigner, type FacilitatorSvmSigner } from "@x402/svm";
import { ExactSvmScheme } from "@x402/svm/exact/facilitator";
import type { Config } from "../../src/config.ts";
import { describeError, isTransientFailure } from "../../src/errors.ts";
import { readKeypairFile } from "../../src/solana/keypair-file.ts";

/** The facilitator, or the chain it settles on, cannot be reached. Retrying later can help. */
export class FacilitatorUnavailableError extends FacilitatorResponseError {
  override name = "FacilitatorUnavailableError";
  readonly operation: string;
  /** Read by isRetryable (src/errors.ts): the facilitator or its chain may answer a later attempt. */
  readonly retryable = true;
  constructor(operation: string, detail: string, options?: { cause?: unknown }) {
    super(`payment facilitator unavailable (${operation}): ${detail}`);
    this.operation = operation;
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

/** A facilitator this paywall can use, with what it is for logs. */
export interface PaywallFacilitator extends FacilitatorClient {
  readonly kind: "hosted" | "in-process";
  /** The fee payer (in-process) or the URL (hosted). */
  readonly describe: string;
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

/** A hosted facilitator (POST /verify, /settle, GET /supported). */
export function createHostedFacilitator(options: { url: string; timeoutMs?: number }): PaywallFacilitator {
  const http = new HTTPFacilitatorClient({ url: options.url, timeoutMs: options.timeoutMs ?? 30_000 });
  // The facilitator's own verdicts (VerifyError, SettleError) pass through; anything else means it could
  // not be asked or did not answer sensibly.
  const guard = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      if (err instanceof VerifyError || err instanceof SettleError || err instanceof FacilitatorResponseError) throw err;
      throw new FacilitatorUnavailableError(operation, transportDetail(err), { cause: err });
    }
  };
  return {
    kind: "hosted",
    describe: http.url,
    verify: (p, r) => guard("verify", () => http.verify(p, r)),
    settle: (p, r) => guard("settle", () => http.settle(p, r)),
    getSupported: () => guard("supported", () => http.getSupported()),
  };
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

export interface InProcessFacilitatorOptions {
  /** The fee payer's 64-byte secret key (Solana CLI keypair file contents). */
  secretKey: Uint8Array;
  rpcUrl: string;
  network: Network;
}

/**
 * x402Facilitator + ExactSvmScheme in this process. Its getSupported is synchronous and the signer is made
 * asynchronously, hence this adapter.
 */
export function createInProcessFacilitator(options: InProcessFacilitatorOptions): PaywallFacilitator & { ready: Promise<string> } {
  const built = (async () => {
    const keypair = await createKeyPairSignerFromBytes(options.secretKey);
    const signer = trackRpcFailures(toFacilitatorSvmSigner(keypair, { defaultRpcUrl: options.rpcUrl }));
    const facilitator = new x402Facilitator().register(options.network, new ExactSvmScheme(signer));
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
        throw new FacilitatorUnavailableError(operation, `Solana RPC unreachable: ${transportDetail(store.failure ?? err)}`, { cause: err });
      }
      throw err;
    }
    const failed = "isValid" in result ? !result.isValid : !result.success;
    if (failed && store.failure !== undefined) {
      throw new FacilitatorUnavailableError(operation, `Solana RPC unreachable: ${transportDetail(store.failure)}`, { cause: store.failure });
    }
    return result;
  };

  return {
    kind: "in-process",
    describe: `in-process against ${options.rpcUrl}`,
    ready: built.then((b) => b.address),
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
export function facilitatorFromConfig(config: Config): { client: FacilitatorClient; describe: string } {
  const { x402, solana } = config;
  if (x402.facilitatorUrl) return { client: createHostedFacilitator({ url: x402.facilitatorUrl }), describe: `hosted ${x402.facilitatorUrl}` };
  const secretKey = readKeypairFile(x402.facilitatorKeypairPath, "facilitator keypair");
  const client = createInProcessFacilitator({ secretKey, rpcUrl: solana.rpcUrl, network: x402.network as Network });
  return { client, describe: `in-process against ${solana.rpcUrl}` };
}
