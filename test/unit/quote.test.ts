/** Unpaid-quote decisions: a pure function of the route's prices, the wallet hint and the stake view, no server. */
import { describe, expect, it } from "vitest";
import { createRoutePrices, fullPrice, priceForSignedAmount, quoteUnpaid, type StakeView } from "../../src/domain/quote.ts";
import { NO_TIER, type TierMatch } from "../../src/domain/tiers.ts";

const gold: TierMatch = { name: "gold", discountBps: 2000, priority: "priority" };
const STAKER = "5tzFkiKscXHK5ZXCGbXZxdw7gTjjD1mBwuoFbhUvuAi9";
const NOBODY = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";

/** A stake view over fixed answers: which texts are addresses, and each wallet's tier (null: untrusted). */
function view(tiers: Record<string, TierMatch>, trusted = true): StakeView & { lookups: string[] } {
  const lookups: string[] = [];
  return {
    lookups,
    walletProblem: (text) => (text.length >= 32 && /^[1-9A-HJ-NP-Za-km-z]+$/.test(text) ? null : "not an address"),
    tierOf(wallet) {
      lookups.push(wallet);
      return trusted ? (tiers[wallet] ?? NO_TIER) : null;
    },
  };
}

describe("quoteUnpaid", () => {
  const prices = createRoutePrices(100_000n);

  it("quotes the full price without a hint, and does not look anyone up", () => {
    const stake = view({ [STAKER]: gold });
    for (const hint of [undefined, ""]) {
      expect(quoteUnpaid(prices, hint, stake)).toEqual({ decision: fullPrice(100_000n), quote: { basis: "no_hint", wallet: null } });
    }
    expect(stake.lookups).toEqual([]);
  });

  it("quotes the hinted wallet's own discount when stake data is trusted", () => {
    const q = quoteUnpaid(prices, STAKER, view({ [STAKER]: gold }));
    expect(q.quote).toEqual({ basis: "wallet_hint", wallet: STAKER });
    expect(q.decision).toEqual({ amount: 80_000n, original: 100_000n, savings: 20_000n, discountBps: 2000, tier: "gold" });
  });

  it("quotes a wallet without stake the full price, as a wallet hint", () => {
    const q = quoteUnpaid(prices, NOBODY, view({ [STAKER]: gold }));
    expect(q).toEqual({ decision: prices.full, quote: { basis: "wallet_hint", wallet: NOBODY } });
  });

  it("quotes the full price for a hint that is not an address, says why, and looks nothing up", () => {
    const stake = view({ [STAKER]: gold });
    const q = quoteUnpaid(prices, "not-a-wallet", stake);
    expect(q).toEqual({ decision: prices.full, quote: { basis: "invalid_hint", wallet: null, note: "x-wallet-address: not an address" } });
    expect(stake.lookups).toEqual([]);
  });

  it("never fails open: untrusted stake data quotes a staker the full price", () => {
    const q = quoteUnpaid(prices, STAKER, view({ [STAKER]: gold }, false));
    expect(q.decision).toBe(prices.full);
    expect(q.quote).toEqual({ basis: "stake_data_unavailable", wallet: STAKER, note: "stake data is being reloaded; full price until then" });
  });

  it("returns one decision object per route and tier, so answers can be keyed on it", () => {
    const stake = view({ [STAKER]: gold, [NOBODY]: gold });
    expect(quoteUnpaid(prices, STAKER, stake).decision).toBe(quoteUnpaid(prices, NOBODY, stake).decision);
    expect(quoteUnpaid(prices, undefined, stake).decision).toBe(quoteUnpaid(prices, "bad", stake).decision);
    expect(createRoutePrices(100_000n).forTier(gold)).not.toBe(prices.forTier(gold));
  });
});

describe("a paid request is priced by what its payer signed", () => {
  it("accepts the payer's own price or the full price, nothing else; a hinted quote for another wallet buys nothing", () => {
    expect(priceForSignedAmount(100_000n, 80_000n, gold)?.tier).toBe("gold");
    expect(priceForSignedAmount(100_000n, 100_000n, gold)).toEqual(fullPrice(100_000n));
    expect(priceForSignedAmount(100_000n, 80_000n, NO_TIER)).toBeNull();
    expect(priceForSignedAmount(100_000n, 80_000n, null)).toBeNull();
  });
});
