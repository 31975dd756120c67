/** Admin routes, behind the admin key. */
import { Router } from "express";
import type { IndexerApi } from "../../indexer/contracts.ts";
import type { Logger } from "../../src/log.ts";
import { adminAuth } from "../admin-auth.ts";
import { errorKind, KamiyoError, RetryableError } from "../../src/errors.ts";
import { HttpError } from "../errors.ts";
import { WalletParams } from "../openapi/schemas.ts";
import { validate } from "../openapi/validate.ts";

export interface AdminRoutesDeps {
  adminKey: string;
  indexerApi: IndexerApi;
  logger: Logger;
}

/**
 * What a failed resync answers. The indexer reports chain failures as upstream errors and anything it cannot
 * classify is taken as the chain too (502, as before); its own refusals keep their kind, and a transient
 * socket failure it did not wrap is the database (the RPC client classifies its own), so a database outage
 * answers 503 here as on every other route.
 */
function resyncFailure(err: unknown): Error {
  const kind = errorKind(err);
  if (kind === "upstream" || kind === "internal") {
    return new HttpError("upstream", "resync_failed", "the stake could not be re-read from the chain; retry later", { cause: err });
  }
  if (err instanceof KamiyoError) return err;
  return new RetryableError("unavailable", "the database cannot be reached", { code: "database_unavailable", cause: err });
}

export function adminRoutes(deps: AdminRoutesDeps): Router {
  const router = Router();
  const auth = adminAuth({ key: deps.adminKey });

  // Re-reads one wallet's stake from chain through the indexer's single write path.
  router.post("/x402/admin/resync/:wallet", auth, async (req, res) => {
    const { wallet } = validate(WalletParams, req.params, "invalid_wallet");
    let result: Awaited<ReturnType<IndexerApi["resyncWallet"]>>;
    try {
      result = await deps.indexerApi.resyncWallet(wallet);
    } catch (err) {
      throw resyncFailure(err);
    }
    deps.logger.info({ wallet, slot: result.slot, tier: result.tier }, "admin resync");
    res.json({ wallet, stakeAccount: result.address, slot: result.slot, effectiveStake: result.effectiveStake, tier: result.tier });
  });
  return router;
}
