/** GET /openapi.json, GET /.well-known/x402 and GET /docs: the API describing itself, from what is mounted. */
import { Router } from "express";
import type { Config } from "../../src/config.ts";
import { buildOpenApiDocument, docsPage, wellKnownX402 } from "./document.ts";
import type { Operation } from "./operations.ts";
import { WellKnownX402 } from "./schemas.ts";

export const OPENAPI_OPERATIONS: readonly Operation[] = [
  { method: "get", path: "/openapi.json", tag: "meta", summary: "This document (OpenAPI 3.1)", responses: { 200: { description: "the document" } } },
  { method: "get", path: "/.well-known/x402", tag: "meta", summary: "The paid resources, their x402 scheme, network, asset and price range", responses: { 200: { description: "paid resources", schema: WellKnownX402 } } },
  { method: "get", path: "/docs", tag: "meta", summary: "This document as a page for people", responses: { 200: { description: "HTML", contentType: "text/html" } } },
];

/** `operations()` is read at the first request: every part has been mounted by then. */
export function openApiRoutes(config: Config, operations: () => readonly Operation[]): Router {
  const router = Router();
  let built: { doc: Record<string, unknown>; page: string; wellKnown: ReturnType<typeof wellKnownX402> } | null = null;
  const get = () => {
    if (built) return built;
    const ops = [...operations(), ...OPENAPI_OPERATIONS];
    const doc = buildOpenApiDocument(config, ops);
    built = { doc, page: docsPage(doc), wellKnown: wellKnownX402(config, ops) };
    return built;
  };
  router.get("/openapi.json", (_req, res) => {
    res.set("Cache-Control", "public, max-age=60").json(get().doc);
  });
  router.get("/.well-known/x402", (_req, res) => {
    res.set("Cache-Control", "public, max-age=60").set("Access-Control-Allow-Origin", "*").json(get().wellKnown);
  });
  router.get("/docs", (_req, res) => {
    res.set("Cache-Control", "public, max-age=60").type("html").send(get().page);
  });
  return router;
}
