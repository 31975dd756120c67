/**
 * The facilitator behind the paywall: a hosted one by URL, or one in this process (x402Facilitator with the
 * Solana exact scheme, its own fee-payer keypair, against the configured RPC). Either way, a facilitator
 * (or its chain) that cannot be reached surfaces as FacilitatorUnavailableError, which @x402/express answers
 * with a 502 and no content, rather than as a payment the client got wrong.
 */
import type { FacilitatorClient } from "@x402/core/server";
import type { Network } from "@x402/core/types";
import { ConfigError, type Config } from "../../src/config.ts";
import type { Logger } from "../../src/log.ts";
import { readKeypairFile } from "../../src/solana/keypair-file.ts";
import { createHostedFacilitator } from "./hosted-facilitator.ts";
import { createInProcessFacilitator } from "./in-process-facilitator.ts";

export { chainUnreachable, FacilitatorUnavailableError, FEE_PAYER_NOT_MANAGED, isTransportError, redactedUrl, transportDetail } from "./facilitator-failures.ts";
export { createHostedFacilitator, type HostedFacilitatorOptions } from "./hosted-facilitator.ts";
export {
  createInProcessFacilitator,
  DEFAULT_FEE_CAPS,
  DEFAULT_RPC_TIMEOUT_MS,
  rpcWithDeadline,
  type FeeCaps,
  type InProcessFacilitatorOptions,
} from "./in-process-facilitator.ts";

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
