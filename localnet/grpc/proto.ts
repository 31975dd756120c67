/**
 * The Yellowstone gRPC service definition (geyser.proto and solana-storage.proto from rpcpool/yellowstone-grpc,
 * shipped unmodified under ./proto with their Apache-2.0 header), loaded with @grpc/proto-loader.
 * Field names are camelCase, u64 values decimal strings, bytes Buffers, enums numbers.
 */
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const PROTO_DIR = fileURLToPath(new URL("./proto/", import.meta.url));

export const COMMITMENT_LEVELS = ["processed", "confirmed", "finalized"] as const;
/** geyser.CommitmentLevel and geyser.SlotStatus (0..2 share the order). */
export const COMMITMENT_CODE = { processed: 0, confirmed: 1, finalized: 2 } as const;

let loaded: grpc.ServiceDefinition | null = null;

/** The geyser.Geyser service definition (loaded once). */
export function geyserService(): grpc.ServiceDefinition {
  if (loaded) return loaded;
  const definition = protoLoader.loadSync("geyser.proto", {
    includeDirs: [PROTO_DIR],
    keepCase: false,
    longs: String,
    enums: Number,
    bytes: Buffer,
    defaults: false,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { geyser: { Geyser: { service: grpc.ServiceDefinition } } };
  loaded = pkg.geyser.Geyser.service;
  return loaded;
}
