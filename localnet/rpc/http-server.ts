/**
 * The JSON-RPC HTTP transport on node:http: POST bodies in, JSON out. Streamed results (getProgramAccounts) are
 * written chunk by chunk with backpressure, so a 100k-account answer never exists as one string.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "pino";
import { dispatch, type Dispatched, type Handler, type Reply } from "./dispatch.ts";

/** Requests above this size are refused with 413 (the validator's limit is 50 KiB; batches here may be larger). */
export const MAX_REQUEST_BYTES = 1024 * 1024;

export interface HttpTransportOptions<C> {
  lookup: (method: string) => Handler<C> | undefined;
  ctx: C;
  logger: Logger;
}

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        resolve(null);
        req.resume();
        return;
      }
      parts.push(chunk);
    });
    req.on("end", () => resolve(size > MAX_REQUEST_BYTES ? null : Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}

function waitWritable(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

async function writeStreamed(res: ServerResponse, d: Dispatched): Promise<void> {
  res.writeHead(200, { "Content-Type": "application/json; charset=utf-8" });
  const write = async (text: string) => {
    if (text.length > 0 && !res.write(text)) await waitWritable(res);
  };
  if (d.batch) await write("[");
  for (let i = 0; i < d.replies.length && !res.destroyed; i++) {
    const reply = d.replies[i]!;
    const sep = d.batch && i > 0 ? "," : "";
    if (typeof reply === "string") {
      await write(sep + reply);
      continue;
    }
    await write(sep + reply.head);
    for (const chunk of reply.chunks) {
      if (res.destroyed) return;
      await write(chunk);
    }
    await write(reply.tail);
  }
  if (d.batch) await write("]");
  res.end();
}

function send(res: ServerResponse, status: number, body: string, type = "application/json; charset=utf-8"): void {
  res.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

export function createHttpTransport<C>(o: HttpTransportOptions<C>): Server {
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === "GET" && req.url === "/health") return send(res, 200, "ok", "text/plain; charset=utf-8");
    if (req.method !== "POST") {
      res.setHeader("Allow", "POST");
      return send(res, 405, "Used HTTP Method is not allowed. POST is required", "text/plain; charset=utf-8");
    }
    const body = await readBody(req);
    if (body === null) return send(res, 413, "Payload Too Large", "text/plain; charset=utf-8");
    const dispatched = dispatch(body, o);
    if (dispatched === null) return send(res, 200, "", "application/json; charset=utf-8");
    const streamed = dispatched.replies.some((r: Reply) => typeof r !== "string");
    if (streamed) return writeStreamed(res, dispatched);
    const texts = dispatched.replies as string[];
    send(res, 200, dispatched.batch ? `[${texts.join(",")}]` : texts[0]!);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      o.logger.error({ err }, "rpc http request failed");
      if (!res.headersSent) send(res, 500, "Internal Server Error", "text/plain; charset=utf-8");
      else res.destroy();
    });
  });
  // clients reuse connections across bursts (web3.js and kit keep-alive agents)
  server.keepAliveTimeout = 65_000;
  return server;
}
