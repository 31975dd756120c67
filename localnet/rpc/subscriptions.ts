/**
 * Websocket subscriptions fed by chain events, each delivered when the commitment it asked for (default
 * finalized, as on the validator) is reached: account (any change, closed accounts included), program (changes
 * to live accounts the program owns that pass the filters; closed accounts are not notified, as on the
 * validator), signature (once, then gone; at once when it already reached the level), logs, slot, root and
 * slotsUpdates. A change a level has not reached yet is delivered when it does, so a subscriber registered
 * just after a transaction still hears of it at confirmed and finalized. Cheatcode writes hold at every level
 * and are notified at once.
 */
import type { Logger } from "pino";
import type { AccountChange, ChainApi, Commitment, CommitmentAdvance, SlotInfo, TxRecord } from "../types.ts";
import { COMMITMENT_RANK } from "../ledger.ts";
import { accountEncodingConfig, CLOSED_ACCOUNT, uiAccountText, type AccountEncodingConfig } from "./encoding.ts";
import { invalidParams } from "./errors.ts";
import { matchesFilters, parseFilters, type AccountFilter } from "./filters.ts";
import { stringifyJson } from "./json.ts";
import { boolParam, commitmentParam, configParam, pubkeyParam, requireCount, signatureParam } from "./params.ts";
import { createIndex, logsFilterParam, type LogsFilter } from "./subscription-index.ts";

/** One websocket client as the hub sees it. */
export interface SubscriberConnection {
  send(text: string): void;
  /** Runs `fn` after the reply to the current request has been sent. */
  afterReply(fn: () => void): void;
}

export type SubscriptionKind = "account" | "program" | "signature" | "slot" | "logs" | "root" | "slotsUpdates";

export interface Subscription {
  id: number;
  kind: SubscriptionKind;
  conn: SubscriberConnection;
  /** Account, program or signature; "" for the rest. */
  key: string;
  commitment: Commitment;
  encoding: AccountEncodingConfig;
  filters: AccountFilter[];
  enableReceivedNotification: boolean;
  logs: LogsFilter | null;
}

export interface SubscriptionHub {
  subscribe(conn: SubscriberConnection, kind: SubscriptionKind, params: unknown[]): number;
  unsubscribe(conn: SubscriberConnection, kind: SubscriptionKind, params: unknown[]): boolean;
  dropConnection(conn: SubscriberConnection): void;
  /** Live subscriptions (for tests and diagnostics). */
  count(): number;
  close(): void;
}

function notification(sub: Subscription, resultText: string): string {
  return `{"jsonrpc":"2.0","method":"${sub.kind}Notification","params":{"result":${resultText},"subscription":${sub.id}}}`;
}

const ctxText = (slot: bigint, value: string) => `{"context":{"slot":${slot}},"value":${value}}`;

export function createSubscriptionHub(chain: ChainApi, logger: Logger): SubscriptionHub {
  let nextId = 0;
  const subs = createIndex();

  const deliver = (sub: Subscription, text: string) => {
    try {
      sub.conn.send(text);
    } catch (err) {
      logger.warn({ err, subscription: sub.id }, "websocket notification not delivered");
    }
  };
  const atLevel = (level: Commitment) => (sub: Subscription) => sub.commitment === level;
  /** What the newest block already satisfies (every level when the chain runs with no lag). */
  const upTo = (slot: bigint) => {
    const reached = COMMITMENT_RANK[chain.levelOf(slot)];
    return (sub: Subscription) => COMMITMENT_RANK[sub.commitment] <= reached;
  };

  /** `slot` is the context slot, or (for a cheatcode write, which holds at every level) null: each level's own. */
  const notifyAccount = (pubkey: string, slot: bigint | null, account: ReturnType<ChainApi["getAccount"]>, wants: (s: Subscription) => boolean) => {
    const state = account ?? CLOSED_ACCOUNT;
    const at = (sub: Subscription) => slot ?? chain.slot(sub.commitment);
    for (const sub of subs.keyed("account", pubkey)) {
      if (wants(sub)) deliver(sub, notification(sub, ctxText(at(sub), uiAccountText(chain, state, sub.encoding, pubkey))));
    }
    if (state.lamports === 0n) return;
    for (const sub of subs.keyed("program", state.owner)) {
      if (!wants(sub) || !matchesFilters(state.data, sub.filters)) continue;
      const value = `{"account":${uiAccountText(chain, state, sub.encoding, pubkey)},"pubkey":"${pubkey}"}`;
      deliver(sub, notification(sub, ctxText(at(sub), value)));
    }
  };

  const signatureDone = (sub: Subscription, record: TxRecord | { slot: bigint; err: unknown }) => {
    deliver(sub, notification(sub, stringifyJson({ context: { slot: record.slot }, value: { err: record.err } })));
    subs.remove(sub);
  };

  const notifyLogs = (record: TxRecord, wants: (s: Subscription) => boolean) => {
    for (const sub of subs.all("logs")) {
      if (!wants(sub) || !sub.logs!.matches(record)) continue;
      const value = { signature: record.signature, err: record.err, logs: record.logMessages };
      deliver(sub, notification(sub, stringifyJson({ context: { slot: record.slot }, value })));
    }
  };

  const slotsUpdate = (update: Record<string, unknown>) => {
    const text = stringifyJson({ ...update, timestamp: Date.now() });
    for (const sub of subs.all("slotsUpdates")) deliver(sub, notification(sub, text));
  };

  const onAccount = (change: AccountChange) => {
    const account = change.account.lamports === 0n ? null : change.account;
    if (change.allLevels) notifyAccount(change.pubkey, null, account, () => true);
    else notifyAccount(change.pubkey, change.slot, account, upTo(change.slot));
  };

  const onTransaction = (record: TxRecord) => {
    const wants = upTo(record.slot);
    for (const sub of [...subs.keyed("signature", record.signature)]) {
      if (sub.enableReceivedNotification) {
        deliver(sub, notification(sub, stringifyJson({ context: { slot: record.slot }, value: "receivedSignature" })));
      }
      if (wants(sub)) signatureDone(sub, record);
    }
    notifyLogs(record, wants);
  };

  const onCommitment = ({ level, slot, previous }: CommitmentAdvance) => {
    const wants = atLevel(level);
    const blocks = chain.blocks(previous + 1n, slot);
    const changed = new Set<string>();
    for (const block of blocks) for (const pubkey of block.changed ?? []) changed.add(pubkey);
    for (const pubkey of changed) notifyAccount(pubkey, slot, chain.getAccount(pubkey, level), wants);
    for (const sub of [...subs.all("signature")]) {
      if (!wants(sub)) continue;
      const record = chain.getTransaction(sub.key);
      if (record && record.slot <= slot) signatureDone(sub, record);
    }
    for (const block of blocks) {
      for (const signature of block.signatures) notifyLogs(chain.getTransaction(signature)!, wants);
    }
    if (level === "finalized") for (const sub of subs.all("root")) deliver(sub, notification(sub, String(slot)));
    slotsUpdate({ slot, type: level === "confirmed" ? "optimisticConfirmation" : "root" });
  };

  const onSlot = (info: SlotInfo) => {
    for (const sub of subs.all("slot")) {
      deliver(sub, notification(sub, `{"parent":${info.parent},"root":${info.root},"slot":${info.slot}}`));
    }
    if (subs.all("slotsUpdates").size === 0) return;
    const parent = chain.block(info.parent);
    const ok = parent?.signatures.filter((s) => chain.getTransaction(s)?.err === null).length ?? 0;
    const total = parent?.signatures.length ?? 0;
    slotsUpdate({ slot: info.parent, type: "completed" });
    slotsUpdate({
      slot: info.parent,
      type: "frozen",
      stats: {
        numTransactionEntries: total,
        numSuccessfulTransactions: ok,
        numFailedTransactions: total - ok,
        maxTransactionsPerEntry: total > 0 ? 1 : 0,
      },
    });
    slotsUpdate({ slot: info.slot, type: "createdBank", parent: info.parent });
  };

  chain.on("account", onAccount);
  chain.on("transaction", onTransaction);
  chain.on("commitment", onCommitment);
  chain.on("slot", onSlot);

  const none = {
    key: "",
    commitment: "finalized" as Commitment,
    encoding: accountEncodingConfig({}, "base64"),
    filters: [],
    enableReceivedNotification: false,
    logs: null,
  };
  const register = (conn: SubscriberConnection, partial: Partial<Subscription> & { kind: SubscriptionKind }): number => {
    const sub: Subscription = { ...none, ...partial, id: nextId++, conn };
    subs.add(sub);
    return sub.id;
  };

  const subscribeSignature = (conn: SubscriberConnection, params: unknown[]): number => {
    requireCount(params, 1, 2);
    const key = signatureParam(params[0]);
    const config = configParam(params[1]);
    const commitment = commitmentParam(config);
    const enableReceivedNotification = boolParam(config.enableReceivedNotification, "enableReceivedNotification", false);
    const id = register(conn, { kind: "signature", key, commitment, enableReceivedNotification });
    const record = chain.getTransaction(key);
    if (record && record.slot <= chain.slot(commitment)) {
      // already at the level asked for: answer the subscription, then notify at once and retire it
      conn.afterReply(() => {
        const sub = subs.get(id);
        if (sub) signatureDone(sub, record);
      });
    }
    return id;
  };

  return {
    subscribe(conn, kind, params) {
      switch (kind) {
        case "account": {
          requireCount(params, 1, 2);
          const key = pubkeyParam(params[0]);
          const config = configParam(params[1]);
          const commitment = commitmentParam(config);
          return register(conn, { kind, key, commitment, encoding: accountEncodingConfig(config, "binary") });
        }
        case "program": {
          requireCount(params, 1, 2);
          const key = pubkeyParam(params[0], "program id");
          const config = configParam(params[1]);
          const commitment = commitmentParam(config);
          const encoding = accountEncodingConfig(config, "binary");
          return register(conn, { kind, key, commitment, encoding, filters: parseFilters(config.filters) });
        }
        case "signature":
          return subscribeSignature(conn, params);
        case "logs": {
          requireCount(params, 1, 2);
          const logs = logsFilterParam(params[0]);
          return register(conn, { kind, logs, commitment: commitmentParam(configParam(params[1])) });
        }
        case "slot":
        case "root":
        case "slotsUpdates":
          requireCount(params, 0, 0);
          return register(conn, { kind });
      }
    },
    unsubscribe(conn, kind, params) {
      requireCount(params, 1, 1);
      const id = params[0];
      const sub = typeof id === "number" ? subs.get(id) : undefined;
      if (!sub || sub.kind !== kind || sub.conn !== conn) throw invalidParams("Invalid subscription id.");
      subs.remove(sub);
      return true;
    },
    dropConnection: (conn) => subs.dropConnection(conn),
    count: () => subs.count(),
    close() {
      chain.off("account", onAccount);
      chain.off("transaction", onTransaction);
      chain.off("commitment", onCommitment);
      chain.off("slot", onSlot);
      subs.clear();
    },
  };
}
