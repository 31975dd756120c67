/**
 * Admin authentication. The key may come as `Authorization: Bearer <key>`, as the seed's `x-admin-key`
 * header, or (for browsers, e.g. the queue UI) as the password of HTTP Basic. Comparison is constant-time.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { RequestHandler } from "express";
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
  return (req, _res, next) => {
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
