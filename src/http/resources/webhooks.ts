import { OpenAPIHono, z } from "@hono/zod-openapi";
import { AppError } from "../../errors/app-error.ts";
import { withoutCredentials } from "../../net/egress.ts";
import {
  type EventType,
  eventCatalogue,
  eventTypes,
  presentEndpoint,
  recordEvent,
} from "../../pipeline/webhooks/events.ts";
import { newSigningSecret } from "../../pipeline/webhooks/signature.ts";
import { channelsOfWorkspace } from "../../store/repositories/channel-accounts.ts";
import {
  createEndpoint,
  deleteEndpoint,
  deliveryCounts,
  listAttempts,
  listEndpoints,
  listEventDeliveries,
  listEvents,
  previousSecretSigns,
  type RecoveryTarget,
  replayCallback,
  replayDelivery,
  requireEndpoint,
  requireEvent,
  requireRecovery,
  rotateCallbackSecret,
  rotateEndpointSecret,
  startRecovery,
  updateEndpoint,
  updateWebhookSettings,
  type WebhookAttempt,
  type WebhookEndpoint,
  type WebhookEvent,
  type WebhookRecovery,
  webhookSettingsOf,
} from "../../store/repositories/webhooks.ts";
import { attemptOutcomes, deliveryStates } from "../../store/schema.ts";
import type { AppDeps, AppEnv } from "../context.ts";
import { validationHook } from "../errors.ts";
import { receiverRefusal, receiverUrl } from "../receiver-url.ts";
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
import { ContactSchema } from "./contacts.ts";
import { ConversationSchema, MessageSchema } from "./conversations.ts";
import { LeadSchema } from "./leads.ts";

// ── Schemas ──────────────────────────────────────────────────────────────────

const EventTypeSchema = z.enum(eventTypes as [EventType, ...EventType[]]);

const EndpointSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    description: z.string().nullable(),
    event_types: z.array(z.string()).nullable().openapi({ description: "null: every type" }),
    channel_ids: z.array(z.string()).nullable().openapi({
      description:
        "null: every channel (and events of none); []: no event, every channel it named having been deleted",
    }),
    headers: z.record(z.string(), z.string()),
    enabled: z.boolean(),
    disabled_reason: z.string().nullable(),
    disabled_at: Timestamp.nullable(),
    failing_since: Timestamp.nullable().openapi({
      description: "The first failure since the last success; failing for too long disables the endpoint",
    }),
    previous_secret_expires_at: Timestamp.nullable().openapi({
      description: "Until then the secret before the last rotation signs too",
    }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("WebhookEndpoint");

const EndpointDetailSchema = EndpointSchema.extend({
  deliveries: z.record(z.string(), z.number().int()).openapi({
    description: "How many deliveries to it are in each state (pending, sending, succeeded, failed)",
  }),
}).openapi("WebhookEndpointDetail");

const WithSecret = EndpointSchema.extend({
  secret: z.string().openapi({
    description: "The signing secret (`whsec_…`). Shown only now: keep it to verify `webhook-signature`.",
  }),
}).openapi("WebhookEndpointWithSecret");

/** A header of an endpoint's own: any name but those the hub sets on every request itself. */
const headerName = z.string().superRefine((name, ctx) => {
  if (!/^[A-Za-z0-9-]{1,100}$/.test(name))
    ctx.addIssue({
      code: "custom",
      message: `"${name.slice(0, 100)}" is not a header name: use 1 to 100 letters, digits and hyphens`,
    });
  else if (/^(webhook-|content-|host$|user-agent$)/i.test(name))
    ctx.addIssue({
      code: "custom",
      message: `"${name}" is set by the hub on every request (webhook-*, content-*, host and user-agent are its own): choose another name`,
    });
});

/**
 * A header's value: what an HTTP request can carry. A line break or a letter outside ASCII would
 * make every delivery fail before it leaves the hub (Node refuses to send it), so it is refused here.
 */
const headerValue = z
  .string()
  .max(2000)
  .refine((value) => /^[\t\x20-\x7e]*$/.test(value), {
    message:
      "A header value holds only printable ASCII characters, spaces and tabs: no line breaks or other letters (percent-encode or base64 them)",
  });

/** Credentials go in `headers`, never in the URL, which events and the attempt log show (docs/webhooks.md). */
const endpointUrl = receiverUrl("send credentials in `headers` (e.g. an `Authorization` header)").openapi({
  example: "https://crm.example.com/hooks/switchboard",
});

const endpointFields = {
  url: endpointUrl,
  description: z.string().max(500).nullable().optional(),
  event_types: z
    .array(EventTypeSchema)
    .min(1)
    .nullable()
    .optional()
    .openapi({ description: "The event types to receive; null or absent for all" }),
  channel_ids: z.array(z.string()).min(1).nullable().optional().openapi({
    description:
      "Only events of these channels (ids of the workspace's channels, else 404 `channel_not_found`); null or absent for all",
  }),
  headers: z
    .record(headerName, headerValue)
    .optional()
    .openapi({ description: "Sent with every request, e.g. the receiver's own authorization header" }),
  enabled: z.boolean().optional(),
};

const EndpointCreate = z.strictObject(endpointFields).openapi("WebhookEndpointCreate");
const EndpointUpdate = z
  .strictObject({ ...endpointFields, url: endpointFields.url.optional() })
  .openapi("WebhookEndpointUpdate", {
    description: "Fields left out are kept. `enabled: true` re-enables a disabled endpoint.",
  });

const EventSchema = z
  .object({
    id: z.string().openapi({ description: "Stable: the `webhook-id` of every request that carries it" }),
    type: z.string().openapi({ description: "An event type, or `callback` for a message's status callback" }),
    timestamp: Timestamp,
    workspace_id: z.string(),
    ordering_key: z.string().nullable(),
    payload: z.unknown().openapi({ description: "The body sent, exactly" }),
    deliveries: z
      .array(
        z.object({
          endpoint_id: z.string().nullable(),
          url: z.string().openapi({
            description:
              "Where it goes: the endpoint's URL (as it is now; each attempt keeps its own), or the status callback's; never with a user name and password",
          }),
          state: z.enum(deliveryStates),
          attempts: z.number().int(),
          next_attempt_at: Timestamp.nullable().openapi({
            description:
              "When a pending delivery is tried next; null while its endpoint is paused or disabled (it waits for the endpoint to be enabled)",
          }),
          last_error: z.string().nullable(),
        }),
      )
      .optional(),
  })
  .openapi("Event");

const AttemptSchema = z
  .object({
    id: z.string(),
    event_id: z.string(),
    event_type: z.string(),
    endpoint_id: z.string().nullable(),
    url: z.string(),
    attempt: z.number().int().openapi({ description: "1 for the first; the `webhook-attempt` header sent" }),
    trigger: z.enum(["scheduled", "manual"]),
    status: z.enum(attemptOutcomes),
    response_status: z.number().int().nullable(),
    response_body: z.string().nullable().openapi({ description: "The first 1024 bytes of the answer" }),
    duration_ms: z.number().int(),
    error: z.string().nullable(),
    attempted_at: Timestamp,
  })
  .openapi("WebhookAttempt");

const RecoverySchema = z
  .object({
    id: z.string(),
    endpoint_id: z.string().nullable().openapi({ description: "Null: the workspace's status callbacks" }),
    since: Timestamp,
    until: Timestamp.nullable(),
    state: z.enum(["running", "done"]),
    total: z.number().int().openapi({ description: "Failed deliveries in the window when it started" }),
    queued: z.number().int().openapi({ description: "How many of them are queued again so far" }),
    created_at: Timestamp,
    finished_at: Timestamp.nullable(),
  })
  .openapi("WebhookRecovery");

const SettingsSchema = z
  .object({
    retry_schedule: z
      .array(z.number().int())
      .openapi({ description: "Seconds before each retry; the first attempt is made at once" }),
    retry_schedule_is_default: z.boolean(),
    disable_after_hours: z.number().int(),
    callback_secret_rotated_at: Timestamp.openapi({
      description: "When the current callback secret was made: the settings' first use, or the last rotation",
    }),
    previous_callback_secret_expires_at: Timestamp.nullable(),
  })
  .openapi("WebhookSettings");

const SettingsUpdate = z
  .strictObject({
    retry_schedule: z
      .array(
        z
          .number()
          .int()
          .min(0)
          .max(7 * 24 * 3600),
      )
      .max(30)
      .nullable()
      .optional()
      .openapi({
        description:
          "Seconds before each retry after a failed attempt (the first is made at once); [] never retries; null for the hub's",
      }),
    disable_after_hours: z.number().int().min(1).max(8760).nullable().optional(),
  })
  .openapi("WebhookSettingsUpdate");

const TimeRange = {
  since: z.iso.datetime({ offset: true }).optional().openapi({ description: "From this time, inclusive" }),
  until: z.iso.datetime({ offset: true }).optional().openapi({ description: "Before this time" }),
};

const RecoverBody = z
  .strictObject({ since: z.iso.datetime({ offset: true }), until: TimeRange.until })
  .refine((w) => w.until === undefined || Date.parse(w.until) > Date.parse(w.since), {
    path: ["until"],
    message: "`until` must be after `since`: this window holds no time, so nothing would be recovered",
  })
  .openapi("WebhookRecover");

/** A list's filter by type: an event type, or `callback`; any other answers naming the known ones. */
const TypeFilter = z
  .enum(["callback", ...eventTypes])
  .optional()
  .openapi({ description: "An event type, or `callback` for status callbacks" });

const AttemptQuery = PageQuery.extend({
  status: z.enum(attemptOutcomes).optional(),
  event_type: TypeFilter,
  ...TimeRange,
});

/** The body of each event type, for the OpenAPI document's `webhooks` and components. */
const channelSummary = z
  .object({
    id: z.string(),
    kind: z.string(),
    name: z.string(),
    state: z.string(),
    state_reason: z.string().nullable(),
  })
  .catchall(z.unknown())
  .openapi({ description: "The channel as `GET /v1/channels/{id}` shows it" });

const eventDataSchemas: Record<EventType, z.ZodType> = {
  "message.received": z.object({
    message: MessageSchema,
    in_reply_to_message_id: z.string().nullable().openapi({
      description: "The message sent through the hub that this one replies to (quotes), when there is one",
    }),
  }),
  "message.sent": z.object({ message: MessageSchema }),
  "message.status_changed": z.object({ message: MessageSchema, previous_status: MessageSchema.shape.status }),
  "message.edited": z.object({ message: MessageSchema }),
  "message.deleted": z.object({ message: MessageSchema }),
  "message.restored": z.object({ message: MessageSchema }),
  "comment.received": z.object({ message: MessageSchema, conversation: ConversationSchema }),
  "conversation.created": z.object({ conversation: ConversationSchema }),
  "conversation.updated": z.object({ conversation: ConversationSchema }),
  "conversation.resolved": z.object({ conversation: ConversationSchema }),
  "lead.received": z.object({ lead: LeadSchema }),
  "contact.created": z.object({ contact: ContactSchema }),
  "contact.updated": z.object({
    contact: ContactSchema,
    merged: z
      .object({
        contact_id: z.string().openapi({ description: "The contact merged into this one, now deleted" }),
        conversations: z.array(z.object({ id: z.string(), into: z.string() })).openapi({
          description: "Its open direct conversations joined with this contact's (then deleted)",
        }),
      })
      .optional()
      .openapi({ description: "Only on a merge (`POST /v1/contacts/{id}/merge`)" }),
  }),
  "contact.consent_changed": z.object({
    contact: ContactSchema,
    channel_id: z.string(),
    consent: z.enum(["allowed", "denied"]),
  }),
  "channel.status_changed": z.object({ channel: channelSummary, previous_state: z.string() }),
  "webhook.endpoint_disabled": z.object({
    endpoint: EndpointSchema.omit({ headers: true }).openapi({
      description:
        "Without `headers`: they may hold the endpoint's credentials, and this goes to the other endpoints",
    }),
    reason: z.string(),
  }),
  "webhook.test": z.object({ endpoint_id: z.string(), message: z.string() }),
};

/** The schema name of an event type's body: `message.received` → `MessageReceivedEvent`. */
export const eventSchemaName = (type: EventType) =>
  `${type
    .split(/[._]/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("")}Event`;

export const eventSchemas = {} as Record<EventType, z.ZodType>;
for (const type of eventTypes) {
  eventSchemas[type] = z
    .object({
      id: z.string(),
      type: z.literal(type),
      timestamp: Timestamp,
      workspace_id: z.string(),
      data: eventDataSchemas[type],
    })
    .openapi(eventSchemaName(type), { description: eventCatalogue[type] });
}

// ── Presentation ─────────────────────────────────────────────────────────────

const presentAttempt = (a: WebhookAttempt) => ({
  id: a.id,
  event_id: a.eventId,
  event_type: a.eventType,
  endpoint_id: a.endpointId,
  // The worker logs no user name and password, and migration 0017 took them from the rows logged
  // before; this covers a row an older hub process logs during a rolling upgrade.
  url: withoutCredentials(a.url),
  attempt: a.attempt,
  trigger: a.trigger,
  status: a.outcome,
  response_status: a.responseStatus,
  response_body: a.responseBody,
  duration_ms: a.durationMs,
  error: a.error,
  attempted_at: iso(a.attemptedAt) as string,
});

const presentEvent = (e: WebhookEvent) => ({
  id: e.id,
  type: e.type,
  timestamp: iso(e.createdAt) as string,
  workspace_id: e.workspaceId,
  ordering_key: e.orderingKey,
  payload: e.payload,
});

const presentRecovery = (r: WebhookRecovery) => ({
  id: r.id,
  endpoint_id: r.endpointId,
  since: iso(r.since) as string,
  until: iso(r.until),
  state: r.state,
  total: r.total,
  queued: r.queued,
  created_at: iso(r.createdAt) as string,
  finished_at: iso(r.finishedAt),
});

const range = (q: { since?: string | undefined; until?: string | undefined }) => ({
  since: q.since ? new Date(q.since) : undefined,
  until: q.until ? new Date(q.until) : undefined,
});

// ── Routes ───────────────────────────────────────────────────────────────────

const tag = "Webhooks";

export function webhookRoutes({ store, box, config, egress }: AppDeps) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const db = store.db;
  const overlapEnds = () => new Date(Date.now() + config.webhookSecretOverlap * 3600_000);
  const settingsOf = (workspaceId: string) =>
    webhookSettingsOf(db, workspaceId, () => box.seal(newSigningSecret()));

  /** Turns away an address the hub would refuse to call, when it is given. */
  async function acceptUrl(url: string | undefined) {
    if (url === undefined) return;
    const refused = await receiverRefusal(egress)(url, "url");
    if (refused) throw refused;
  }

  /** Refuses channel ids of no channel of the workspace: such a filter would silently match nothing. */
  async function acceptChannels(workspaceId: string, channelIds: string[] | null | undefined) {
    if (!channelIds) return;
    const known = new Set((await channelsOfWorkspace(db, workspaceId)).map((channel) => channel.id));
    const unknown = channelIds.flatMap((id, index) => (known.has(id) ? [] : [{ id, index }]));
    if (unknown.length === 0) return;
    throw new AppError(
      "channel_not_found",
      { id: unknown.map(({ id }) => id) },
      {
        details: unknown.map(({ id, index }) => ({
          path: `channel_ids.${index}`,
          code: "not_found",
          detail: `No channel with id "${id}" in this workspace`,
        })),
      },
    );
  }

  function requireEnabled(endpoint: WebhookEndpoint) {
    if (!endpoint.enabled) {
      throw new AppError("webhook_endpoint_disabled", {
        id: endpoint.id,
        reason: endpoint.disabledReason ?? "disabled",
      });
    }
  }

  const fields = (input: z.infer<typeof EndpointUpdate>) => ({
    url: input.url,
    description: input.description,
    eventTypes: input.event_types,
    channelIds: input.channel_ids,
    headers: input.headers,
    enabled: input.enabled,
  });

  app.openapi(
    apiRoute(tag, {
      method: "get",
      path: "/webhooks",
      summary: "List webhook endpoints",
      request: { query: PageQuery },
      responses: {
        200: jsonContent(pageOf(EndpointSchema, "WebhookEndpointPage"), "Endpoints, newest first"),
        ...errorResponses(400),
      },
    }),
    async (c) =>
      c.json(
        presentPage(
          await listEndpoints(db, c.get("apiKey").workspaceId, c.req.valid("query")),
          presentEndpoint,
        ),
        200,
      ),
  );

  app.openapi(
    apiRoute(tag, {
      method: "post",
      path: "/webhooks",
      summary: "Subscribe an endpoint to events",
      description:
        "The answer carries the signing secret, shown only this once. Private, loopback and link-local addresses are refused unless the hub's `egressAllow` names them.",
      request: { body: jsonBody(EndpointCreate) },
      responses: {
        201: jsonContent(WithSecret, "The endpoint and its secret"),
        ...errorResponses(400, 404, 413, 415),
      },
    }),
    async (c) => {
      const input = c.req.valid("json");
      const workspaceId = c.get("apiKey").workspaceId;
      await acceptUrl(input.url);
      await acceptChannels(workspaceId, input.channel_ids);
      const secret = newSigningSecret();
      const created = await createEndpoint(db, workspaceId, {
        ...fields(input),
        url: input.url,
        sealedSecret: box.seal(secret),
      });
      return c.json({ ...presentEndpoint(created), secret }, 201);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "get",
      path: "/webhooks/{id}",
      summary: "Get an endpoint, with how its deliveries stand",
      request: { params: IdParam },
      responses: { 200: jsonContent(EndpointDetailSchema, "The endpoint"), ...errorResponses(404) },
    }),
    async (c) => {
      const endpoint = await requireEndpoint(db, c.get("apiKey").workspaceId, c.req.valid("param").id);
      return c.json({ ...presentEndpoint(endpoint), deliveries: await deliveryCounts(db, endpoint.id) }, 200);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "patch",
      path: "/webhooks/{id}",
      summary: "Change an endpoint, or enable or disable it",
      request: { params: IdParam, body: jsonBody(EndpointUpdate) },
      responses: {
        200: jsonContent(EndpointSchema, "The endpoint"),
        ...errorResponses(400, 404, 413, 415),
      },
    }),
    async (c) => {
      const input = c.req.valid("json");
      const workspaceId = c.get("apiKey").workspaceId;
      await acceptUrl(input.url);
      await acceptChannels(workspaceId, input.channel_ids);
      const updated = await updateEndpoint(db, workspaceId, c.req.valid("param").id, fields(input));
      return c.json(presentEndpoint(updated), 200);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "delete",
      path: "/webhooks/{id}",
      summary: "Delete an endpoint, its deliveries and their attempts",
      request: { params: IdParam },
      responses: { 200: jsonContent(EndpointSchema, "The endpoint as it was"), ...errorResponses(404) },
    }),
    async (c) =>
      c.json(
        presentEndpoint(await deleteEndpoint(db, c.get("apiKey").workspaceId, c.req.valid("param").id)),
        200,
      ),
  );

  app.openapi(
    apiRoute(tag, {
      method: "post",
      path: "/webhooks/{id}/rotate-secret",
      summary: "Rotate an endpoint's signing secret",
      description:
        "The new secret is shown only now. Until `previous_secret_expires_at` (the hub's `webhookSecretOverlap`, 24 h by default) every request is signed with both, so the receiver can switch at its own pace.",
      request: { params: IdParam },
      responses: { 200: jsonContent(WithSecret, "The endpoint and its new secret"), ...errorResponses(404) },
    }),
    async (c) => {
      const secret = newSigningSecret();
      const rotated = await rotateEndpointSecret(
        db,
        c.get("apiKey").workspaceId,
        c.req.valid("param").id,
        box.seal(secret),
        overlapEnds(),
      );
      return c.json({ ...presentEndpoint(rotated), secret }, 200);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "post",
      path: "/webhooks/{id}/test",
      summary: "Send a `webhook.test` event to this endpoint",
      request: { params: IdParam },
      responses: {
        202: jsonContent(
          z.object({ event_id: z.string() }).openapi("WebhookTest"),
          "Queued; its attempts tell how it went",
        ),
        ...errorResponses(404, 409),
      },
    }),
    async (c) => {
      const endpoint = await requireEndpoint(db, c.get("apiKey").workspaceId, c.req.valid("param").id);
      requireEnabled(endpoint);
      const eventId = await recordEvent(
        db,
        {
          type: "webhook.test",
          workspaceId: endpoint.workspaceId,
          data: { endpoint_id: endpoint.id, message: "A test event from Switchboard." },
          orderingKey: null,
          channelId: null,
        },
        { onlyEndpointId: endpoint.id },
      );
      return c.json({ event_id: eventId }, 202);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "get",
      path: "/webhooks/{id}/attempts",
      summary: "The attempt log of an endpoint, newest first",
      request: { params: IdParam, query: AttemptQuery },
      responses: {
        200: jsonContent(pageOf(AttemptSchema, "WebhookAttemptPage"), "Attempts, newest first"),
        ...errorResponses(400, 404),
      },
    }),
    async (c) => {
      const workspaceId = c.get("apiKey").workspaceId;
      const endpoint = await requireEndpoint(db, workspaceId, c.req.valid("param").id);
      const { status, event_type, since, until, ...page } = c.req.valid("query");
      const result = await listAttempts(
        db,
        workspaceId,
        { endpointId: endpoint.id, outcome: status, type: event_type, ...range({ since, until }) },
        page,
      );
      return c.json(presentPage(result, presentAttempt), 200);
    },
  );

  const recover = async (target: RecoveryTarget, window: { since: string; until?: string | undefined }) =>
    presentRecovery(
      await startRecovery(db, target, new Date(window.since), window.until ? new Date(window.until) : null),
    );

  app.openapi(
    apiRoute(tag, {
      method: "post",
      path: "/webhooks/{id}/recover",
      summary: "Re-send every failed event of this endpoint since a time",
      description:
        "Runs in the background: the answer is the recovery, whose progress `GET /v1/webhook-recoveries/{id}` reads.",
      request: {
        params: IdParam,
        body: jsonBody(RecoverBody),
      },
      responses: {
        202: jsonContent(RecoverySchema, "The recovery"),
        ...errorResponses(400, 404, 409, 413, 415),
      },
    }),
    async (c) => {
      const endpoint = await requireEndpoint(db, c.get("apiKey").workspaceId, c.req.valid("param").id);
      requireEnabled(endpoint);
      const target = { workspaceId: endpoint.workspaceId, endpointId: endpoint.id };
      return c.json(await recover(target, c.req.valid("json")), 202);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "post",
      path: "/callbacks/recover",
      summary: "Re-send every failed status callback since a time",
      description:
        "Each to its own URL. Runs in the background: the answer is the recovery, whose progress `GET /v1/webhook-recoveries/{id}` reads.",
      request: { body: jsonBody(RecoverBody) },
      responses: {
        202: jsonContent(RecoverySchema, "The recovery"),
        ...errorResponses(400, 413, 415),
      },
    }),
    async (c) => {
      const target = { workspaceId: c.get("apiKey").workspaceId, endpointId: null };
      return c.json(await recover(target, c.req.valid("json")), 202);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "get",
      path: "/webhook-recoveries/{id}",
      summary: "How a recovery is going",
      request: { params: IdParam },
      responses: { 200: jsonContent(RecoverySchema, "The recovery"), ...errorResponses(404) },
    }),
    async (c) =>
      c.json(
        presentRecovery(await requireRecovery(db, c.get("apiKey").workspaceId, c.req.valid("param").id)),
        200,
      ),
  );

  app.openapi(
    apiRoute(tag, {
      method: "get",
      path: "/events",
      summary: "List events, newest first",
      request: { query: PageQuery.extend({ type: TypeFilter, ...TimeRange }) },
      responses: {
        200: jsonContent(pageOf(EventSchema, "EventPage"), "Events, newest first"),
        ...errorResponses(400),
      },
    }),
    async (c) => {
      const { type, since, until, ...page } = c.req.valid("query");
      const result = await listEvents(
        db,
        c.get("apiKey").workspaceId,
        { type, ...range({ since, until }) },
        page,
      );
      return c.json(presentPage(result, presentEvent), 200);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "get",
      path: "/events/{id}",
      summary: "Get an event, with where it went",
      request: { params: IdParam },
      responses: { 200: jsonContent(EventSchema, "The event"), ...errorResponses(404) },
    }),
    async (c) => {
      const event = await requireEvent(db, c.get("apiKey").workspaceId, c.req.valid("param").id);
      const deliveries = await listEventDeliveries(db, event.id);
      return c.json(
        {
          ...presentEvent(event),
          deliveries: deliveries.map((d) => ({
            endpoint_id: d.endpointId,
            url: withoutCredentials(d.url),
            state: d.state,
            attempts: d.attempts,
            next_attempt_at: d.state === "pending" ? iso(d.nextAttemptAt) : null,
            last_error: d.lastError,
          })),
        },
        200,
      );
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "get",
      path: "/events/{id}/attempts",
      summary: "The attempts of one event, to every receiver, newest first",
      request: { params: IdParam, query: AttemptQuery },
      responses: {
        200: jsonContent(pageOf(AttemptSchema, "EventAttemptPage"), "Attempts, newest first"),
        ...errorResponses(400, 404),
      },
    }),
    async (c) => {
      const workspaceId = c.get("apiKey").workspaceId;
      const event = await requireEvent(db, workspaceId, c.req.valid("param").id);
      const { status, event_type, since, until, ...page } = c.req.valid("query");
      const result = await listAttempts(
        db,
        workspaceId,
        { eventId: event.id, outcome: status, type: event_type, ...range({ since, until }) },
        page,
      );
      return c.json(presentPage(result, presentAttempt), 200);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "post",
      path: "/events/{id}/replay",
      summary: "Send one event again, now: to an endpoint, or a status callback to its URL",
      description:
        "With `endpoint_id`: any event of the workspace, also one the endpoint did not subscribe to. Without: a status callback (type `callback`), to its own URL.",
      request: {
        params: IdParam,
        body: jsonBody(z.strictObject({ endpoint_id: z.string().optional() }).openapi("EventReplay")),
      },
      responses: {
        202: jsonContent(
          z
            .object({
              event_id: z.string(),
              endpoint_id: z.string().nullable().openapi({ description: "Null: to the callback's URL" }),
            })
            .openapi("EventReplayed"),
          "Queued",
        ),
        ...errorResponses(400, 404, 409, 413, 415),
      },
    }),
    async (c) => {
      const workspaceId = c.get("apiKey").workspaceId;
      const event = await requireEvent(db, workspaceId, c.req.valid("param").id);
      const endpointId = c.req.valid("json").endpoint_id;
      if (endpointId === undefined) {
        if (event.type !== "callback") throw new AppError("replay_endpoint_required", { id: event.id });
        await replayCallback(db, event);
        return c.json({ event_id: event.id, endpoint_id: null }, 202);
      }
      const endpoint = await requireEndpoint(db, workspaceId, endpointId);
      requireEnabled(endpoint);
      await replayDelivery(db, event, endpoint);
      return c.json({ event_id: event.id, endpoint_id: endpoint.id }, 202);
    },
  );

  const presentSettings = (s: Awaited<ReturnType<typeof settingsOf>>) => ({
    retry_schedule: s.retrySchedule ?? config.webhookRetrySchedule,
    retry_schedule_is_default: s.retrySchedule === null,
    disable_after_hours: s.disableAfterHours ?? config.webhookDisableAfter,
    callback_secret_rotated_at: iso(s.callbackSecretRotatedAt) as string,
    previous_callback_secret_expires_at: iso(s.previousCallbackSecretExpiresAt),
  });

  app.openapi(
    apiRoute(tag, {
      method: "get",
      path: "/webhook-settings",
      summary: "The workspace's retry schedule and disable period",
      responses: { 200: jsonContent(SettingsSchema, "The settings"), ...errorResponses() },
    }),
    async (c) => c.json(presentSettings(await settingsOf(c.get("apiKey").workspaceId)), 200),
  );

  app.openapi(
    apiRoute(tag, {
      method: "patch",
      path: "/webhook-settings",
      summary: "Set the workspace's retry schedule or disable period (null: the hub's default)",
      request: { body: jsonBody(SettingsUpdate) },
      responses: { 200: jsonContent(SettingsSchema, "The settings"), ...errorResponses(400, 413, 415) },
    }),
    async (c) => {
      const workspaceId = c.get("apiKey").workspaceId;
      await settingsOf(workspaceId);
      const input = c.req.valid("json");
      const updated = await updateWebhookSettings(db, workspaceId, {
        retrySchedule: input.retry_schedule,
        disableAfterHours: input.disable_after_hours,
      });
      return c.json(presentSettings(updated), 200);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "get",
      path: "/webhook-settings/callback-secret",
      summary: "The secret that signs status callbacks (`status_url`)",
      description:
        "The hub makes this secret when the workspace first needs it, before anyone has seen it, so it can be read here (unlike an endpoint's secret, shown once when the endpoint is made). During a rotation's overlap, callbacks are signed with `previous_callback_secret` too.",
      responses: {
        200: jsonContent(
          z
            .object({
              callback_secret: z.string(),
              callback_secret_rotated_at: Timestamp,
              previous_callback_secret: z.string().nullable(),
              previous_callback_secret_expires_at: Timestamp.nullable(),
            })
            .openapi("CallbackSecret"),
          "The current secret, and the previous one while it still signs",
        ),
        ...errorResponses(),
      },
    }),
    async (c) => {
      const s = await settingsOf(c.get("apiKey").workspaceId);
      const expires = s.previousCallbackSecretExpiresAt;
      const previous = s.previousCallbackSecret;
      const previousSigns = previousSecretSigns(previous, expires, new Date());
      return c.json(
        {
          callback_secret: box.open(s.callbackSecret),
          callback_secret_rotated_at: iso(s.callbackSecretRotatedAt) as string,
          previous_callback_secret: previousSigns ? box.open(previous) : null,
          previous_callback_secret_expires_at: previousSigns ? iso(expires) : null,
        },
        200,
      );
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "post",
      path: "/webhook-settings/callback-secret",
      summary: "Rotate the secret that signs status callbacks (`status_url`)",
      description:
        "Returns the new secret (also readable later with `GET`). Status callbacks are signed like events (Standard Webhooks); until `previous_callback_secret_expires_at` with the previous secret too.",
      responses: {
        200: jsonContent(
          SettingsSchema.extend({ callback_secret: z.string() }).openapi("WebhookSettingsWithSecret"),
          "The settings and the new secret",
        ),
        ...errorResponses(),
      },
    }),
    async (c) => {
      const workspaceId = c.get("apiKey").workspaceId;
      await settingsOf(workspaceId);
      const secret = newSigningSecret();
      const rotated = await rotateCallbackSecret(db, workspaceId, box.seal(secret), overlapEnds());
      return c.json({ ...presentSettings(rotated), callback_secret: secret }, 200);
    },
  );

  return app;
}

/**
 * Publishes each event type in the OpenAPI document's `webhooks` (OpenAPI 3.1): what a receiver
 * gets, headers and body. On the main app's registry: a sub-app's webhooks are not merged.
 */
export function registerEventWebhooks(registry: OpenAPIHono<AppEnv>["openAPIRegistry"]) {
  for (const type of eventTypes) {
    registry.registerWebhook({
      method: "post",
      path: type,
      summary: eventCatalogue[type],
      tags: ["Events"],
      request: {
        headers: z.object({
          "webhook-id": z.string().openapi({ description: "The event's id, stable across retries" }),
          "webhook-timestamp": z.string().openapi({ description: "Unix seconds of this attempt" }),
          "webhook-signature": z
            .string()
            .openapi({ description: "`v1,<base64 HMAC-SHA256>`, space-separated" }),
          "webhook-attempt": z.string().openapi({ description: "1 for the first attempt, then 2, 3..." }),
        }),
        body: jsonBody(eventSchemas[type]),
      },
      responses: {
        200: { description: "Any 2xx within the timeout acknowledges it; 410 disables the endpoint" },
      },
    });
  }
}
