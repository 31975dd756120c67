/** Prometheus series for the paywall, registered on the process's registry. */
import { Counter, Gauge, type Registry } from "prom-client";
import type { TierCacheStatus } from "./tier-cache.ts";

export interface PaywallMetrics {
  /** Unpaid quotes by how they were priced (no_hint, wallet_hint, invalid_hint, stake_data_unavailable). */
  quotes: Counter<"basis">;
  /** Settled payments by the discount tier applied ("none" for the full price). */
  settled: Counter<"tier">;
  /** Paid requests refused, by reason. */
  rejections: Counter<"reason">;
  /** Gauges read at scrape time. */
  observe(read: () => { tierCache: TierCacheStatus; pendingLedgerWrites: number }): void;
}

export function createPaywallMetrics(registry: Registry): PaywallMetrics {
  const registers = [registry];
  const quotes = new Counter({ name: "kamiyo_x402_quotes_total", help: "402 quotes by pricing basis", labelNames: ["basis"] as const, registers });
  const settled = new Counter({ name: "kamiyo_x402_payments_settled_total", help: "Settled x402 payments by discount tier", labelNames: ["tier"] as const, registers });
  const rejections = new Counter({ name: "kamiyo_x402_payment_rejections_total", help: "Paid requests refused, by reason", labelNames: ["reason"] as const, registers });
  let read: (() => { tierCache: TierCacheStatus; pendingLedgerWrites: number }) | null = null;
  new Gauge({
    name: "kamiyo_x402_tier_cache_healthy",
    help: "1 while the tier cache is loaded and listening (else every price is the full price)",
    registers,
    collect() {
      if (read) this.set(read().tierCache.healthy ? 1 : 0);
    },
  });
  new Gauge({
    name: "kamiyo_x402_stake_data_proof_of_life_age_seconds",
    help: "Seconds since the indexer last proved itself alive to the tier cache (heartbeat or stake change); past the bound every price is the full price",
    registers,
    collect() {
      const age = read?.().tierCache.proofOfLifeAgeMs;
      if (age !== undefined && age !== null) this.set(age / 1000);
    },
  });
  new Gauge({
    name: "kamiyo_x402_tier_cache_entries",
    help: "Stake owners held by the tier cache",
    registers,
    collect() {
      if (read) this.set(read().tierCache.entries);
    },
  });
  new Gauge({
    name: "kamiyo_x402_ledger_pending_writes",
    help: "Settled payments not yet written to x402_usage (database unavailable)",
    registers,
    collect() {
      if (read) this.set(read().pendingLedgerWrites);
    },
  });
  return {
    quotes,
    settled,
    rejections,
    observe(fn) {
      read = fn;
    },
  };
}
