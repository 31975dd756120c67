/**
 * The cluster as a one-validator devnet: identity, nodes, vote accounts, leader schedule, inflation, supply,
 * stake minimum, and the shred/retransmit/snapshot slots. The chain has one leader for every slot and pays no
 * inflation rewards.
 */
import { createHash } from "node:crypto";
import { Keypair } from "@solana/web3.js";
import { RpcError, invalidParams } from "../errors.ts";
import { checkContext, configParam, describe, pubkeyParam, requireCount, u64Param, usizeParam } from "../params.ts";
import { SLOTS_PER_EPOCH } from "./cluster.ts";
import { API_VERSION, withContext, type MethodHandler } from "./context.ts";

const derived = (label: string) =>
  Keypair.fromSeed(createHash("sha256").update(`kamiyo-localnet-${label}`).digest()).publicKey.toBase58();
/** The one validator's identity and vote account (stable across runs). */
export const VALIDATOR_IDENTITY = derived("identity");
export const VOTE_ACCOUNT = derived("vote");
const SYSTEM_PROGRAM = "11111111111111111111111111111111";
const FEATURE_SET = 4_140_108_451;
const MAX_SLOT_LEADERS = 5000;
const MAX_LARGEST_ACCOUNTS = 20;
const MAX_INFLATION_ADDRESSES = 1000;
/** What the chain's genesis minted (faucet and internal payer); fees are not burnt from it. */
const TOTAL_SUPPLY = 1n << 63n;
const ACTIVATED_STAKE = 1_000_000_000_000_000n;
const INFLATION = { initial: 0.08, terminal: 0.015, taper: 0.15, foundation: 0.05, foundationTerm: 7 };

const getIdentity: MethodHandler = (params) => {
  requireCount(params, 0, 0);
  return { identity: VALIDATOR_IDENTITY };
};

const getClusterNodes: MethodHandler = (params) => {
  requireCount(params, 0, 0);
  return [
    {
      pubkey: VALIDATOR_IDENTITY,
      gossip: "127.0.0.1:8001",
      tpu: "127.0.0.1:8003",
      tpuQuic: "127.0.0.1:8009",
      tpuForwards: "127.0.0.1:8004",
      tpuForwardsQuic: "127.0.0.1:8010",
      tpuVote: "127.0.0.1:8005",
      tvu: "127.0.0.1:8000",
      serveRepair: "127.0.0.1:8008",
      rpc: null,
      pubsub: null,
      version: API_VERSION,
      featureSet: FEATURE_SET,
      shredVersion: 0,
    },
  ];
};

const getVoteAccounts: MethodHandler = (params, { chain }) => {
  requireCount(params, 0, 1);
  const config = configParam(params[0]);
  const level = checkContext(chain, config);
  if (config.votePubkey !== undefined && config.votePubkey !== null) pubkeyParam(config.votePubkey, "votePubkey");
  const wanted = config.votePubkey === undefined || config.votePubkey === null || config.votePubkey === VOTE_ACCOUNT;
  const epoch = chain.epoch();
  const current = wanted
    ? [
        {
          votePubkey: VOTE_ACCOUNT,
          nodePubkey: VALIDATOR_IDENTITY,
          activatedStake: ACTIVATED_STAKE,
          epochVoteAccount: true,
          commission: 0,
          lastVote: chain.slot(level),
          rootSlot: chain.slot("finalized"),
          epochCredits: [[epoch, 0, 0]],
        },
      ]
    : [];
  return { current, delinquent: [] };
};

const getLeaderSchedule: MethodHandler = (params, { chain }) => {
  requireCount(params, 0, 2);
  // the first parameter is a slot, or the config in its place
  const slotGiven = typeof params[0] === "number" || typeof params[0] === "bigint";
  const config = configParam(slotGiven ? params[1] : params[0]);
  const level = checkContext(chain, config);
  const slot = slotGiven ? u64Param(params[0], "slot") : chain.slot(level);
  const epoch = slot / SLOTS_PER_EPOCH;
  if (epoch > chain.epoch() + 1n) return null;
  if (config.identity !== undefined && config.identity !== null) {
    if (pubkeyParam(config.identity, "identity") !== VALIDATOR_IDENTITY) return {};
  }
  return { [VALIDATOR_IDENTITY]: Array.from({ length: Number(SLOTS_PER_EPOCH) }, (_, i) => i) };
};

const getSlotLeader: MethodHandler = (params, { chain }) => {
  requireCount(params, 0, 1);
  checkContext(chain, configParam(params[0]));
  return VALIDATOR_IDENTITY;
};

const getSlotLeaders: MethodHandler = (params) => {
  requireCount(params, 2, 2);
  u64Param(params[0], "start_slot");
  const limit = usizeParam(params[1], "limit");
  if (limit > MAX_SLOT_LEADERS) throw invalidParams(`Invalid limit; max ${MAX_SLOT_LEADERS}`);
  return Array.from({ length: limit }, () => VALIDATOR_IDENTITY);
};

const getInflationGovernor: MethodHandler = (params, { chain }) => {
  requireCount(params, 0, 1);
  checkContext(chain, configParam(params[0]));
  return INFLATION;
};

const getInflationRate: MethodHandler = (params, { chain }) => {
  requireCount(params, 0, 0);
  const epoch = chain.epoch();
  // devnet's schedule: the initial rate tapers 15 % a year (one epoch ~ 2 days here, as there)
  const years = Number(epoch) / 182.5;
  const total = Math.max(INFLATION.terminal, INFLATION.initial * Math.pow(1 - INFLATION.taper, years));
  const foundation = years < INFLATION.foundationTerm ? total * INFLATION.foundation : 0;
  return { epoch, total, validator: total - foundation, foundation };
};

const getInflationReward: MethodHandler = (params, { chain }) => {
  requireCount(params, 1, 2);
  if (!Array.isArray(params[0])) {
    throw invalidParams(`Invalid params: addresses: invalid type: ${describe(params[0])}, expected a sequence`);
  }
  if (params[0].length > MAX_INFLATION_ADDRESSES) throw invalidParams(`Too many inputs provided; max ${MAX_INFLATION_ADDRESSES}`);
  params[0].forEach((a, i) => pubkeyParam(a, `addresses[${i}]`));
  const config = configParam(params[1]);
  checkContext(chain, config);
  const epoch = config.epoch === undefined || config.epoch === null ? chain.epoch() - 1n : u64Param(config.epoch, "epoch");
  if (epoch >= chain.epoch()) {
    throw new RpcError(-32004, `Block not available for slot ${epoch * SLOTS_PER_EPOCH}`);
  }
  // no inflation rewards are paid on the local chain
  return params[0].map(() => null);
};

const getSupply: MethodHandler = (params, { chain }) => {
  requireCount(params, 0, 1);
  const config = configParam(params[0]);
  const level = checkContext(chain, config);
  return withContext(chain.slot(level), {
    total: TOTAL_SUPPLY,
    circulating: TOTAL_SUPPLY,
    nonCirculating: 0n,
    // nothing is non-circulating here, so the list is empty whether or not it was excluded
    nonCirculatingAccounts: [],
  });
};

const getLargestAccounts: MethodHandler = (params, { chain }) => {
  requireCount(params, 0, 1);
  const config = configParam(params[0]);
  const level = checkContext(chain, config);
  if (config.filter !== undefined && config.filter !== null && config.filter !== "circulating" && config.filter !== "nonCirculating") {
    throw invalidParams(`Invalid params: filter: unknown variant ${describe(config.filter)}, expected \`circulating\` or \`nonCirculating\``);
  }
  if (config.filter === "nonCirculating") return withContext(chain.slot(level), []);
  // wallets: the system program's accounts (token accounts, PDAs and programs hold little SOL here)
  const top: { address: string; lamports: bigint }[] = [];
  for (const { pubkey, account } of chain.getProgramAccounts(SYSTEM_PROGRAM, level)) {
    if (top.length === MAX_LARGEST_ACCOUNTS && account.lamports <= top[top.length - 1]!.lamports) continue;
    top.push({ address: pubkey, lamports: account.lamports });
    top.sort((a, b) => (a.lamports < b.lamports ? 1 : a.lamports > b.lamports ? -1 : 0));
    if (top.length > MAX_LARGEST_ACCOUNTS) top.pop();
  }
  return withContext(chain.slot(level), top);
};

const getStakeMinimumDelegation: MethodHandler = (params, { chain }) => {
  requireCount(params, 0, 1);
  const level = checkContext(chain, configParam(params[0]));
  return withContext(chain.slot(level), 1n);
};

const getMaxShredInsertSlot: MethodHandler = (params, { chain }) => {
  requireCount(params, 0, 0);
  return chain.slot();
};

const getMaxRetransmitSlot: MethodHandler = (params, { chain }) => {
  requireCount(params, 0, 0);
  return chain.slot();
};

const getHighestSnapshotSlot: MethodHandler = (params) => {
  requireCount(params, 0, 0);
  throw new RpcError(-32008, "No snapshot");
};

export const networkMethods: Record<string, MethodHandler> = {
  getIdentity,
  getClusterNodes,
  getVoteAccounts,
  getLeaderSchedule,
  getSlotLeader,
  getSlotLeaders,
  getInflationGovernor,
  getInflationRate,
  getInflationReward,
  getSupply,
  getLargestAccounts,
  getStakeMinimumDelegation,
  getMaxShredInsertSlot,
  getMaxRetransmitSlot,
  getHighestSnapshotSlot,
};
