/** The public read routes: a wallet's stake and discount, and the tier table. Never a chain read. */
import cors from "cors";
import { Router } from "express";
import type { Kysely } from "kysely";
import type { DiscountTier } from "../../src/domain/tiers.ts";
import { createTierTableRepository } from "../../src/db/repositories/tier-table.ts";
import type { Database } from "../../src/db/schema.ts";
import { HttpError } from "../errors.ts";
import { discountTiersJson, readStakeInfo, type StakeInfoJson } from "../stake-info.ts";
import { WalletParams } from "../openapi/schemas.ts";
import { validate } from "../openapi/validate.ts";

export interface StakingRoutesDeps {
  db: Kysely<Database>;
  tiers: readonly DiscountTier[];
  /** The staking pool whose stakes are served. */
  pool: string;
}

export function stakingRoutes(deps: StakingRoutesDeps): Router {
  const router = Router();
  const tierTable = createTierTableRepository(deps.db);
  // The table in effect is the one the indexer leader published; this process's own only until then.
  const tiersInEffect = async () => (await tierTable.read()) ?? deps.tiers;
  // Readable from any origin: public data, and no credentials are involved. Only on these routes, so other
  // routers (admin, paywall) keep their own policy.
  const anyOrigin = cors({ methods: ["GET"] });
  router.options(["/x402/staking/info/:wallet", "/x402/discount-tiers"], anyOrigin);

  router.get("/x402/staking/info/:wallet", anyOrigin, async (req, res) => {
    const { wallet } = validate(WalletParams, req.params, "invalid_wallet");
    let info: StakeInfoJson;
    try {
      info = await readStakeInfo(deps.db, wallet, deps.pool, await tiersInEffect());
    } catch (err) {
      // Clients may retry a 503; the cause (database down, pool exhausted) is logged, not returned.
      throw new HttpError("unavailable", "unavailable", "stake data cannot be read right now; retry shortly", { cause: err });
    }
    res.set("Cache-Control", "no-store").json(info);
  });

  router.get("/x402/discount-tiers", anyOrigin, async (_req, res) => {
    let tiers: readonly DiscountTier[];
    try {
      tiers = await tiersInEffect();
    } catch (err) {
      throw new HttpError("unavailable", "unavailable", "the tier table cannot be read right now; retry shortly", { cause: err });
    }
    res.set("Cache-Control", "public, max-age=60").json(discountTiersJson(tiers));
  });
  return router;
}
