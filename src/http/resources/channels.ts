import { OpenAPIHono, z } from "@hono/zod-openapi";
import { presentChannel } from "../../channels/present.ts";
import { connectVkChannel, disconnectVkChannel, updateVkChannel } from "../../channels/vk/connect.ts";
import { AppError } from "../../errors/app-error.ts";
import { sendLimitFields } from "../../pipeline/send/limits.ts";
import { recordChannelStatus } from "../../pipeline/webhooks/events.ts";
import {
  channelsChangedChannel,
  listChannelAccounts,
  requireChannelAccount,
  transitionChannelState,
  updateChannelAccount,
} from "../../store/repositories/channel-accounts.ts";
import { outboundChannel, releaseQuotaHolds } from "../../store/repositories/outbound-queue.ts";
import { channelKinds, connectionStates } from "../../store/schema.ts";
import type { AppDeps, AppEnv } from "../context.ts";
import { validationHook } from "../errors.ts";
import {
  apiRoute,
  errorResponses,
  IdParam,
  jsonBody,
  jsonContent,
  PageQuery,
  pageOf,
  presentPage,
  Timestamp,
} from "../schemas.ts";

const NoticeSchema = z
  .object({
    code: z.string().openapi({ description: "A code of the error catalogue (`GET /v1/errors`)" }),
    message: z.string(),
    remedy: z.string(),
  })
  .openapi("ChannelNotice");

export const ChannelSchema = z
  .object({
    id: z.string(),
    kind: z.enum(channelKinds),
    external_id: z
      .string()
      .openapi({ description: "The platform's id: VK group id, bot id, phone number..." }),
    name: z.string(),
    mode: z
      .string()
      .nullable()
      .openapi({ description: "How events arrive: `callback` (webhooks) or `long_poll` (VK)" }),
    webhook_url: z
      .string()
      .nullable()
      .openapi({ description: "Where the platform posts events to the hub (callback mode)" }),
    state: z.enum(connectionStates),
    state_code: z.string().nullable().openapi({
      description: "The catalogue code of the problem behind `connecting` or `failing`, when known",
    }),
    state_reason: z.string().nullable().openapi({ description: "Why the channel is in its state" }),
    state_remedy: z.string().nullable().openapi({ description: "What to do about it" }),
    state_changed_at: Timestamp,
    last_event_at: Timestamp.nullable(),
    warnings: z.array(NoticeSchema).openapi({
      description:
        "Things that work but deserve attention: foreign callback servers (duplicate messages), a single token, missing rights...",
    }),
    has_credentials: z.boolean(),
    settings: z.record(z.string(), z.unknown()),
    limits: z.record(z.string(), z.unknown()),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Channel");

const Mode = z.enum(["callback", "long_poll"]).openapi({
  description:
    "`callback`: VK posts events to the hub (needs the hub's `publicUrl`); `long_poll`: the hub fetches them (Bots Long Poll), for hubs VK cannot reach. Default: `callback` when the hub has a `publicUrl`, else `long_poll`.",
});
const Tokens = z.array(z.string().trim().min(1).max(512)).min(1).max(20).openapi({
  description:
    "Community access tokens (Manage → API usage → Access tokens) with the rights messages, photos, docs, wall and manage. Two or more spread VK's 20 requests per second per token.",
});
const ApiBaseUrl = z.url({ protocol: /^https?$/ }).openapi({
  description:
    "The VK API's address, default https://api.vk.ru/method. Point it at an emulator or a sandbox (e.g. http://127.0.0.1:8090/method); the hub sends the tokens there, so only an admin key may set it.",
});
const TextLimit = z
  .number()
  .int()
  .min(100)
  .max(9000)
  .openapi({ description: "Longest text of one VK message; longer texts are split (default 4096)" });

const LimitsPatch = z
  .object(
    Object.fromEntries(Object.entries(sendLimitFields).map(([name, field]) => [name, field.nullable()])) as {
      [K in keyof typeof sendLimitFields]: z.ZodNullable<(typeof sendLimitFields)[K]>;
    },
  )
  .partial()
  .strict()
  .openapi("ChannelLimits", {
    description:
      "The dispatcher's limits for this account; each replaces the platform's default, `null` restores it. `per_second`: messages per second, all priorities (VK: 20 × tokens); `notifications_per_second`: of which `notification` and `bulk` (VK: 50); `per_recipient_per_day`: notifications to one client in 24 hours (VK: 5; 0 = no quota); `min_interval_ms` + up to `jitter_ms` at random between two sends (anti-ban pacing). See docs/sending.md.",
  });

/** The stored limit overrides after a patch: given values replace, `null` removes. */
function patchLimits(current: Record<string, unknown>, patch: Record<string, number | null | undefined>) {
  const limits: Record<string, unknown> = { ...current };
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete limits[name];
    else if (value !== undefined) limits[name] = value;
  }
  return limits;
}

const ConnectVkSchema = z
  .strictObject({
    kind: z.literal("vk"),
    group_id: z
      .number()
      .int()
      .positive()
      .max(Number.MAX_SAFE_INTEGER)
      .openapi({ description: "The community's id: the number in vk.com/club<id>", example: 218_000_001 }),
    tokens: Tokens,
    name: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .optional()
      .openapi({ description: "Default: the community's name" }),
    mode: Mode.optional(),
    api_base_url: ApiBaseUrl.optional(),
    text_limit: TextLimit.optional(),
  })
  .openapi("ConnectVkChannel");

const PatchChannelSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    tokens: Tokens.optional(),
    mode: Mode.optional(),
    api_base_url: ApiBaseUrl.optional(),
    text_limit: TextLimit.optional(),
    limits: LimitsPatch.optional(),
  })
  .openapi("ChannelPatch");

const tag = "Channels";

/** Connected channel accounts. Connecting one is per platform (see the channel guides). */
export function channelRoutes({ store, box, config, logger }: AppDeps) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const db = store.db;
  const vkDeps = { store, box, publicUrl: config.publicUrl, logger, onStateChanged: recordChannelStatus };
  const announce = () =>
    store
      .notify(channelsChangedChannel)
      .catch((error) => logger.warn({ err: error }, "could not tell the runners"));

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
      const language = c.get("language");
      return c.json(
        presentPage(result, (a) => presentChannel(a, language)),
        200,
      );
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "post",
      path: "/channels",
      summary: "Connect a channel (a VK community)",
      description:
        "Checks each token (its community, its rights), the community's settings VK lets a token check (community messages, bot features), then sets the community up: in callback mode exactly one Callback API server points at the hub (its own servers reused or removed, foreign ones reported in `warnings`), in long poll mode Bots Long Poll is enabled. Connecting a community the workspace already has updates that channel (201 for a new channel, 200 for a reconnect). Refusals carry the catalogued remedy; token problems name the token in `details` (`tokens.<index>`). See docs/channels/vk.md.",
      request: { body: jsonBody(ConnectVkSchema) },
      responses: {
        201: jsonContent(ChannelSchema, "Connected"),
        200: jsonContent(ChannelSchema, "Reconnected: the workspace's channel of this community, updated"),
        ...errorResponses(400, 409, 422, 424, 502, 503, 504),
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      refuseForeignApiAddress(c.get("apiKey"), body.api_base_url);
      const { channel, created } = await connectVkChannel(vkDeps, {
        workspaceId: c.get("apiKey").workspaceId,
        groupId: body.group_id,
        tokens: body.tokens,
        name: body.name,
        mode: body.mode,
        apiBaseUrl: body.api_base_url,
        textLimit: body.text_limit,
      });
      const presented = presentChannel(channel, c.get("language"));
      return created ? c.json(presented, 201) : c.json(presented, 200);
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
        presentChannel(
          await requireChannelAccount(db, c.get("apiKey").workspaceId, c.req.valid("param").id),
          c.get("language"),
        ),
        200,
      ),
  );

  app.openapi(
    apiRoute(tag, {
      method: "patch",
      path: "/channels/{id}",
      summary:
        "Change a channel: name, text limit, sending limits, or (checked again, as on connect) tokens, mode, API address",
      request: { params: IdParam, body: jsonBody(PatchChannelSchema) },
      responses: {
        200: jsonContent(ChannelSchema, "The channel"),
        ...errorResponses(400, 404, 409, 422, 424, 502, 503, 504),
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      refuseForeignApiAddress(c.get("apiKey"), body.api_base_url);
      const workspaceId = c.get("apiKey").workspaceId;
      const id = c.req.valid("param").id;
      const changed = await updateVkChannel(vkDeps, workspaceId, id, {
        name: body.name,
        tokens: body.tokens,
        mode: body.mode,
        apiBaseUrl: body.api_base_url,
        textLimit: body.text_limit,
      });
      // Limits change only once the rest of the patch went through.
      const channel = body.limits
        ? await updateChannelAccount(db, box, id, { limits: patchLimits(changed.limits, body.limits) })
        : changed;
      if (body.limits?.per_recipient_per_day !== undefined && (await releaseQuotaHolds(db, id)) > 0)
        await store.notify(outboundChannel);
      return c.json(presentChannel(channel, c.get("language")), 200);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "delete",
      path: "/channels/{id}",
      summary: "Disconnect a channel",
      description:
        "Removes the hub's Callback API server from the community and switches Bots Long Poll off (when the channel used it), forgets the tokens, and leaves the channel `disabled` with its conversations and messages kept. Connecting the same community again (`POST /v1/channels`) reuses it. What could not be undone in VK is listed in `warnings`.",
      request: { params: IdParam },
      responses: { 200: jsonContent(ChannelSchema, "The disconnected channel"), ...errorResponses(404) },
    }),
    async (c) => {
      const channel = await disconnectVkChannel(vkDeps, c.get("apiKey").workspaceId, c.req.valid("param").id);
      return c.json(presentChannel(channel, c.get("language")), 200);
    },
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
        const workspaceId = c.get("apiKey").workspaceId;
        const { id } = await requireChannelAccount(db, workspaceId, c.req.valid("param").id);
        await transitionChannelState(
          db,
          id,
          { state, reason, problem: null, from: connectionStates },
          recordChannelStatus,
        );
        const account = await requireChannelAccount(db, workspaceId, id);
        // The channel's runner (Long Poll, callback watch) stops or starts, in whichever process.
        await announce();
        return c.json(presentChannel(account, c.get("language")), 200);
      },
    );
  }

  return app;
}

/**
 * The hub sends a channel's tokens to its API address, so only an admin may point it anywhere
 * but VK: a plain key could otherwise hand the community's tokens to a server of its choosing.
 */
function refuseForeignApiAddress(key: { admin: boolean }, apiBaseUrl: string | undefined) {
  if (apiBaseUrl !== undefined && !key.admin) {
    throw new AppError(
      "admin_required",
      {},
      {
        details: [
          {
            path: "api_base_url",
            code: "admin_required",
            detail: "only an admin key may set the API address",
          },
        ],
      },
    );
  }
}
