/**
 * A live source: what pushes account changes of the staking program to the indexer as they land. Two exist,
 * chosen by configuration: the websocket feed (programSubscribe + slotSubscribe, ../live-feed.ts) and
 * Yellowstone gRPC (./grpc-source.ts, when SOLANA_GRPC_URL is set). Both report through these events, use the
 * same stall watchdog (./liveness.ts), and feed the same buffer and write path (../term.ts).
 */
import type { AccountRead } from "../rpc-client.ts";

export type LiveSourceKind = "websocket" | "grpc";

export interface LiveSourceEvents {
  onAccount(read: AccountRead): void;
  /** Slot progress (the liveness signal). */
  onSlot(slot: bigint): void;
  /**
   * The source is subscribed. `reconnect` is false only for the very first subscription. `resumed` is true when
   * the source replayed everything since the slot it last delivered (gRPC fromSlot), so nothing was missed;
   * otherwise the gap since the source was lost must be healed by a resync.
   */
  onSubscribed(info: { reconnect: boolean; resumed: boolean }): void;
  /** The connection was given up (closed, errored, stalled); a reconnect follows. */
  onReconnect(reason: string): void;
}

export interface LiveSource {
  readonly kind: LiveSourceKind;
  start(): void;
  stop(): Promise<void>;
  /** Replaces the connection now (operators and tests); counts as a reconnect. */
  restart(reason: string): void;
  readonly subscribed: boolean;
}
