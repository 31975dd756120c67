/**
 * GET /admin: the operators' page, behind the admin key (a browser gets the Basic prompt). Static files
 * from this folder plus uPlot from node_modules (no CDN, no build step); the figures come from
 * GET /admin/api/overview?from=&to= as integer strings, which the page formats without floats.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Router, type Express } from "express";
import { adminAuth } from "../admin-auth.ts";
import { HttpError } from "../errors.ts";
import { describedBy, type DescribedPlugin, type Operation } from "../openapi/operations.ts";
import { AdminRangeQuery, ErrorBody } from "../openapi/schemas.ts";
import { validate } from "../openapi/validate.ts";
import { readOverview, resolveRange, type OverviewDeps } from "./overview.ts";

export const ADMIN_PAGE_PATH = "/admin";
export const QUEUES_LINK = "/admin/queues";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** Files served under /admin/assets/, read once. */
function assets(): Map<string, { type: string; body: Buffer }> {
  const js = "text/javascript; charset=utf-8";
  const css = "text/css; charset=utf-8";
  return new Map([
    ["admin.js", { type: js, body: readFileSync(join(here, "static/admin.js")) }],
    ["admin.css", { type: css, body: readFileSync(join(here, "static/admin.css")) }],
    ["uPlot.iife.min.js", { type: js, body: readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js")) }],
    ["uPlot.min.css", { type: css, body: readFileSync(require.resolve("uplot/dist/uPlot.min.css")) }],
  ]);
}

const unauthorized = { description: "the admin key is missing or wrong (a browser gets the Basic prompt)", schema: ErrorBody };

export const ADMIN_PAGE_OPERATIONS: readonly Operation[] = [
  { method: "get", path: ADMIN_PAGE_PATH, tag: "admin", security: "admin", summary: "The operators' dashboard page (HTML)", responses: { 200: { description: "HTML", contentType: "text/html" }, 401: unauthorized } },
  {
    method: "get",
    path: "/admin/api/overview",
    tag: "admin",
    security: "admin",
    summary: "The dashboard's figures for a range of UTC days (default the last 30, today included); amounts as integer strings",
    query: AdminRangeQuery,
    responses: { 200: { description: "figures" }, 400: { description: "bad range", schema: ErrorBody }, 401: unauthorized },
  },
  { method: "get", path: "/admin/assets/:file", tag: "admin", security: "admin", summary: "The page's script, styles and uPlot", responses: { 200: { description: "a static file", contentType: "text/javascript" }, 404: { description: "no such file", schema: ErrorBody } } },
];

export function createAdminPagePlugin(deps: OverviewDeps & { adminKey: string; now?: () => Date }): DescribedPlugin {
  const files = assets();
  const page = readFileSync(join(here, "static/index.html"));
  const now = deps.now ?? (() => new Date());
  const router = Router();
  const auth = adminAuth({ key: deps.adminKey, realm: "kamiyo-stake admin" });

  router.get(ADMIN_PAGE_PATH, auth, (_req, res) => {
    res.set("Cache-Control", "no-store").type("html").send(page);
  });
  router.get("/admin/assets/:file", auth, (req, res) => {
    const file = files.get(req.params.file as string);
    if (!file) throw new HttpError("not_found", "not_found", "no such asset");
    res.set("Cache-Control", "private, max-age=300").type(file.type).send(file.body);
  });
  router.get("/admin/api/overview", auth, async (req, res) => {
    const q = validate(AdminRangeQuery, req.query, "invalid_range");
    const at = now();
    const range = resolveRange(q.from, q.to, at);
    if (typeof range === "string") throw new HttpError("invalid_input", "invalid_range", range);
    let overview: Awaited<ReturnType<typeof readOverview>>;
    try {
      overview = await readOverview(deps, range, at);
    } catch (err) {
      throw new HttpError("unavailable", "unavailable", "the dashboard's figures cannot be read right now; retry shortly", { cause: err });
    }
    res.set("Cache-Control", "no-store").json(overview);
  });

  return describedBy((app: Express) => {
    app.use(router);
  }, ADMIN_PAGE_OPERATIONS);
}
