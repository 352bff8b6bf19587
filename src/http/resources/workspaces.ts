import { OpenAPIHono, z } from "@hono/zod-openapi";
import { AppError } from "../../errors/app-error.ts";
import { createApiKey } from "../../store/repositories/api-keys.ts";
import {
  createWorkspace,
  getWorkspace,
  listWorkspaces,
  updateWorkspace,
  type Workspace,
} from "../../store/repositories/workspaces.ts";
import { channelKinds } from "../../store/schema.ts";
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
import { ApiKeyCreatedSchema, presentCreatedKey } from "./api-keys.ts";

export const WorkspaceSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    route_order: z.array(z.string()).openapi({
      description:
        "The channel kinds a message of the send API tries, in this order, when it names no routes (docs/sending.md)",
    }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Workspace");

export const presentWorkspace = (w: Workspace) => ({
  id: w.id,
  name: w.name,
  route_order: w.routeOrder,
  created_at: iso(w.createdAt) as string,
  updated_at: iso(w.updatedAt) as string,
});

const WorkspaceInput = z.strictObject({ name: z.string().trim().min(1).max(200) }).openapi("WorkspaceInput");
const WorkspacePatch = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    route_order: z
      .array(z.enum(channelKinds))
      .min(1)
      .refine((kinds) => new Set(kinds).size === kinds.length, "Name each kind once")
      .optional(),
  })
  .openapi("WorkspacePatch");
const tag = "Workspaces";

/** Workspaces are tenants. Listing, creating and renaming them needs an admin key. */
export function workspaceRoutes({ store }: AppDeps) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const db = store.db;

  app.openapi(
    apiRoute(tag, {
      method: "get",
      path: "/workspaces",
      summary: "List workspaces (admin)",
      middleware: [requireAdmin],
      request: { query: PageQuery },
      responses: {
        200: jsonContent(pageOf(WorkspaceSchema, "WorkspacePage"), "Workspaces, newest first"),
        ...errorResponses(400, 403),
      },
    }),
    async (c) => c.json(presentPage(await listWorkspaces(db, c.req.valid("query")), presentWorkspace), 200),
  );

  app.openapi(
    apiRoute(tag, {
      method: "post",
      path: "/workspaces",
      summary: "Create a workspace and its first API key (admin)",
      description: "The key in the answer is shown only once.",
      middleware: [requireAdmin],
      request: { body: jsonBody(WorkspaceInput) },
      responses: {
        201: jsonContent(
          z.object({ workspace: WorkspaceSchema, api_key: ApiKeyCreatedSchema }),
          "The workspace and its first key",
        ),
        ...errorResponses(400, 403, 409, 413, 415),
      },
    }),
    async (c) => {
      const { name } = c.req.valid("json");
      const created = await db.transaction(async (tx) => {
        const workspace = await createWorkspace(tx, name);
        const key = await createApiKey(tx, { workspaceId: workspace.id, name: "first key" });
        return { workspace, key };
      });
      return c.json(
        { workspace: presentWorkspace(created.workspace), api_key: presentCreatedKey(created.key) },
        201,
      );
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "get",
      path: "/workspaces/{id}",
      summary: "Get a workspace",
      description: "Any key may read its own workspace; an admin key may read any.",
      request: { params: IdParam },
      responses: { 200: jsonContent(WorkspaceSchema, "The workspace"), ...errorResponses(404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const key = c.get("apiKey");
      const workspace = key.admin || key.workspaceId === id ? await getWorkspace(db, id) : undefined;
      if (!workspace) throw new AppError("workspace_not_found", { id });
      return c.json(presentWorkspace(workspace), 200);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "patch",
      path: "/workspaces/{id}",
      summary: "Rename a workspace or set its default route order (admin)",
      middleware: [requireAdmin],
      request: { params: IdParam, body: jsonBody(WorkspacePatch) },
      responses: {
        200: jsonContent(WorkspaceSchema, "The workspace"),
        ...errorResponses(400, 403, 404, 413, 415),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      const workspace = await updateWorkspace(db, id, { name: body.name, routeOrder: body.route_order });
      if (!workspace) throw new AppError("workspace_not_found", { id });
      return c.json(presentWorkspace(workspace), 200);
    },
  );

  return app;
}
