/**
 * A local HTTP double of the Helius webhook REST API (/v0/webhooks, api key in the `api-key` query
 * parameter, as helius-sdk calls it). Keeps webhooks in memory and records every request.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface DoubleWebhook {
  webhookID: string;
  wallet: string;
  webhookURL: string;
  transactionTypes: string[];
  accountAddresses: string[];
  webhookType: string;
  authHeader: string;
  txnStatus?: string;
  active: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  apiKey: string | null;
  body: unknown;
}

export interface HeliusDouble {
  url: string;
  apiKey: string;
  webhooks: Map<string, DoubleWebhook>;
  requests: RecordedRequest[];
  /** When set, every request is answered with this status and body. */
  failWith: { status: number; body: string } | null;
  close(): Promise<void>;
}

const COLLECTION = /^\/v0\/webhooks\/?$/;
const ITEM = /^\/v0\/webhooks\/([\w-]+)$/;

export async function startHeliusDouble(apiKey: string): Promise<HeliusDouble> {
  const webhooks = new Map<string, DoubleWebhook>();
  const requests: RecordedRequest[] = [];
  const state: Pick<HeliusDouble, "failWith"> = { failWith: null };

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  };
  const readBody = async (req: IncomingMessage): Promise<unknown> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    return text ? JSON.parse(text) : undefined;
  };

  const server = createServer((req, res) => void handle(req, res));
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://double");
    const body = await readBody(req).catch(() => "<invalid json>");
    requests.push({ method: req.method ?? "", path: url.pathname, apiKey: url.searchParams.get("api-key"), body });
    if (state.failWith) {
      res.writeHead(state.failWith.status, { "content-type": "text/plain" }).end(state.failWith.body);
      return;
    }
    // Helius answers an unknown key with 401 and a JSON error.
    if (url.searchParams.get("api-key") !== apiKey) return send(res, 401, { error: "invalid api key provided" });
    const item = ITEM.exec(url.pathname);
    if (COLLECTION.test(url.pathname) && req.method === "GET") return send(res, 200, [...webhooks.values()]);
    if (COLLECTION.test(url.pathname) && req.method === "POST") {
      const p = body as Partial<DoubleWebhook>;
      if (!p?.webhookURL || !Array.isArray(p.accountAddresses)) return send(res, 400, { error: "invalid webhook" });
      const created: DoubleWebhook = {
        webhookID: randomUUID(),
        wallet: "DoubleWa11et1111111111111111111111111111111",
        webhookURL: p.webhookURL,
        transactionTypes: p.transactionTypes ?? [],
        accountAddresses: p.accountAddresses,
        webhookType: p.webhookType ?? "enhanced",
        authHeader: p.authHeader ?? "",
        ...(p.txnStatus !== undefined ? { txnStatus: p.txnStatus } : {}),
        active: true,
      };
      webhooks.set(created.webhookID, created);
      return send(res, 200, created);
    }
    if (item) {
      const existing = webhooks.get(item[1]!);
      if (!existing) return send(res, 404, { error: "webhook not found" });
      if (req.method === "GET") return send(res, 200, existing);
      if (req.method === "PUT") {
        // Helius keeps `active` as it was: an edit does not re-enable a disabled webhook.
        const updated: DoubleWebhook = { ...existing, ...(body as Partial<DoubleWebhook>), webhookID: existing.webhookID, active: existing.active };
        webhooks.set(existing.webhookID, updated);
        return send(res, 200, updated);
      }
      if (req.method === "DELETE") {
        webhooks.delete(existing.webhookID);
        res.writeHead(204).end();
        return;
      }
    }
    send(res, 404, { error: `no route ${req.method} ${url.pathname}` });
  };
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    webhooks,
    requests,
    get failWith() {
      return state.failWith;
    },
    set failWith(v) {
      state.failWith = v;
    },
    close: () =>
      (closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      })),
  };
}
