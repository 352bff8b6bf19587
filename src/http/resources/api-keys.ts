import { OpenAPIHono, z } from "@hono/zod-openapi";
import { AppError } from "../../errors/app-error.ts";
import type { PageRequest } from "../../store/pagination.ts";
import { type ApiKey, createApiKey, listApiKeys, revokeApiKey } from "../../store/repositories/api-keys.ts";
import { getWorkspace } from "../../store/repositories/workspaces.ts";
import type { AppDeps, AppEnv } from "../context.ts";
import { validationHook } from "../errors.ts";
import { requireAdmin } from "../middleware/auth.ts";
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

const WorkspaceParam = z.object({
  id: IdParam.shape.id.openapi({ description: "The workspace" }),
});
const WorkspaceKeyParam = WorkspaceParam.extend({
  key_id: z.string().openapi({ param: { name: "key_id", in: "path" }, description: "The key" }),
});

/**
 * The keys of the caller's workspace under `/api-keys`, and, for admin keys, the keys of any
 * workspace under `/workspaces/{id}/api-keys`: without those, a workspace whose keys were lost
 * could get a new one only from a shell on the hub.
 */
export function apiKeyRoutes({ store }: AppDeps) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const db = store.db;

  const existingWorkspace = async (id: string) => {
    if (!(await getWorkspace(db, id))) throw new AppError("workspace_not_found", { id });
    return id;
  };
  const list = async (workspaceId: string, page: PageRequest) =>
    presentPage(await listApiKeys(db, workspaceId, page), presentKey);
  const create = async (workspaceId: string, input: z.infer<typeof ApiKeyInput>, caller: ApiKey) => {
    if (input.admin && !caller.admin) throw new AppError("admin_required");
    return presentCreatedKey(await createApiKey(db, { workspaceId, name: input.name, admin: input.admin }));
  };
  // A key revoked before answers as it is, as a successful revocation: nothing changed.
  const revoke = async (workspaceId: string, id: string, caller: ApiKey) =>
    presentKey((await revokeApiKey(db, id, { workspaceId, admin: caller.admin })).key);

  const listed = jsonContent(pageOf(ApiKeySchema, "ApiKeyPage"), "Keys, newest first");
  const created = jsonContent(ApiKeyCreatedSchema, "The new key");
  const revoked = jsonContent(ApiKeySchema, "The revoked key");
  const revocationRules =
    "Takes effect at once on this hub process and within 5 seconds on the others. Only an admin key may revoke an admin key; neither the last admin key nor a workspace's last key can be revoked.";

  app.openapi(
    apiRoute(tag, {
      method: "get",
      path: "/api-keys",
      summary: "List the workspace's API keys",
      request: { query: PageQuery },
      responses: { 200: listed, ...errorResponses(400) },
    }),
    async (c) => c.json(await list(c.get("apiKey").workspaceId, c.req.valid("query")), 200),
  );

  app.openapi(
    apiRoute(tag, {
      method: "post",
      path: "/api-keys",
      summary: "Create an API key",
      description: "The key in the answer is shown only once; the hub keeps only its hash.",
      request: { body: jsonBody(ApiKeyInput) },
      responses: { 201: created, ...errorResponses(400, 403, 409, 413, 415) },
    }),
    async (c) => {
      const caller = c.get("apiKey");
      return c.json(await create(caller.workspaceId, c.req.valid("json"), caller), 201);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "delete",
      path: "/api-keys/{id}",
      summary: "Revoke an API key",
      description: revocationRules,
      request: { params: IdParam },
      responses: { 200: revoked, ...errorResponses(403, 404, 409) },
    }),
    async (c) => {
      const caller = c.get("apiKey");
      const key = await revoke(caller.workspaceId, c.req.valid("param").id, caller);
      c.set("revokedKeyId", key.id);
      return c.json(key, 200);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "get",
      path: "/workspaces/{id}/api-keys",
      summary: "List a workspace's API keys (admin)",
      middleware: [requireAdmin],
      request: { params: WorkspaceParam, query: PageQuery },
      responses: { 200: listed, ...errorResponses(400, 403, 404) },
    }),
    async (c) => {
      const workspaceId = await existingWorkspace(c.req.valid("param").id);
      return c.json(await list(workspaceId, c.req.valid("query")), 200);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "post",
      path: "/workspaces/{id}/api-keys",
      summary: "Create an API key in a workspace (admin)",
      description:
        "For a workspace whose keys were lost or leaked. The key in the answer is shown only once.",
      middleware: [requireAdmin],
      request: { params: WorkspaceParam, body: jsonBody(ApiKeyInput) },
      responses: { 201: created, ...errorResponses(400, 403, 404, 409, 413, 415) },
    }),
    async (c) => {
      const workspaceId = await existingWorkspace(c.req.valid("param").id);
      return c.json(await create(workspaceId, c.req.valid("json"), c.get("apiKey")), 201);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "delete",
      path: "/workspaces/{id}/api-keys/{key_id}",
      summary: "Revoke an API key of a workspace (admin)",
      description: revocationRules,
      middleware: [requireAdmin],
      request: { params: WorkspaceKeyParam },
      responses: { 200: revoked, ...errorResponses(403, 404, 409) },
    }),
    async (c) => {
      const { id, key_id } = c.req.valid("param");
      const key = await revoke(await existingWorkspace(id), key_id, c.get("apiKey"));
      c.set("revokedKeyId", key.id);
      return c.json(key, 200);
    },
  );

  return app;
}
