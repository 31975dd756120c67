/**
 * The OpenAPI 3.1 document, /.well-known/x402 and the human-readable docs page, generated from the mounted
 * parts' operations (operations.ts) and their zod schemas (schemas.ts) with zod's z.toJSONSchema (JSON
 * Schema 2020-12, which OpenAPI 3.1 uses).
 */
import { z } from "zod";
import type { Config } from "../../src/config.ts";
import { usdcText, type Operation } from "./operations.ts";
import type { WellKnownX402 } from "./schemas.ts";

type WellKnown = z.output<typeof WellKnownX402>;

type Json = Record<string, unknown>;

/** /x402/staking/info/:wallet -> /x402/staking/info/{wallet} */
export const openApiPath = (expressPath: string) => expressPath.replace(/:(\w+)/g, "{$1}");

/** Named schemas (zod `.meta({ id })`), shared by the operations: the document's components.schemas. */
type Components = Record<string, Json>;

/** Moves `$defs` into the components and points their `$ref`s there. */
function hoist(node: unknown, components: Components): unknown {
  if (Array.isArray(node)) return node.map((n) => hoist(n, components));
  if (node === null || typeof node !== "object") return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) {
    if (k === "$schema") continue;
    if (k === "$defs") {
      for (const [name, def] of Object.entries(v as Json)) components[name] = hoist(def, components) as Json;
      continue;
    }
    out[k] = k === "$ref" && typeof v === "string" ? v.replace("#/$defs/", "#/components/schemas/") : hoist(v, components);
  }
  return out;
}

let components: Components = {};
const jsonSchema = (schema: z.ZodType, io: "input" | "output"): Json =>
  hoist(z.toJSONSchema(schema, { target: "draft-2020-12", io, unrepresentable: "any" }), components) as Json;

function parameters(where: "path" | "query", schema: z.ZodObject | undefined): Json[] {
  if (!schema) return [];
  const s = jsonSchema(schema, "input") as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, prop]) => ({
    name,
    in: where,
    required: where === "path" || (s.required ?? []).includes(name),
    ...(typeof prop.description === "string" ? { description: prop.description } : {}),
    schema: prop,
  }));
}

function operationObject(op: Operation): Json {
  const responses: Json = {};
  for (const [status, r] of Object.entries(op.responses)) {
    const type = r.contentType ?? "application/json";
    responses[status] = { description: r.description, ...(r.schema ? { content: { [type]: { schema: jsonSchema(r.schema, "output") } } } : { content: { [type]: {} } }) };
  }
  const out: Json = {
    operationId: `${op.method}${op.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? "").toUpperCase())}`,
    summary: op.summary,
    tags: [op.tag],
    parameters: [...parameters("path", op.params), ...parameters("query", op.query)],
    responses,
  };
  if (op.body) out.requestBody = { required: true, content: { "application/json": { schema: jsonSchema(op.body, "input") } } };
  if (op.security === "admin") out.security = [{ adminBearer: [] }, { adminKey: [] }, { adminBasic: [] }];
  if (op.security === "webhook") out.security = [{ heliusAuth: [] }];
  if (op.mount) out["x-mount"] = { description: "a sub-application: this path and everything under it" };
  if (op.payment) {
    out["x-payment-info"] = {
      price: { mode: "range", currency: "USDC", min: usdcText(op.payment.min), max: usdcText(op.payment.max) },
      protocols: [{ x402: { version: 2, scheme: "exact", header: "PAYMENT-SIGNATURE" } }],
    };
  }
  return out;
}

export function buildOpenApiDocument(config: Config, operations: readonly Operation[]): Json {
  const paths: Record<string, Json> = {};
  components = {};
  for (const op of operations) (paths[openApiPath(op.path)] ??= {})[op.method] = operationObject(op);
  const schemas = components;
  return {
    openapi: "3.1.0",
    info: {
      title: "kamiyo-stake",
      version: "0.1.0",
      description:
        "KAMIYO staking discounts for x402 APIs on Solana. Paid routes take x402 v2 payments (Solana exact, USDC) and give stakers 10/20/30 % off; amounts are exact integer strings.",
    },
    servers: [{ url: config.publicUrl }],
    paths,
    components: {
      schemas,
      securitySchemes: {
        adminBearer: { type: "http", scheme: "bearer", description: "ADMIN_API_KEY" },
        adminKey: { type: "apiKey", in: "header", name: "x-admin-key" },
        adminBasic: { type: "http", scheme: "basic", description: "any user name, ADMIN_API_KEY as password" },
        heliusAuth: { type: "apiKey", in: "header", name: "Authorization", description: "HELIUS_WEBHOOK_AUTH" },
      },
    },
  };
}

export function wellKnownX402(config: Config, operations: readonly Operation[]): WellKnown {
  return {
    x402Version: 2,
    openapi: new URL("/openapi.json", config.publicUrl).href,
    resources: operations
      .filter((op) => op.payment)
      .map((op) => ({
        resource: new URL(op.path, config.publicUrl).href,
        method: op.method.toUpperCase(),
        description: op.summary,
        scheme: "exact" as const,
        network: config.x402.network,
        asset: config.solana.usdcMint,
        payTo: config.x402.payTo,
        price: { mode: "range" as const, currency: "USDC" as const, min: usdcText(op.payment!.min), max: usdcText(op.payment!.max) },
      })),
  };
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The document as one static HTML page: every operation, its parameters, responses and price. */
export function docsPage(doc: Json): string {
  const paths = doc.paths as Record<string, Record<string, Json>>;
  const rows: string[] = [];
  for (const [path, ops] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const params = (op.parameters as Json[]).map((p) => `<code>${escape(String(p.name))}</code> (${escape(String(p.in))}${p.required ? ", required" : ""})${p.description ? `: ${escape(String(p.description))}` : ""}`);
      const responses = Object.entries(op.responses as Record<string, Json>).map(([s, r]) => `<code>${s}</code> ${escape(String(r.description))}`);
      const pay = op["x-payment-info"] as { price: { min: string; max: string } } | undefined;
      rows.push(`<section class="op" id="${escape(String(op.operationId))}">
  <h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${escape(path)}</code></h3>
  <p>${escape(String(op.summary))}</p>
  ${op.security ? `<p class="auth">Needs the admin key or the webhook's auth header.</p>` : ""}
  ${pay ? `<p class="pay">Paid with x402 v2: ${escape(pay.price.min)} to ${escape(pay.price.max)} USDC (stakers pay less).</p>` : ""}
  ${params.length ? `<p>Parameters: ${params.join("; ")}</p>` : ""}
  <p>Responses: ${responses.join("; ")}</p>
</section>`);
    }
  }
  const info = doc.info as { title: string; description: string };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(info.title)} API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d2330}
code{background:#f1f3f7;padding:0 .25rem;border-radius:3px}.op{border-top:1px solid #dde1ea;padding:.5rem 0}
.m{display:inline-block;min-width:4rem;font-size:.8rem;color:#fff;background:#3c6fd8;border-radius:3px;text-align:center}
.m.post{background:#2a9d5b}.pay{color:#8a5a00}.auth{color:#6b7280}
</style></head><body>
<h1>${escape(info.title)} API</h1><p>${escape(info.description)}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1) and <a href="/.well-known/x402">/.well-known/x402</a>.</p>
${rows.join("\n")}
</body></html>`;
}
