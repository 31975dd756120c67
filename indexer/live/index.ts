/**
 * Picks the term's live source from configuration: Yellowstone gRPC when an endpoint is configured
 * (SOLANA_GRPC_URL, token SOLANA_GRPC_TOKEN), else the websocket feed. Both take the same events and tunables.
 */
import type { Logger } from "pino";
import type { Commitment } from "../../src/config.ts";
import type { Backoff } from "../../src/retry.ts";
import { createLiveFeed } from "../live-feed.ts";
import type { ProgramAccountsFilter } from "../rpc-client.ts";
import { createGrpcSource } from "./grpc-source.ts";
import type { LiveSource, LiveSourceEvents } from "./source.ts";

export type { LiveSource, LiveSourceEvents, LiveSourceKind } from "./source.ts";

export interface LiveEndpoints {
  wsUrl: string;
  grpc: { url: string; token: string | undefined } | null;
}

export interface LiveSourceOptions extends LiveSourceEvents {
  endpoints: LiveEndpoints;
  programId: string;
  commitment: Commitment;
  filters: ProgramAccountsFilter[];
  logger: Logger;
  stallTimeoutMs: number;
  handshakeTimeoutMs: number;
  backoff: Backoff;
}

export function createLiveSource(o: LiveSourceOptions): LiveSource {
  const { endpoints, ...common } = o;
  if (endpoints.grpc) return createGrpcSource({ ...common, url: endpoints.grpc.url, token: endpoints.grpc.token });
  return createLiveFeed({ ...common, wsUrl: endpoints.wsUrl });
}
