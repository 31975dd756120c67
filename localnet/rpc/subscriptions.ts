/**
 * Websocket subscriptions fed by chain events: account (any change, closed accounts included), program (changes
 * to live accounts the program owns that pass the filters; closed accounts are not notified, as on the
 * validator), signature (once, then gone; immediately when it already landed) and slot.
 */
import type { Logger } from "pino";
import type { AccountChange, ChainApi, SlotInfo, TxRecord } from "../types.ts";
import { accountEncodingConfig, CLOSED_ACCOUNT, uiAccountText, type AccountEncodingConfig } from "./encoding.ts";
import { invalidParams } from "./errors.ts";
import { matchesFilters, parseFilters, type AccountFilter } from "./filters.ts";
import { stringifyJson } from "./json.ts";
import { boolParam, commitmentParam, configParam, pubkeyParam, requireCount, signatureParam } from "./params.ts";

/** One websocket client as the hub sees it. */
export interface SubscriberConnection {
  send(text: string): void;
  /** Runs `fn` after the reply to the current request has been sent. */
  afterReply(fn: () => void): void;
}

export type SubscriptionKind = "account" | "program" | "signature" | "slot";

interface Subscription {
  id: number;
  kind: SubscriptionKind;
  conn: SubscriberConnection;
  key: string;
  encoding: AccountEncodingConfig;
  filters: AccountFilter[];
  enableReceivedNotification: boolean;
}

export interface SubscriptionHub {
  subscribe(conn: SubscriberConnection, kind: SubscriptionKind, params: unknown[]): number;
  unsubscribe(conn: SubscriberConnection, kind: SubscriptionKind, params: unknown[]): boolean;
  dropConnection(conn: SubscriberConnection): void;
  /** Live subscriptions (for tests and diagnostics). */
  count(): number;
  close(): void;
}

const NOTIFICATION_METHOD: Record<SubscriptionKind, string> = {
  account: "accountNotification",
  program: "programNotification",
  signature: "signatureNotification",
  slot: "slotNotification",
};

function notification(sub: Subscription, resultText: string): string {
  return `{"jsonrpc":"2.0","method":"${NOTIFICATION_METHOD[sub.kind]}","params":{"result":${resultText},"subscription":${sub.id}}}`;
}

function addTo(index: Map<string, Set<Subscription>>, sub: Subscription): void {
  let set = index.get(sub.key);
  if (!set) index.set(sub.key, (set = new Set()));
  set.add(sub);
}

function removeFrom(index: Map<string, Set<Subscription>>, sub: Subscription): void {
  const set = index.get(sub.key);
  if (!set) return;
  set.delete(sub);
  if (set.size === 0) index.delete(sub.key);
}

export function createSubscriptionHub(chain: ChainApi, logger: Logger): SubscriptionHub {
  let nextId = 0;
  const byId = new Map<number, Subscription>();
  const accountSubs = new Map<string, Set<Subscription>>();
  const programSubs = new Map<string, Set<Subscription>>();
  const signatureSubs = new Map<string, Set<Subscription>>();
  const slotSubs = new Set<Subscription>();
  const byConnection = new Map<SubscriberConnection, Set<Subscription>>();

  const remove = (sub: Subscription) => {
    byId.delete(sub.id);
    byConnection.get(sub.conn)?.delete(sub);
    if (sub.kind === "account") removeFrom(accountSubs, sub);
    else if (sub.kind === "program") removeFrom(programSubs, sub);
    else if (sub.kind === "signature") removeFrom(signatureSubs, sub);
    else slotSubs.delete(sub);
  };

  const deliver = (sub: Subscription, text: string) => {
    try {
      sub.conn.send(text);
    } catch (err) {
      logger.warn({ err, subscription: sub.id }, "websocket notification not delivered");
    }
  };

  const signatureResult = (slot: bigint, err: unknown) => stringifyJson({ context: { slot }, value: { err } });

  const onAccount = (change: AccountChange) => {
    const watchers = accountSubs.get(change.pubkey);
    if (watchers) {
      const account = change.account.lamports === 0n ? CLOSED_ACCOUNT : change.account;
      for (const sub of watchers) {
        deliver(sub, notification(sub, `{"context":{"slot":${change.slot}},"value":${uiAccountText(chain, account, sub.encoding)}}`));
      }
    }
    if (change.account.lamports === 0n) return;
    const programWatchers = programSubs.get(change.account.owner);
    if (!programWatchers) return;
    for (const sub of programWatchers) {
      if (!matchesFilters(change.account.data, sub.filters)) continue;
      const value = `{"account":${uiAccountText(chain, change.account, sub.encoding)},"pubkey":"${change.pubkey}"}`;
      deliver(sub, notification(sub, `{"context":{"slot":${change.slot}},"value":${value}}`));
    }
  };

  const onTransaction = (record: TxRecord) => {
    const watchers = signatureSubs.get(record.signature);
    if (!watchers) return;
    for (const sub of [...watchers]) {
      if (sub.enableReceivedNotification) {
        deliver(sub, notification(sub, stringifyJson({ context: { slot: record.slot }, value: "receivedSignature" })));
      }
      deliver(sub, notification(sub, signatureResult(record.slot, record.err)));
      remove(sub);
    }
  };

  const onSlot = (info: SlotInfo) => {
    for (const sub of slotSubs) {
      deliver(sub, notification(sub, `{"parent":${info.parent},"root":${info.root},"slot":${info.slot}}`));
    }
  };

  chain.on("account", onAccount);
  chain.on("transaction", onTransaction);
  chain.on("slot", onSlot);

  const register = (conn: SubscriberConnection, partial: Omit<Subscription, "id" | "conn">): Subscription => {
    const sub: Subscription = { ...partial, id: nextId++, conn };
    byId.set(sub.id, sub);
    let own = byConnection.get(conn);
    if (!own) byConnection.set(conn, (own = new Set()));
    own.add(sub);
    return sub;
  };

  const none = { encoding: accountEncodingConfig({}, "base64"), filters: [], enableReceivedNotification: false };

  return {
    subscribe(conn, kind, params) {
      switch (kind) {
        case "account": {
          requireCount(params, 1, 2);
          const key = pubkeyParam(params[0]);
          const config = configParam(params[1]);
          commitmentParam(config);
          const sub = register(conn, { ...none, kind, key, encoding: accountEncodingConfig(config, "binary") });
          addTo(accountSubs, sub);
          return sub.id;
        }
        case "program": {
          requireCount(params, 1, 2);
          const key = pubkeyParam(params[0], "program id");
          const config = configParam(params[1]);
          commitmentParam(config);
          const encoding = accountEncodingConfig(config, "binary");
          const filters = parseFilters(config.filters);
          const sub = register(conn, { ...none, kind, key, encoding, filters });
          addTo(programSubs, sub);
          return sub.id;
        }
        case "signature": {
          requireCount(params, 1, 2);
          const key = signatureParam(params[0]);
          const config = configParam(params[1]);
          commitmentParam(config);
          const enableReceivedNotification = boolParam(config.enableReceivedNotification, "enableReceivedNotification", false);
          const sub = register(conn, { ...none, kind, key, enableReceivedNotification });
          const status = chain.getSignatureStatus(key);
          if (status) {
            // already landed: answer the subscription, then notify at once and retire it
            conn.afterReply(() => {
              if (!byId.has(sub.id)) return;
              deliver(sub, notification(sub, signatureResult(status.slot, status.err)));
              remove(sub);
            });
          }
          addTo(signatureSubs, sub);
          return sub.id;
        }
        case "slot": {
          requireCount(params, 0, 0);
          const sub = register(conn, { ...none, kind, key: "" });
          slotSubs.add(sub);
          return sub.id;
        }
      }
    },
    unsubscribe(conn, kind, params) {
      requireCount(params, 1, 1);
      const id = params[0];
      const sub = typeof id === "number" ? byId.get(id) : undefined;
      if (!sub || sub.kind !== kind || sub.conn !== conn) throw invalidParams("Invalid subscription id.");
      remove(sub);
      return true;
    },
    dropConnection(conn) {
      for (const sub of [...(byConnection.get(conn) ?? [])]) remove(sub);
      byConnection.delete(conn);
    },
    count: () => byId.size,
    close() {
      chain.off("account", onAccount);
      chain.off("transaction", onTransaction);
      chain.off("slot", onSlot);
      byId.clear();
      accountSubs.clear();
      programSubs.clear();
      signatureSubs.clear();
      slotSubs.clear();
      byConnection.clear();
    },
  };
}
