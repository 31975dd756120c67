/**
 * Creates or updates the Helius webhook that feeds POST /webhooks/helius, with helius-sdk: raw deliveries
 * of every transaction touching the staking program, carrying our auth header.
 *
 * helius-sdk 3.x sends webhook calls to a fixed https://api-mainnet.helius-rpc.com/v0/webhooks (its
 * `baseUrl` option only moves JSON-RPC). To reach another Helius API (HELIUS_API_URL: a proxy, or a local
 * double in tests), fetches to that origin are redirected for the duration of one sync.
 */
import { createHelius } from "helius-sdk";
import type { Cluster } from "../src/config.ts";
import { describeError } from "../src/errors.ts";
import { HELIUS_WEBHOOK_PATH } from "./routes/helius-webhook.ts";

export const HELIUS_SDK_API_ORIGIN = "https://api-mainnet.helius-rpc.com";

export interface WebhookSyncOptions {
  apiKey: string;
  /** Where the Helius REST API lives; defaults to the SDK's own origin. */
  apiUrl?: string | undefined;
  /** The public base URL of this service; deliveries go to <publicUrl>/webhooks/helius. */
  publicUrl: string;
  authHeader: string;
  programId: string;
  cluster: Cluster;
}

/** The fields this service owns on its webhook. */
export interface DesiredWebhook {
  webhookURL: string;
  transactionTypes: string[];
  accountAddresses: string[];
  webhookType: string;
  authHeader: string;
  txnStatus: string;
}

export interface WebhookSyncResult {
  action: "created" | "updated" | "unchanged";
  webhookID: string;
  webhookURL: string;
  /** False when Helius reports the webhook disabled (it does so after many failed deliveries). */
  active: boolean;
  warnings: string[];
}

/** A sync failed: missing key, HTTP failure, unexpected answer. The message never contains the API key. */
export class WebhookSyncError extends Error {
  override name = "WebhookSyncError";
}

export function desiredWebhook(o: WebhookSyncOptions): DesiredWebhook {
  return {
    webhookURL: new URL(HELIUS_WEBHOOK_PATH, withTrailingSlash(o.publicUrl)).href,
    transactionTypes: ["ANY"],
    accountAddresses: [o.programId],
    // Helius delivers devnet transactions only to the *Devnet webhook types.
    webhookType: o.cluster === "devnet" ? "rawDevnet" : "raw",
    authHeader: o.authHeader,
    // Failed transactions change no stake, but the indexer records them; let Helius send every one.
    txnStatus: "all",
  };
}

function withTrailingSlash(url: string): string {
  return url.endsWith("/") ? url : `${url}/`;
}

interface ExistingWebhook {
  webhookID: string;
  webhookURL: string;
  transactionTypes?: string[];
  accountAddresses?: string[];
  webhookType?: string;
  authHeader?: string;
  txnStatus?: string;
  active?: boolean;
}

const sameSet = (a: readonly string[] | undefined, b: readonly string[]) =>
  a !== undefined && a.length === b.length && [...a].sort().join(",") === [...b].sort().join(",");

/** What differs between Helius's copy and ours (names only: values may be secret). */
export function differences(existing: ExistingWebhook, want: DesiredWebhook): string[] {
  const out: string[] = [];
  if (!sameSet(existing.accountAddresses, want.accountAddresses)) out.push("accountAddresses");
  if (!sameSet(existing.transactionTypes, want.transactionTypes)) out.push("transactionTypes");
  if (existing.webhookType !== want.webhookType) out.push("webhookType");
  if (existing.authHeader !== want.authHeader) out.push("authHeader");
  // Helius omits txnStatus from listings when it is the default ("all").
  if ((existing.txnStatus ?? "all") !== want.txnStatus) out.push("txnStatus");
  return out;
}

/** Runs `fn` with fetches to the SDK's Helius origin sent to `apiUrl` instead. Other fetches pass through. */
async function withHeliusOrigin<T>(apiUrl: string | undefined, fn: () => Promise<T>): Promise<T> {
  if (apiUrl === undefined) return fn();
  const target = new URL(apiUrl);
  const base = target.pathname.replace(/\/+$/, "");
  const original = globalThis.fetch;
  const redirected: typeof fetch = (input, init) => {
    const href = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (typeof input === "string" || input instanceof URL) {
      if (href.startsWith(`${HELIUS_SDK_API_ORIGIN}/`)) {
        const from = new URL(href);
        return original(`${target.origin}${base}${from.pathname}${from.search}`, init);
      }
    }
    return original(input, init);
  };
  globalThis.fetch = redirected;
  try {
    return await fn();
  } finally {
    // Only undo our own replacement.
    if (globalThis.fetch === redirected) globalThis.fetch = original;
  }
}

function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join("[redacted]");
  return out;
}

/** One line saying why a Helius call failed, with the key and auth header removed. */
function describeHeliusFailure(step: string, err: unknown, secrets: readonly string[]): string {
  let reason = describeError(err);
  // fetch's own message is just "fetch failed"; the cause says why (connection refused, DNS, TLS).
  const cause = (err as { cause?: unknown } | null)?.cause;
  if (reason === "fetch failed" && cause !== undefined) reason = `${reason}: ${describeError(cause)}`;
  reason = reason.replace(/^HTTP error! status: (\d+) - /, "Helius answered HTTP $1: ");
  if (reason.length > 300) reason = `${reason.slice(0, 300)}...`;
  return scrub(`${step}: ${reason}`, secrets);
}

export async function syncHeliusWebhook(o: WebhookSyncOptions): Promise<WebhookSyncResult> {
  if (!o.apiKey) throw new WebhookSyncError("HELIUS_API_KEY is not set");
  const want = desiredWebhook(o);
  const secrets = [o.apiKey, encodeURIComponent(o.apiKey), o.authHeader];
  const helius = createHelius({ apiKey: o.apiKey });
  const call = async <T>(step: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await withHeliusOrigin(o.apiUrl, fn);
    } catch (err) {
      throw new WebhookSyncError(describeHeliusFailure(step, err, secrets), { cause: err });
    }
  };

  const all = (await call("listing webhooks", () => helius.webhooks.getAll())) as unknown;
  if (!Array.isArray(all)) throw new WebhookSyncError("listing webhooks: Helius answered something other than a list");
  const existing = (all as ExistingWebhook[]).find((w) => w && w.webhookURL === want.webhookURL);

  let action: WebhookSyncResult["action"];
  let webhook: ExistingWebhook;
  if (!existing) {
    webhook = (await call("creating the webhook", () => helius.webhooks.create(want))) as ExistingWebhook;
    action = "created";
  } else if (differences(existing, want).length > 0) {
    webhook = (await call("updating the webhook", () => helius.webhooks.update(existing.webhookID, want))) as ExistingWebhook;
    action = "updated";
  } else {
    webhook = existing;
    action = "unchanged";
  }
  if (!webhook || typeof webhook.webhookID !== "string") {
    throw new WebhookSyncError(`${action === "created" ? "creating" : "updating"} the webhook: Helius answered without a webhookID`);
  }
  // An update answer may omit `active`; the listing's value then still stands.
  const active = (webhook.active ?? existing?.active) !== false;
  const warnings: string[] = [];
  const host = new URL(want.webhookURL).hostname;
  if (o.cluster !== "localnet" && (host === "localhost" || host.startsWith("127.") || host === "[::1]")) {
    warnings.push(`the webhook URL ${want.webhookURL} is local: Helius cannot reach it (set PUBLIC_URL)`);
  }
  if (!active) {
    warnings.push(
      `Helius reports webhook ${webhook.webhookID} inactive (active: false): it sends nothing until re-enabled in the Helius dashboard; check that ${want.webhookURL} answers 200`,
    );
  }
  return { action, webhookID: webhook.webhookID, webhookURL: want.webhookURL, active, warnings };
}

export interface WebhookCheckResult {
  ok: boolean;
  webhookID: string | null;
  webhookURL: string;
  /** What is wrong, one line each (no secret values). */
  problems: string[];
}

/**
 * The periodic check behind `webhooks check`: the Helius webhook for PUBLIC_URL/webhooks/helius exists, is
 * active, covers the staking program, delivers the raw format and carries our auth header. Changes nothing.
 */
export async function checkHeliusWebhook(o: WebhookSyncOptions): Promise<WebhookCheckResult> {
  if (!o.apiKey) throw new WebhookSyncError("HELIUS_API_KEY is not set");
  const want = desiredWebhook(o);
  const secrets = [o.apiKey, encodeURIComponent(o.apiKey), o.authHeader];
  const helius = createHelius({ apiKey: o.apiKey });
  let all: unknown;
  try {
    all = await withHeliusOrigin(o.apiUrl, () => helius.webhooks.getAll());
  } catch (err) {
    throw new WebhookSyncError(describeHeliusFailure("listing webhooks", err, secrets), { cause: err });
  }
  if (!Array.isArray(all)) throw new WebhookSyncError("listing webhooks: Helius answered something other than a list");
  const existing = (all as ExistingWebhook[]).find((w) => w && w.webhookURL === want.webhookURL);
  if (!existing) {
    return { ok: false, webhookID: null, webhookURL: want.webhookURL, problems: [`no Helius webhook delivers to ${want.webhookURL}: run \`kamiyo-stake webhooks sync\``] };
  }
  const problems: string[] = [];
  if (existing.active === false) problems.push(`webhook ${existing.webhookID} is inactive (Helius disables a webhook after failed deliveries): re-enable it and check that ${want.webhookURL} answers 200`);
  if (!(existing.accountAddresses ?? []).includes(o.programId)) problems.push(`webhook ${existing.webhookID} does not cover the staking program ${o.programId}`);
  if (existing.webhookType !== want.webhookType) {
    problems.push(`webhook ${existing.webhookID} is of type ${existing.webhookType ?? "unknown"}, not ${want.webhookType}: its deliveries carry no transaction the indexer can read`);
  }
  if (existing.authHeader !== want.authHeader) problems.push(`webhook ${existing.webhookID} sends another Authorization header than HELIUS_WEBHOOK_AUTH: its deliveries are refused with 401`);
  if (!sameSet(existing.transactionTypes, want.transactionTypes)) problems.push(`webhook ${existing.webhookID} filters transaction types (${(existing.transactionTypes ?? []).join(", ")}), not ANY`);
  return { ok: problems.length === 0, webhookID: existing.webhookID, webhookURL: want.webhookURL, problems };
}
