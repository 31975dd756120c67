/**
 * The channel stake writes (stakes.ts, stakes-bulk.ts) and tier table changes (tier-table.ts) announce
 * themselves on, and the statements of the connection that LISTENs on it.
 */
import pg from "pg";
import { heldStake } from "../../domain/tiers.ts";

/** Postgres NOTIFY channel announcing every applied stake change (sent inside the writing transaction). */
export const STAKE_CHANGES_CHANNEL = "stake_changes";

/** The JSON payload of a STAKE_CHANGES_CHANNEL notification. u64 values are decimal strings. */
export interface StakeChangeNotice {
  owner: string;
  pool: string;
  address: string;
  tier: string;
  discountBps: number;
  effectiveStake: string;
  slot: string;
}

/**
 * Statements on a connection that LISTENs for stake changes (the tier cache's own). Both run on that one
 * connection, so a load issued after `listen` misses no change: what it does not see arrives as a notice.
 */
export function createStakeChangeListener(client: pg.ClientBase) {
  return {
    async listen(): Promise<void> {
      await client.query(`LISTEN ${pg.escapeIdentifier(STAKE_CHANGES_CHANNEL)}`);
    },

    /** Every stake of the pool: owner, slot and effective stake (held: see heldStake). */
    async poolStakes(pool: string): Promise<{ owner: string; slot: bigint; effectiveStake: bigint }[]> {
      const { rows } = await client.query<{ owner: string; slot: string; closed: boolean; effective: string }>(
        "SELECT owner, slot::text AS slot, closed, effective_stake::text AS effective FROM stakes WHERE pool = $1",
        [pool],
      );
      return rows.map((r) => ({
        owner: r.owner,
        slot: BigInt(r.slot),
        effectiveStake: heldStake({ closed: r.closed, effectiveStake: BigInt(r.effective) }).effectiveStake,
      }));
    },
  };
}
