import { OpenAPIHono, z } from "@hono/zod-openapi";
import { AppError } from "../../errors/app-error.ts";
import { type ApiKey, createApiKey, listApiKeys, revokeApiKey } from "../../store/repositories/api-keys.ts";
import type { AppDeps, AppEnv } from "../context.ts";
import { validationHook } from "../errors.ts";
import {
  apiRoute,
  errorResponses,
  IdParam,
  iso,
  jsonBody,
  jsonContent,
  PageQuery,
  pageOf,
  presentPage,
  Timestamp,
} from "../schemas.ts";

export const ApiKeySchema = z
  .object({
    id: z.string(),
    workspace_id: z.string(),
    name: z.string(),
    prefix: z.string().openapi({ description: "The key's first characters, to tell keys apart" }),
    admin: z.boolean(),
    created_at: Timestamp,
    last_used_at: Timestamp.nullable(),
    revoked_at: Timestamp.nullable(),
  })
  .openapi("ApiKey");

export const ApiKeyCreatedSchema = ApiKeySchema.extend({
  key: z.string().openapi({ description: "The whole key. Shown only in this answer; store it now." }),
}).openapi("ApiKeyCreated");

export const presentKey = (k: ApiKey) => ({
  id: k.id,
  workspace_id: k.workspaceId,
  name: k.name,
  prefix: k.prefix,
  admin: k.admin,
  created_at: iso(k.createdAt) as string,
  last_used_at: iso(k.lastUsedAt),
  revoked_at: iso(k.revokedAt),
});

export const presentCreatedKey = ({ key, secret }: { key: ApiKey; secret: string }) => ({
  ...presentKey(key),
  key: secret,
});

const ApiKeyInput = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    admin: z
      .boolean()
      .default(false)
      .openapi({ description: "Admin keys manage workspaces; only an admin key may create one." }),
  })
  .openapi("ApiKeyInput");
const tag = "API keys";

/** The keys of the caller's workspace. */
export function apiKeyRoutes({ store }: AppDeps) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const db = store.db;

  app.openapi(
    apiRoute(tag, {
      method: "get",
      path: "/api-keys",
      summary: "List the workspace's API keys",
      request: { query: PageQuery },
      responses: {
        200: jsonContent(pageOf(ApiKeySchema, "ApiKeyPage"), "Keys, newest first"),
        ...errorResponses(400),
      },
    }),
    async (c) =>
      c.json(
        presentPage(await listApiKeys(db, c.get("apiKey").workspaceId, c.req.valid("query")), presentKey),
        200,
      ),
  );

  app.openapi(
    apiRoute(tag, {
      method: "post",
      path: "/api-keys",
      summary: "Create an API key",
      description: "The key in the answer is shown only once; the hub keeps only its hash.",
      request: { body: jsonBody(ApiKeyInput) },
      responses: {
        201: jsonContent(ApiKeyCreatedSchema, "The new key"),
        ...errorResponses(400, 403, 409, 413, 415),
      },
    }),
    async (c) => {
      const input = c.req.valid("json");
      const caller = c.get("apiKey");
      if (input.admin && !caller.admin) throw new AppError("admin_required");
      const created = await createApiKey(db, {
        workspaceId: caller.workspaceId,
        name: input.name,
        admin: input.admin,
      });
      return c.json(presentCreatedKey(created), 201);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "delete",
      path: "/api-keys/{id}",
      summary: "Revoke an API key",
      description:
        "Takes effect at once on this hub process and within 5 seconds on the others. Only an admin key may revoke an admin key; the last admin key cannot be revoked.",
      request: { params: IdParam },
      responses: { 200: jsonContent(ApiKeySchema, "The revoked key"), ...errorResponses(403, 404, 409) },
    }),
    async (c) => {
      const caller = c.get("apiKey");
      const revoked = await revokeApiKey(db, c.req.valid("param").id, caller);
      c.set("revokedKeyId", revoked.id);
      return c.json(presentKey(revoked), 200);
    },
  );

  return app;
}
