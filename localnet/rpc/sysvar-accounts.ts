/** jsonParsed sysvar accounts, chosen by address (every sysvar shares one owner). Shapes: see account-parsers.ts. */
import { Reader, Short } from "./bincode-reader.ts";

const SLOT_HISTORY_BITS = 1024 * 1024;

export function sysvar(pubkey: string | undefined, data: Uint8Array): unknown {
  const r = new Reader(data);
  switch (pubkey) {
    case "SysvarC1ock11111111111111111111111111111111": {
      const slot = r.u64();
      const epochStartTimestamp = r.i64();
      const epoch = r.u64();
      const leaderScheduleEpoch = r.u64();
      return { type: "clock", info: { slot, epoch, epochStartTimestamp, leaderScheduleEpoch, unixTimestamp: r.i64() } };
    }
    case "SysvarEpochSchedu1e111111111111111111111111": {
      const slotsPerEpoch = r.u64();
      const leaderScheduleSlotOffset = r.u64();
      const warmup = r.bool();
      const firstNormalEpoch = r.u64();
      return { type: "epochSchedule", info: { slotsPerEpoch, leaderScheduleSlotOffset, warmup, firstNormalEpoch, firstNormalSlot: r.u64() } };
    }
    case "SysvarFees111111111111111111111111111111111":
      return { type: "fees", info: { feeCalculator: { lamportsPerSignature: r.u64().toString() } } };
    case "SysvarRecentB1ockHashes11111111111111111111":
      return {
        type: "recentBlockhashes",
        info: r.vec(() => {
          const blockhash = r.key();
          return { blockhash, feeCalculator: { lamportsPerSignature: r.u64().toString() } };
        }),
      };
    case "SysvarRent111111111111111111111111111111111": {
      const lamportsPerByteYear = r.u64().toString();
      const exemptionThreshold = r.f64();
      return { type: "rent", info: { lamportsPerByteYear, exemptionThreshold, burnPercent: r.u8() } };
    }
    case "SysvarRewards111111111111111111111111111111":
      return { type: "rewards", info: { validatorPointValue: r.f64() } };
    case "SysvarS1otHashes111111111111111111111111111":
      return {
        type: "slotHashes",
        info: r.vec(() => {
          const slot = r.u64();
          return { slot, hash: r.key() };
        }),
      };
    case "SysvarS1otHistory11111111111111111111111111": {
      const words = r.option(() => r.vec(() => r.u64())) ?? [];
      r.u64(); // bit length
      const nextSlot = r.u64();
      const bits = new Uint8Array(SLOT_HISTORY_BITS).fill(48); // '0'
      words.forEach((word, w) => {
        for (let b = 0; b < 64 && word !== 0n; b++, word >>= 1n) if (word & 1n) bits[w * 64 + b] = 49; // '1'
      });
      return { type: "slotHistory", info: { nextSlot, bits: Buffer.from(bits).toString("latin1") } };
    }
    case "SysvarStakeHistory1111111111111111111111111":
      return {
        type: "stakeHistory",
        info: r.vec(() => {
          const epoch = r.u64();
          const effective = r.u64();
          const activating = r.u64();
          return { epoch, stakeHistory: { effective, activating, deactivating: r.u64() } };
        }),
      };
    case "SysvarLastRestartS1ot1111111111111111111111":
      return { type: "lastRestartSlot", info: { lastRestartSlot: r.u64() } };
    case "SysvarEpochRewards1111111111111111111111111": {
      const distributionStartingBlockHeight = r.u64();
      const numPartitions = r.u64();
      const parentBlockhash = r.key();
      const totalPoints = r.u128().toString();
      const totalRewards = r.u64().toString();
      const distributedRewards = r.u64().toString();
      const active = r.bool();
      return {
        type: "epochRewards",
        info: { distributionStartingBlockHeight, numPartitions, parentBlockhash, totalPoints, totalRewards, distributedRewards, active },
      };
    }
    case undefined:
    default:
      throw new Short();
  }
}
