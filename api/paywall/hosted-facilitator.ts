import { HTTPFacilitatorClient } from "@x402/core/server";
import type { SupportedResponse } from "@x402/core/types";
import { VerifyError, SettleError } from "@x402/core/types";
import type { Logger } from "../../src/log.ts";
import type { PaywallFacilitator } from "./facilitator.ts";
import { chainUnreachable, FacilitatorUnavailableError, FEE_PAYER_NOT_MANAGED, isTransportError, redactedUrl, transportDetail } from "./facilitator-failures.ts";

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
