/**
 * What a transaction on the payTo USDC account's history is to the revenue ledger. Pure: decodes the wire
 * transaction, names the payment with the paywall's own key (api/paywall/payment-header.ts paymentKeyOf),
 * measures payTo's increase from the token balances, and recognises the x402 Solana `exact` shape (compute
 * budget, one TransferChecked of USDC into payTo's account signed by a wallet other than the fee payer, an
 * optional memo). Tier and savings are derived from the routes' prices when exactly one price decision
 * matches the amount.
 */
import { getCompiledTransactionMessageDecoder, getTransactionDecoder } from "@solana/kit";
import type { PaidRoute } from "../../src/config.ts";
import { fullPrice, priceForTier, type PriceDecision } from "../../src/domain/quote.ts";
import type { DiscountTier } from "../../src/domain/tiers.ts";
import { paymentKeyOf } from "../../api/paywall/payment-header.ts";
import type { FetchedTransaction } from "./chain-history.ts";

const COMPUTE_BUDGET = "ComputeBudget111111111111111111111111111111";
const MEMO_PROGRAMS = new Set(["MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr", "Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo"]);
const TOKEN_PROGRAMS = new Set(["TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA", "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"]);
const TRANSFER_CHECKED = 12;

const txDecoder = getTransactionDecoder();
const messageDecoder = getCompiledTransactionMessageDecoder();

export type Classified =
  /** payTo's USDC did not increase (an outgoing or unrelated transaction). */
  | { kind: "none" }
  /** An x402 `exact` payment: its key, the wallet that signed the transfer, the amount. */
  | { kind: "x402"; paymentKey: string; payer: string; amount: bigint; recentBlockhash: string }
  /** USDC reached payTo some other way; `paymentKey` still lets a ledger row claim it. */
  | { kind: "incoming"; paymentKey: string; amount: bigint; sourceOwner: string | null; reason: string };

export function classifyTransaction(tx: FetchedTransaction, payToAccount: string, usdcMint: string): Classified {
  if (tx.failed) return { kind: "none" };
  const decoded = txDecoder.decode(tx.raw);
  const messageBytes = Uint8Array.from(decoded.messageBytes);
  const message = messageDecoder.decode(messageBytes);
  const keys = [...message.staticAccounts.map(String), ...tx.loadedWritable, ...tx.loadedReadonly];
  const balanceOf = (list: FetchedTransaction["preTokenBalances"]) => list.find((b) => keys[b.accountIndex] === payToAccount && b.mint === usdcMint)?.amount ?? 0n;
  const amount = balanceOf(tx.postTokenBalances) - balanceOf(tx.preTokenBalances);
  if (amount <= 0n) return { kind: "none" };
  const paymentKey = paymentKeyOf(messageBytes);
  const feePayer = keys[0];
  if (!("instructions" in message)) return { kind: "incoming", paymentKey, amount, sourceOwner: null, reason: "unsupported_message_version" };

  let transfer: { authority: string; destination: string; mint: string; amount: bigint; source: string } | null = null;
  let problem: string | null = null;
  for (const ix of message.instructions) {
    const program = keys[ix.programAddressIndex];
    if (program === COMPUTE_BUDGET || (program !== undefined && MEMO_PROGRAMS.has(program))) continue;
    if (program === undefined || !TOKEN_PROGRAMS.has(program)) {
      problem = "other_instructions";
      break;
    }
    const data = ix.data ?? new Uint8Array();
    const accounts = ix.accountIndices ?? [];
    if (transfer !== null || data[0] !== TRANSFER_CHECKED || data.length < 10 || accounts.length < 4) {
      problem = "not_a_single_transfer_checked";
      break;
    }
    const at = (i: number) => keys[accounts[i]!] ?? "";
    transfer = { source: at(0), mint: at(1), destination: at(2), authority: at(3), amount: Buffer.from(data).readBigUInt64LE(1) };
  }
  const sourceOwner = transfer?.authority ?? null;
  if (problem === null && transfer === null) problem = "no_token_transfer";
  if (problem === null && transfer) {
    if (transfer.destination !== payToAccount || transfer.mint !== usdcMint) problem = "transfer_not_to_pay_to";
    else if (transfer.amount !== amount) problem = "amount_differs_from_balance_change";
    else if (transfer.authority === feePayer) problem = "no_separate_fee_payer";
  }
  if (problem !== null || !transfer) return { kind: "incoming", paymentKey, amount, sourceOwner, reason: problem ?? "no_token_transfer" };
  return { kind: "x402", paymentKey, payer: transfer.authority, amount, recentBlockhash: message.lifetimeToken };
}

/** What a recovered row can say about a payment of `amount`: its route and price decision, when only one fits. */
export interface Derived {
  source: "recovered_derived" | "recovered";
  endpoint: string;
  method: string;
  decision: PriceDecision;
}

/** Placeholder route of a recovered row whose route cannot be told. */
export const UNKNOWN_ROUTE = "(unknown)";

export function deriveUsage(amount: bigint, routes: readonly PaidRoute[], tiers: readonly DiscountTier[]): Derived {
  const matches: Array<{ route: PaidRoute; decision: PriceDecision }> = [];
  for (const route of routes) {
    const decisions = [fullPrice(route.price), ...tiers.map((t) => priceForTier(route.price, { name: t.name, discountBps: t.discountBps, priority: t.priority }))];
    for (const d of decisions) if (d.amount === amount && !matches.some((m) => m.route === route && m.decision.tier === d.tier)) matches.push({ route, decision: d });
  }
  const decisions = new Set(matches.map((m) => `${m.decision.original}:${m.decision.tier ?? ""}`));
  if (decisions.size !== 1) {
    return { source: "recovered", endpoint: UNKNOWN_ROUTE, method: UNKNOWN_ROUTE, decision: { amount, original: amount, savings: 0n, discountBps: 0, tier: null } };
  }
  const routesMatched = new Set(matches.map((m) => m.route));
  const only = matches[0]!;
  return {
    source: "recovered_derived",
    endpoint: routesMatched.size === 1 ? only.route.path : UNKNOWN_ROUTE,
    method: routesMatched.size === 1 ? only.route.method : UNKNOWN_ROUTE,
    decision: only.decision,
  };
}
