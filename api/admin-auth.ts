/**
 * Admin authentication. The key may come as `Authorization: Bearer <key>`, as the seed's `x-admin-key`
 * header, or (for browsers, e.g. the queue UI) as the password of HTTP Basic. Comparison is constant-time.
 *
 * Browsers resend remembered Basic credentials with any request to this origin, also one a page elsewhere
 * makes them send. So a state-changing admin request that a browser marks cross-site (Sec-Fetch-Site) or
 * that comes from another Origin is refused before the key is looked at, and admin answers refuse to be
 * framed (no clickjacking of the queue UI's buttons).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Request, RequestHandler, Response } from "express";
import { HttpError } from "./errors.ts";

/**
 * Constant-time string equality. Both sides are hashed first so the comparison takes the same time
 * whatever their lengths (timingSafeEqual itself needs equal lengths).
 */
export function safeEqual(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given, "utf8").digest();
  const b = createHash("sha256").update(expected, "utf8").digest();
  return timingSafeEqual(a, b);
}

export interface AdminAuthOptions {
  key: string;
  /** Accept HTTP Basic (any user name, the key as password) and challenge with WWW-Authenticate. Default true. */
  allowBasic?: boolean;
  realm?: string;
  /** Origins (scheme://host[:port]) besides the request's own that may send state-changing requests (PUBLIC_URL's). */
  allowedOrigins?: readonly string[];
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The origin the request was addressed to, as a browser on it would send it. */
function ownOrigin(req: Request): string | null {
  const host = req.get("host");
  return host ? `${req.protocol}://${host}` : null;
}

/** Why a state-changing request may have been made by a page of another site, or null. */
export function crossSiteProblem(req: Request, allowedOrigins: readonly string[] = []): string | null {
  if (SAFE_METHODS.has(req.method)) return null;
  const site = req.get("sec-fetch-site");
  if (site !== undefined && site !== "same-origin" && site !== "none") return `a ${site} request cannot change admin state`;
  const origin = req.get("origin");
  if (origin === undefined) return null;
  if (origin === "null" || (origin !== ownOrigin(req) && !allowedOrigins.includes(origin))) return `origin ${origin} cannot change admin state`;
  return null;
}

/** Admin pages are never framed. */
export function refuseFraming(res: Response): void {
  res.setHeader("Content-Security-Policy", "frame-ancestors 'none'");
  res.setHeader("X-Frame-Options", "DENY");
}

/** Who made an admin request, for the audit log: the Basic user name (if any) and the client address. */
export function adminActor(req: Request): { user: string | null; ip: string | undefined } {
  const authorization = req.headers.authorization ?? "";
  let user: string | null = null;
  if (authorization.toLowerCase().startsWith("basic ")) {
    const decoded = Buffer.from(authorization.slice(6).trim(), "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    user = colon > 0 ? decoded.slice(0, colon) : null;
  } else if (authorization.toLowerCase().startsWith("bearer ")) user = "bearer";
  else if (req.headers["x-admin-key"] !== undefined) user = "x-admin-key";
  return { user, ip: req.ip };
}

/** The credential the request presents, or null when it presents none. */
export function presentedAdminKey(headers: { authorization?: string | undefined; "x-admin-key"?: string | string[] | undefined }, allowBasic: boolean): string | null {
  const header = headers["x-admin-key"];
  if (typeof header === "string" && header !== "") return header;
  const authorization = headers.authorization;
  if (!authorization) return null;
  const space = authorization.indexOf(" ");
  if (space < 0) return null;
  const scheme = authorization.slice(0, space).toLowerCase();
  const value = authorization.slice(space + 1).trim();
  if (scheme === "bearer") return value;
  if (scheme === "basic" && allowBasic) {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return colon < 0 ? null : decoded.slice(colon + 1);
  }
  return null;
}

export function adminAuth(options: AdminAuthOptions): RequestHandler {
  const allowBasic = options.allowBasic ?? true;
  const challenge: Record<string, string> = allowBasic
    ? { "WWW-Authenticate": `Basic realm="${options.realm ?? "kamiyo-stake admin"}", charset="UTF-8"` }
    : {};
  const allowedOrigins = (options.allowedOrigins ?? []).map((o) => new URL(o).origin);
  return (req, res, next) => {
    refuseFraming(res);
    const crossSite = crossSiteProblem(req, allowedOrigins);
    if (crossSite !== null) {
      next(new HttpError("forbidden", "cross_site_request", crossSite));
      return;
    }
    const key = presentedAdminKey(req.headers, allowBasic);
    if (key === null) {
      next(new HttpError("unauthorized", "unauthorized", "admin key required (Authorization: Bearer, x-admin-key or Basic)", { headers: challenge }));
      return;
    }
    if (!safeEqual(key, options.key)) {
      next(new HttpError("unauthorized", "unauthorized", "admin key rejected", { headers: challenge }));
      return;
    }
    next();
  };
}
