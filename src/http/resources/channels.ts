import { OpenAPIHono, z } from "@hono/zod-openapi";
import {
  type ChannelAccount,
  listChannelAccounts,
  requireChannelAccount,
  setChannelState,
} from "../../store/repositories/channel-accounts.ts";
import { channelKinds, connectionStates } from "../../store/schema.ts";
import type { AppDeps, AppEnv } from "../context.ts";
import { validationHook } from "../errors.ts";
import {
  apiRoute,
  errorResponses,
  IdParam,
  iso,
  jsonContent,
  PageQuery,
  pageOf,
  presentPage,
  Timestamp,
} from "../schemas.ts";

export const ChannelSchema = z
  .object({
    id: z.string(),
    kind: z.enum(channelKinds),
    external_id: z
      .string()
      .openapi({ description: "The platform's id: VK group id, bot id, phone number..." }),
    name: z.string(),
    state: z.enum(connectionStates),
    state_reason: z
      .string()
      .nullable()
      .openapi({ description: "Why the channel is in its state, with the remedy" }),
    state_changed_at: Timestamp,
    last_event_at: Timestamp.nullable(),
    has_credentials: z.boolean(),
    settings: z.record(z.string(), z.unknown()),
    limits: z.record(z.string(), z.unknown()),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Channel");

// Credentials never leave the hub: only whether there are any.
const presentChannel = (a: ChannelAccount) => ({
  id: a.id,
  kind: a.kind,
  external_id: a.externalId,
  name: a.name,
  state: a.state,
  state_reason: a.stateReason,
  state_changed_at: iso(a.stateChangedAt) as string,
  last_event_at: iso(a.lastEventAt),
  has_credentials: a.credentials !== null,
  settings: a.settings,
  limits: a.limits,
  created_at: iso(a.createdAt) as string,
  updated_at: iso(a.updatedAt) as string,
});

const tag = "Channels";

/** Connected channel accounts. Connecting one is per platform (see the channel guides). */
export function channelRoutes({ store }: AppDeps) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const db = store.db;

  app.openapi(
    apiRoute(tag, {
      method: "get",
      path: "/channels",
      summary: "List channel accounts",
      request: {
        query: PageQuery.extend({
          kind: z.enum(channelKinds).optional(),
          state: z.enum(connectionStates).optional(),
        }),
      },
      responses: {
        200: jsonContent(pageOf(ChannelSchema, "ChannelPage"), "Channels, newest first"),
        ...errorResponses(400),
      },
    }),
    async (c) => {
      const { kind, state, ...page } = c.req.valid("query");
      const result = await listChannelAccounts(db, c.get("apiKey").workspaceId, { kind, state }, page);
      return c.json(presentPage(result, presentChannel), 200);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "get",
      path: "/channels/{id}",
      summary: "Get a channel account",
      request: { params: IdParam },
      responses: { 200: jsonContent(ChannelSchema, "The channel"), ...errorResponses(404) },
    }),
    async (c) =>
      c.json(
        presentChannel(await requireChannelAccount(db, c.get("apiKey").workspaceId, c.req.valid("param").id)),
        200,
      ),
  );

  for (const [action, state, summary] of [
    ["disable", "disabled", "Disable a channel: it stops receiving and sending until enabled"],
    ["enable", "connecting", "Enable a disabled channel: it reconnects"],
  ] as const) {
    app.openapi(
      apiRoute(tag, {
        method: "post",
        path: `/channels/{id}/${action}`,
        summary,
        request: { params: IdParam },
        responses: { 200: jsonContent(ChannelSchema, "The channel"), ...errorResponses(404, 409) },
      }),
      async (c) => {
        const reason =
          action === "disable" ? `disabled through the API by key ${c.get("apiKey").prefix}…` : null;
        const account = await setChannelState(
          db,
          c.get("apiKey").workspaceId,
          c.req.valid("param").id,
          state,
          reason,
        );
        return c.json(presentChannel(account), 200);
      },
    );
  }

  return app;
}
