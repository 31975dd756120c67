import { AsyncLocalStorage } from "node:async_hooks";
import { createDefaultRpcTransport, createKeyPairSignerFromBytes, createSolanaRpcFromTransport, type RpcTransport } from "@solana/kit";
import { x402Facilitator } from "@x402/core/facilitator";
import type { Network, PaymentPayload, PaymentRequirements, SettleResponse, SupportedResponse, VerifyResponse } from "@x402/core/types";
import { toFacilitatorSvmSigner, type FacilitatorRpcClient, type FacilitatorSvmSigner } from "@x402/svm";
import { ExactSvmScheme } from "@x402/svm/exact/facilitator";
import type { Logger } from "../../src/log.ts";
import type { PaywallFacilitator } from "./facilitator.ts";
import { FacilitatorUnavailableError, isTransportError, redactedUrl, transportDetail } from "./facilitator-failures.ts";

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
