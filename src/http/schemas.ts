import { createRoute, type RouteConfig, z } from "@hono/zod-openapi";
import { errorClasses } from "../errors/catalogue.ts";

/** Schemas and response helpers shared by every resource module. */

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "validation_failed" }),
      message: z.string(),
      remedy: z.string(),
      request_id: z.string(),
      upstream_code: z.string().optional(),
      details: z
        .array(z.object({ path: z.string(), code: z.string(), detail: z.string() }))
        .optional()
        .openapi({
          description:
            "One entry per failing field; body fields are named by their path, others start with query., path. or header.",
        }),
    }),
  })
  .openapi("Error");

const errorDescriptions: Record<number, string> = {
  400: "Invalid input (`validation_failed`, `malformed_json`, ...)",
  401: "No or unknown API key",
  403: "The key may not do this",
  404: "Unknown id in this workspace",
  409: "Conflict (idempotency key reused, duplicate identity, ...)",
  410: "Too late: the platform no longer accepts this",
  413: "Body over the size limit",
  415: "Body is not JSON",
  422: "The platform or a policy refuses it (the code says which; see `remedy`)",
  424: "The channel's credentials are refused by the platform",
  429: "Rate limit; see Retry-After",
  500: "The hub failed (or a tool it needs, such as ffmpeg, is missing)",
  502: "The platform answered an error",
  503: "Not ready, or the platform failed for now; see Retry-After",
  504: "The platform could not be reached",
};

export function errorResponses(...statuses: number[]) {
  const all = [...new Set([401, 429, ...statuses])];
  return Object.fromEntries(
    all.map((status) => [
      status,
      {
        description: errorDescriptions[status] ?? "Error",
        content: { "application/json": { schema: ErrorSchema } },
      },
    ]),
  );
}

export function jsonContent<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

export function jsonBody<T extends z.ZodType>(schema: T) {
  return { required: true, content: { "application/json": { schema } } };
}

/**
 * A list's query. Strict, as every body is: a misspelt filter (`?stauts=open`) is refused by name
 * rather than ignored, which would answer the whole list as if it were the filtered one.
 */
export const PageQuery = z.strictObject({
  cursor: z.string().optional().openapi({ description: "`next_cursor` of the previous page" }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(50)
    .openapi({ description: "Items per page, 1 to 200" }),
});

/**
 * A list's filter for syncing by change. Its description warns why a pass must overlap the last:
 * a time the API has already shown is no lower bound for the times of rows still to appear.
 */
export const UpdatedSince = z.iso.datetime({ offset: true }).optional().openapi({
  description:
    "Only those changed at or after this time (`updated_at`, inclusive; RFC 3339). Use it with `order=updated` to sync. `updated_at` is read from a clock (the hub process's, or the database's) when the change is made, not when it commits, and changes commit in no strict order, so a row may appear with an `updated_at` a little before one you have already read. Start each pass from the last `updated_at` you saw minus a minute, and treat what you see again as already known.",
  example: "2026-11-21T09:14:03.000Z",
});

export function pageOf<T extends z.ZodType>(item: T, name: string) {
  return z
    .object({ items: z.array(item), next_cursor: z.string().nullable() })
    .openapi(name, { description: "One page; `next_cursor` is null on the last page." });
}

export function presentPage<T, R>(page: { items: T[]; nextCursor: string | null }, present: (item: T) => R) {
  return { items: page.items.map(present), next_cursor: page.nextCursor };
}

export const IdParam = z.object({
  id: z
    .string()
    .openapi({ param: { name: "id", in: "path" }, example: "0193a5b0-7c1e-7d2a-9f00-1b2c3d4e5f60" }),
});

export const Timestamp = z.string().openapi({ format: "date-time" });
export { iso } from "../core/iso.ts";

/** A route of the key-protected `/v1` API, filed under `tag` in the reference. */
export function apiRoute<const R extends Omit<RouteConfig, "tags" | "security">>(tag: string, config: R) {
  return createRoute({ ...config, tags: [tag], security: [{ bearer: [] }] });
}

export const ErrorClassSchema = z.enum(errorClasses);
