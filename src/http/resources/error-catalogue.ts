import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { catalogue, type ErrorCode, errorClasses } from "../../errors/catalogue.ts";
import type { AppEnv } from "../context.ts";
import { jsonContent } from "../schemas.ts";

const Text = z.object({ message: z.string(), remedy: z.string() });
const EntrySchema = z
  .object({
    code: z.string(),
    status: z.number().int(),
    class: z.enum(errorClasses),
    upstream_code: z.string().nullable(),
    en: Text,
    ru: Text,
  })
  .openapi("ErrorCatalogueEntry");

export function catalogueEntries() {
  return (Object.keys(catalogue) as ErrorCode[]).map((code) => {
    const entry = catalogue[code];
    return {
      code,
      status: entry.status,
      class: entry.class,
      upstream_code: entry.upstream ?? null,
      en: entry.en,
      ru: entry.ru,
    };
  });
}

/** The error catalogue, public so that integrators can map codes without a key. */
export function errorCatalogueRoutes() {
  const app = new OpenAPIHono<AppEnv>();
  app.openapi(
    createRoute({
      method: "get",
      path: "/errors",
      tags: ["Errors"],
      summary: "The error catalogue: every code the hub can return, with its texts and remedy",
      responses: { 200: jsonContent(z.object({ items: z.array(EntrySchema) }), "Every catalogued error") },
    }),
    (c) => c.json({ items: catalogueEntries() }, 200),
  );
  return app;
}
