/** The hub's bookkeeping: subscriptions by id, by kind and key, and by connection; the logs filter. */
import type { TxRecord } from "../types.ts";
import { invalidParams } from "./errors.ts";
import { describe, pubkeyParam } from "./params.ts";
import type { SubscriberConnection, Subscription, SubscriptionKind } from "./subscriptions.ts";

const VOTE_PROGRAM = "Vote111111111111111111111111111111111111111";

export interface LogsFilter {
  matches(record: TxRecord): boolean;
}

/** logsSubscribe's filter: "all" (no votes), "allWithVotes", or {mentions: [one address]}. */
export function logsFilterParam(value: unknown): LogsFilter {
  if (value === "all") return { matches: (r) => !r.accountKeys.includes(VOTE_PROGRAM) };
  if (value === "allWithVotes") return { matches: () => true };
  if (typeof value === "object" && value !== null && Array.isArray((value as { mentions?: unknown }).mentions)) {
    const mentions = (value as { mentions: unknown[] }).mentions;
    if (mentions.length !== 1) throw invalidParams("Invalid Request: Only 1 address supported");
    const address = pubkeyParam(mentions[0], "mentions[0]");
    return { matches: (r) => r.accountKeys.includes(address) };
  }
  throw invalidParams(
    `Invalid params: filter: unknown variant ${describe(value)}, expected one of \`all\`, \`allWithVotes\`, \`mentions\``,
  );
}

export interface SubscriptionIndex {
  add(sub: Subscription): void;
  remove(sub: Subscription): void;
  get(id: number): Subscription | undefined;
  /** Subscriptions of `kind` on `key` (account, program, signature). */
  keyed(kind: SubscriptionKind, key: string): ReadonlySet<Subscription>;
  all(kind: SubscriptionKind): ReadonlySet<Subscription>;
  dropConnection(conn: SubscriberConnection): void;
  count(): number;
  clear(): void;
}

const EMPTY: ReadonlySet<Subscription> = new Set();

export function createIndex(): SubscriptionIndex {
  const byId = new Map<number, Subscription>();
  const byKind = new Map<SubscriptionKind, Set<Subscription>>();
  const byKey = new Map<string, Set<Subscription>>();
  const byConnection = new Map<SubscriberConnection, Set<Subscription>>();
  const keyOf = (sub: Subscription) => `${sub.kind}:${sub.key}`;
  const put = <K>(map: Map<K, Set<Subscription>>, key: K, sub: Subscription) => {
    let set = map.get(key);
    if (!set) map.set(key, (set = new Set()));
    set.add(sub);
  };
  const take = <K>(map: Map<K, Set<Subscription>>, key: K, sub: Subscription) => {
    const set = map.get(key);
    if (!set) return;
    set.delete(sub);
    if (set.size === 0) map.delete(key);
  };
  const index: SubscriptionIndex = {
    add(sub) {
      byId.set(sub.id, sub);
      put(byKind, sub.kind, sub);
      put(byKey, keyOf(sub), sub);
      put(byConnection, sub.conn, sub);
    },
    remove(sub) {
      byId.delete(sub.id);
      take(byKind, sub.kind, sub);
      take(byKey, keyOf(sub), sub);
      take(byConnection, sub.conn, sub);
    },
    get: (id) => byId.get(id),
    keyed: (kind, key) => byKey.get(`${kind}:${key}`) ?? EMPTY,
    all: (kind) => byKind.get(kind) ?? EMPTY,
    dropConnection(conn) {
      for (const sub of [...(byConnection.get(conn) ?? [])]) index.remove(sub);
    },
    count: () => byId.size,
    clear() {
      byId.clear();
      byKind.clear();
      byKey.clear();
      byConnection.clear();
    },
  };
  return index;
}
