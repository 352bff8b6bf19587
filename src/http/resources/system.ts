import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { Gauge, type Registry } from "prom-client";
import swaggerUiDist from "swagger-ui-dist";
import { AppError } from "../../errors/app-error.ts";
import { type MigrationStatus, migrationStatus } from "../../store/migrations.ts";
import { countPendingInboundEvents } from "../../store/repositories/inbound-events.ts";
import type { AppDeps, AppEnv } from "../context.ts";
import { errorResponses, jsonContent } from "../schemas.ts";

const Health = z.object({ status: z.literal("ok") }).openapi("Health");
const Readiness = z
  .object({
    status: z.literal("ready"),
    store: z.enum(["embedded", "server"]),
    migrations: z.object({
      applied: z.number(),
      known: z.number(),
      newer: z.number().openapi({
        description:
          "Migrations a newer version applied; a ready hub runs beside them only when every one is additive",
      }),
    }),
  })
  .openapi("Readiness");
const tags = ["Operations"];

/** Health, readiness, metrics and the API reference page; none of them needs a key. */
export function systemRoutes({ store }: AppDeps, registry: Registry) {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    createRoute({
      method: "get",
      path: "/healthz",
      tags,
      summary: "Liveness: the process answers",
      responses: { 200: jsonContent(Health, "Alive") },
    }),
    (c) => c.json({ status: "ok" as const }, 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/readyz",
      tags,
      summary: "Readiness: the database answers and every migration is applied",
      responses: { 200: jsonContent(Readiness, "Ready to serve"), ...errorResponses(503) },
    }),
    async (c) => {
      let migrations: MigrationStatus;
      try {
        await store.ping();
        migrations = await migrationStatus(store.db);
      } catch (error) {
        throw new AppError("not_ready", {
          reason: `the database does not answer (${(error as Error).message})`,
        });
      }
      // A hub left running when a newer version migrated the store goes out of service, unless
      // the newer version only added to it (a rolling upgrade).
      if (migrations.newerBreaking > 0) {
        throw new AppError("not_ready", {
          reason: `a newer version migrated the store (${migrations.newer} migrations this version does not know, ${migrations.newerBreaking} of them not additive)`,
        });
      }
      if (migrations.applied < migrations.known) {
        throw new AppError("not_ready", {
          reason: `${migrations.applied} of ${migrations.known} migrations applied`,
        });
      }
      const { applied, known, newer } = migrations;
      return c.json(
        { status: "ready" as const, store: store.mode, migrations: { applied, known, newer } },
        200,
      );
    },
  );

  new Gauge({
    name: "switchboard_inbound_events_pending",
    help: "Platform events stored but not yet processed (all channels).",
    registers: [registry],
    async collect() {
      this.set(await countPendingInboundEvents(store.db));
    },
  });
  app.get("/metrics", async (c) =>
    c.text(await registry.metrics(), 200, { "content-type": registry.contentType }),
  );

  const assets = loadReferenceAssets();
  app.get("/docs", (c) => c.html(referencePage));
  app.get("/docs/assets/:file", (c) => {
    const asset = assets.get(c.req.param("file"));
    if (!asset) return c.notFound();
    return c.body(asset.body, 200, { "content-type": asset.type, "cache-control": "public, max-age=86400" });
  });

  return app;
}

/** Swagger UI from the installed package, held in memory: the page works with no internet. */
function loadReferenceAssets() {
  const dir = swaggerUiDist.getAbsoluteFSPath();
  const files: [string, string][] = [
    ["swagger-ui.css", "text/css; charset=utf-8"],
    ["swagger-ui-bundle.js", "text/javascript; charset=utf-8"],
    ["favicon-32x32.png", "image/png"],
  ];
  return new Map(files.map(([name, type]) => [name, { body: readFileSync(join(dir, name)), type }]));
}

const referencePage = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Switchboard API reference</title>
  <link rel="icon" href="/docs/assets/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="reference"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script>
    SwaggerUIBundle({ url: "/openapi.json", dom_id: "#reference", deepLinking: true, tryItOutEnabled: false, persistAuthorization: true });
  </script>
</body>
</html>`;
