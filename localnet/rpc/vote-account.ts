/** jsonParsed vote accounts: every vote state version the decoder reads, in its shapes (see account-parsers.ts). */
import { encodeBase58 } from "../../src/solana/base58.ts";
import { Reader, Short } from "./bincode-reader.ts";

/** Pubkey::default() (the System program's address), which unused prior-voter slots hold. */
const DEFAULT_PUBKEY = "11111111111111111111111111111111";

const MAX_PRIOR_VOTERS = 32;

/** Votes, root, authorized voters: the part every vote state version shares after its own header. */
function voteHistory(r: Reader, withLatency: boolean) {
  const votes = r.vec(() => {
    const latency = withLatency ? r.u8() : 0;
    const slot = r.u64();
    return { slot, confirmationCount: r.u32(), latency };
  });
  const rootSlot = r.option(() => r.u64());
  const authorizedVoters = r.vec(() => {
    const epoch = r.u64();
    return { epoch, authorizedVoter: r.key() };
  });
  return { votes, rootSlot, authorizedVoters };
}

function voteTail(r: Reader) {
  const epochCredits = r.vec(() => {
    const epoch = r.u64();
    const credits = r.u64().toString();
    return { epoch, credits, previousCredits: r.u64().toString() };
  });
  const slot = r.u64();
  return { epochCredits, lastTimestamp: { slot, timestamp: r.i64() } };
}

/** VoteStateV4 (SIMD-0185, what the current vote program writes), in the decoder's V4 shape. */
function voteV4(r: Reader): unknown {
  const nodePubkey = r.key();
  const authorizedWithdrawer = r.key();
  const inflationRewardsCollector = r.key();
  const blockRevenueCollector = r.key();
  const inflationRewardsCommissionBps = r.u16();
  const blockRevenueCommissionBps = r.u16();
  const pendingDelegatorRewards = r.u64().toString();
  const bls = r.option(() => new Uint8Array(Array.from({ length: 48 }, () => r.u8())));
  const { votes, rootSlot, authorizedVoters } = voteHistory(r, true);
  return {
    type: "vote",
    info: {
      nodePubkey,
      authorizedWithdrawer,
      commission: Math.floor(inflationRewardsCommissionBps / 100),
      inflationRewardsCollector,
      blockRevenueCollector,
      inflationRewardsCommissionBps,
      blockRevenueCommissionBps,
      pendingDelegatorRewards,
      blsPubkeyCompressed: bls ? encodeBase58(bls) : null,
      votes,
      rootSlot,
      authorizedVoters,
      priorVoters: [],
      ...voteTail(r),
    },
  };
}

export function vote(data: Uint8Array): unknown {
  const r = new Reader(data);
  const version = r.u32();
  if (version === 3) return voteV4(r);
  // 1: V1_14_11 (lockouts without latency), 2: V3 (landed votes with latency); V0_23_5 is long gone
  if (version !== 1 && version !== 2) throw new Short();
  const nodePubkey = r.key();
  const authorizedWithdrawer = r.key();
  const commission = r.u8();
  const history = voteHistory(r, version === 2);
  // the 2.3 decoder shows lockouts as slot and confirmation count only
  const votes = history.votes.map(({ slot, confirmationCount }) => ({ slot, confirmationCount }));
  const { rootSlot, authorizedVoters } = history;
  const buffer = Array.from({ length: MAX_PRIOR_VOTERS }, () => {
    const authorizedPubkey = r.key();
    const epochOfLastAuthorizedSwitch = r.u64();
    return { authorizedPubkey, epochOfLastAuthorizedSwitch, targetEpoch: r.u64() };
  });
  r.u64(); // circular buffer index
  r.bool(); // is_empty
  // the decoder lists the buffer in storage order, leaving out unused (default-key) slots
  const priorVoters = buffer.filter((v) => v.authorizedPubkey !== DEFAULT_PUBKEY);
  return {
    type: "vote",
    info: { nodePubkey, authorizedWithdrawer, commission, votes, rootSlot, authorizedVoters, priorVoters, ...voteTail(r) },
  };
}
