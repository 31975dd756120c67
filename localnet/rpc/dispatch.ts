/**
 * JSON-RPC 2.0 envelopes: parsing (u64 literals above 2^53 become bigint), single and batch calls, id echo,
 * notifications (no id: executed, never answered) and the standard error objects.
 */
import type { Logger } from "pino";
import { invalidRequest, methodNotFound, parseError, toErrorObject, RpcError } from "./errors.ts";
import { stringifyJson } from "./json.ts";
import { StreamedResult } from "./methods/context.ts";
import { paramList } from "./params.ts";

export type Handler<C> = (params: unknown[], ctx: C) => unknown;

/** A reply is JSON text, or (for a streamed result) text around a sequence of chunks. */
export type Reply = string | { head: string; chunks: Iterable<string>; tail: string };

export interface Dispatched {
  batch: boolean;
  replies: Reply[];
}

type Id = string | number | bigint | null;

const LONG_INTEGER = /\d{16,}/;

function reviveBigInts(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value === "number" && !Number.isSafeInteger(value) && context?.source && /^-?\d+$/.test(context.source)) {
    return BigInt(context.source);
  }
  return value;
}

/** JSON.parse that keeps integers beyond 2^53 exact (as bigint); the reviver runs only when one may occur. */
export function parseJson(text: string): unknown {
  return LONG_INTEGER.test(text) ? JSON.parse(text, reviveBigInts as (k: string, v: unknown) => unknown) : JSON.parse(text);
}

const idText = (id: Id) => (id === null ? "null" : stringifyJson(id));

export function errorReply(id: Id, err: unknown): string {
  return `{"jsonrpc":"2.0","error":${stringifyJson(toErrorObject(err))},"id":${idText(id)}}`;
}

function resultReply(id: Id, result: unknown): Reply {
  if (result instanceof StreamedResult) {
    return { head: `{"jsonrpc":"2.0","result":`, chunks: result.chunks, tail: `,"id":${idText(id)}}` };
  }
  return `{"jsonrpc":"2.0","result":${result === undefined ? "null" : stringifyJson(result)},"id":${idText(id)}}`;
}

function isId(value: unknown): value is Id {
  return value === null || typeof value === "string" || typeof value === "number" || typeof value === "bigint";
}

export interface CallOptions<C> {
  lookup: (method: string) => Handler<C> | undefined;
  ctx: C;
  logger: Logger;
}

/** One call; null for a notification. */
function call<C>(request: unknown, o: CallOptions<C>): Reply | null {
  if (typeof request !== "object" || request === null || Array.isArray(request)) return errorReply(null, invalidRequest());
  const r = request as Record<string, unknown>;
  const hasId = "id" in r;
  if (hasId && !isId(r.id)) return errorReply(null, invalidRequest());
  const id: Id = hasId ? (r.id as Id) : null;
  if (r.jsonrpc !== "2.0" || typeof r.method !== "string") return hasId ? errorReply(id, invalidRequest()) : null;
  const handler = o.lookup(r.method);
  let reply: Reply;
  if (!handler) {
    reply = errorReply(id, methodNotFound());
  } else {
    try {
      reply = resultReply(id, handler(paramList(r.params), o.ctx));
    } catch (err) {
      if (!(err instanceof RpcError)) o.logger.error({ err, method: r.method }, "rpc method failed");
      reply = errorReply(id, err);
    }
  }
  return hasId ? reply : null;
}

/** Handles a request body. Returns null when nothing is to be answered (only notifications). */
export function dispatch<C>(body: string, o: CallOptions<C>): Dispatched | null {
  let parsed: unknown;
  try {
    parsed = parseJson(body);
  } catch {
    return { batch: false, replies: [errorReply(null, parseError())] };
  }
  if (Array.isArray(parsed)) {
    if (parsed.length === 0) return { batch: false, replies: [errorReply(null, invalidRequest())] };
    const replies: Reply[] = [];
    for (const request of parsed) {
      const reply = call(request, o);
      if (reply !== null) replies.push(reply);
    }
    return replies.length > 0 ? { batch: true, replies } : null;
  }
  const reply = call(parsed, o);
  return reply === null ? null : { batch: false, replies: [reply] };
}

/** The whole response as one string (for transports without streaming, e.g. websocket frames). */
export function replyText(d: Dispatched): string {
  const texts = d.replies.map((r) => (typeof r === "string" ? r : r.head + [...r.chunks].join("") + r.tail));
  return d.batch ? `[${texts.join(",")}]` : texts[0]!;
}
