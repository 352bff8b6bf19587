import { OpenAPIHono, z } from "@hono/zod-openapi";
import { AppError } from "../../errors/app-error.ts";
import type { Language } from "../../errors/catalogue.ts";
import type { Egress } from "../../net/egress.ts";
import {
  type Acceptance,
  type AcceptDeps,
  acceptMessages,
  type MessageRequest,
  maxMessagesPerRequest,
} from "../../pipeline/send/accept.ts";
import type { SendService } from "../../pipeline/send/service.ts";
import { messagePriorities } from "../../store/schema.ts";
import type { AppDeps, AppEnv } from "../context.ts";
import { toDetails, validationHook } from "../errors.ts";
import { receiverRefusal, receiverUrl } from "../receiver-url.ts";
import { apiRoute, errorResponses, jsonBody, jsonContent } from "../schemas.ts";
import { AttachmentSchema, KeyboardSchema, toKeyboard } from "./message-content.ts";

// ── Schemas ──────────────────────────────────────────────────────────────────

/**
 * Where a message's status callbacks go (here and in the Devino compatibility route). No headers
 * go with them: the signature is what proves a callback is the hub's.
 */
export const statusUrl = receiverUrl(
  "verify each callback's `webhook-signature` with the workspace's callback secret (`POST /v1/webhook-settings/callback-secret`) instead",
);

const RecipientSchema = z
  .union(
    [
      z.object({ contact_id: z.string().min(1) }).strict(),
      z
        .object({ phone: z.string().min(1) })
        .strict()
        .openapi({
          description:
            "A contact's phone number, E.164 (a number without a country code is read with `defaultCountry`)",
        }),
      z
        .object({ channel_id: z.string().min(1), user_id: z.string().min(1) })
        .strict()
        .openapi({
          description:
            "A platform user through one of the workspace's channels (VK: the user id); a new user becomes a contact",
        }),
    ],
    {
      error: (issue) =>
        `${issue.input === undefined ? "a recipient is required: " : ""}give an object with contact_id, with phone, or with channel_id and user_id`,
    },
  )
  .openapi("Recipient");

const MessageRequestSchema = z
  .object({
    recipient: RecipientSchema,
    routes: z.array(z.string().min(1)).min(1).max(20).optional().openapi({
      description:
        "Channel ids or channel kinds (`vk`, …), in the order to try them; only one finally delivers. Default: the contact's channels in the workspace's `route_order`",
    }),
    text: z.string().max(65_536).optional(),
    attachments: z.array(AttachmentSchema).max(10).optional(),
    keyboard: KeyboardSchema.optional(),
    template: z
      .string()
      .min(1)
      .optional()
      .openapi({ description: "A template's name, rendered with `data`" }),
    data: z.record(z.string(), z.unknown()).optional().openapi({ description: "The template's variables" }),
    ttl: z
      .number()
      .int()
      .min(60)
      .max(30 * 86_400)
      .optional()
      .openapi({ description: "Seconds to deliver it in, else `expired` (default: `sendDefaultTtl`, 24 h)" }),
    status_url: statusUrl.optional().openapi({
      description:
        "Each status change is POSTed there (Devino's callback format), signed with the workspace's callback secret. A private, loopback or link-local address is refused (`webhook_url_refused`) unless the hub's `egressAllow` names it",
    }),
    callback_data: z.unknown().optional().openapi({ description: "Returned with every status callback" }),
    priority: z.enum(messagePriorities).optional().openapi({
      description:
        "`reply` overtakes queued `notification` and `bulk` messages of the same channel and is not counted against per-recipient quotas (default `notification`)",
    }),
    idempotency_key: z
      .string()
      .min(1)
      .max(255)
      .optional()
      .openapi({ description: "A repeat with the same key and content answers the same message id" }),
  })
  .strict()
  .refine((m) => !(m.template && m.text !== undefined), {
    path: ["text"],
    message: "Give either a text or a template, not both",
  })
  .refine((m) => m.template !== undefined || m.data === undefined, {
    path: ["data"],
    message: "`data` fills a template; give `template` too",
  })
  .openapi("MessageRequest");

const ReasonSchema = z.object({
  key: z.string().openapi({ description: "The catalogued error code (`GET /v1/errors`)" }),
  message: z.string(),
  remedy: z.string(),
  details: z.array(z.object({ path: z.string(), code: z.string(), detail: z.string() })).optional(),
});

const ResultSchema = z
  .union([
    z.object({ code: z.literal("OK"), message_id: z.string() }),
    z.object({ code: z.literal("REJECTED"), reasons: z.array(ReasonSchema) }),
  ])
  .openapi("SendResult");

// Items are checked one by one below, so a bad item (even one that is not an object) rejects
// only itself.
const SendBody = z
  .union([z.record(z.string(), z.unknown()), z.array(z.unknown())], {
    error: "the body must be one message (a JSON object) or an array of them",
  })
  .openapi({
    description: `One MessageRequest, or an array of up to ${maxMessagesPerRequest}`,
    oneOf: [
      { $ref: "#/components/schemas/MessageRequest" },
      {
        type: "array",
        items: { $ref: "#/components/schemas/MessageRequest" },
        maxItems: maxMessagesPerRequest,
      },
    ],
  });

// ── Conversion ───────────────────────────────────────────────────────────────

type MessageRequestBody = z.infer<typeof MessageRequestSchema>;

/** An item of a send request as read: the request it makes, or why it is rejected. */
type ReadItem = { ok: true; request: MessageRequest } | { ok: false; error: AppError };

/** What accepting the items of a request needs: the pipeline's deps, and the SSRF guard. */
export interface ItemDeps extends AcceptDeps {
  egress: Egress;
}

/**
 * Accepts the items of a send request: each is checked against its schema (`read`) and its
 * `status_url` against the SSRF guard, the valid ones go to the pipeline, and the results come
 * back in the items' order.
 */
export async function acceptItems(
  deps: ItemDeps,
  workspaceId: string,
  author: { kind: "api"; ref: string | null },
  items: readonly unknown[],
  read: (item: unknown) => ReadItem = readItem,
): Promise<Acceptance[]> {
  if (items.length > maxMessagesPerRequest)
    throw new AppError("too_many_messages", { limit: maxMessagesPerRequest, count: items.length });
  const checked = await refuseUnreachableStatusUrls(deps.egress, items.map(read));
  const valid = checked.flatMap((r, index) => (r.ok ? [{ index, request: r.request }] : []));
  const accepted = await acceptMessages(
    deps,
    workspaceId,
    author,
    valid.map((v) => v.request),
  );
  const results: Acceptance[] = checked.map((r) =>
    r.ok ? { ok: true, messageId: "" } : { ok: false, reasons: [r.error] },
  );
  for (const [position, { index }] of valid.entries()) results[index] = accepted[position] as Acceptance;
  return results;
}

function readItem(item: unknown): ReadItem {
  const parsed = MessageRequestSchema.safeParse(item);
  return parsed.success
    ? { ok: true, request: toRequest(parsed.data) }
    : { ok: false, error: validationError(parsed.error) };
}

/**
 * Rejects the items whose `status_url` the hub would refuse to call (a private address not in
 * `egressAllow`), as a webhook endpoint's `url` is refused: when it is given, rather than at every
 * callback of a message already accepted. Callbacks are checked again when sent (DNS may change).
 */
function refuseUnreachableStatusUrls(egress: Egress, items: readonly ReadItem[]): Promise<ReadItem[]> {
  const refusal = receiverRefusal(egress);
  return Promise.all(
    items.map(async (item) => {
      const url = item.ok ? item.request.statusUrl : undefined;
      const refused = url === undefined ? undefined : await refusal(url, "status_url");
      return refused ? { ok: false, error: refused } : item;
    }),
  );
}

function toRequest(body: MessageRequestBody): MessageRequest {
  const r = body.recipient;
  return {
    recipient:
      "contact_id" in r
        ? { contactId: r.contact_id }
        : "phone" in r
          ? { phone: r.phone }
          : { channelId: r.channel_id, userId: r.user_id },
    routes: body.routes,
    text: body.text,
    attachments: body.attachments,
    keyboard: body.keyboard ? toKeyboard(body.keyboard) : undefined,
    template: body.template ? { name: body.template, data: body.data ?? {} } : undefined,
    ttlSeconds: body.ttl,
    statusUrl: body.status_url,
    callbackData: body.callback_data,
    priority: body.priority,
    idempotencyKey: body.idempotency_key,
  };
}

function validationError(error: z.ZodError): AppError {
  return new AppError("validation_failed", {}, { details: toDetails(error, "json") });
}

function presentAcceptance(result: Acceptance, language: Language) {
  if (result.ok) return { code: "OK" as const, message_id: result.messageId };
  return {
    code: "REJECTED" as const,
    reasons: result.reasons.map((error) => {
      const rendered = error.render(language);
      return {
        key: error.code,
        message: rendered.message,
        remedy: rendered.remedy,
        ...(rendered.details ? { details: rendered.details } : {}),
      };
    }),
  };
}

// ── Routes ───────────────────────────────────────────────────────────────────

/** What accepting messages needs, from the app's deps. */
export function acceptDepsOf(deps: AppDeps & { sender: SendService }): ItemDeps {
  return {
    egress: deps.egress,
    store: deps.store,
    adapter: (kind) => deps.sender.adapter(kind),
    defaultCountry: deps.config.defaultCountry,
    defaultTtlSeconds: deps.config.sendDefaultTtl,
  };
}

export function sendRoutes(deps: AppDeps & { sender: SendService }) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const accept = acceptDepsOf(deps);
  app.openAPIRegistry.register("MessageRequest", MessageRequestSchema);

  app.openapi(
    apiRoute("Messages", {
      method: "post",
      path: "/messages",
      summary: "Send messages: one, or a batch of up to 1,000",
      description:
        "Each message is checked on its own and answered in order: `OK` with its id (committed to the queue before this answer) or `REJECTED` with catalogued reasons; a rejected message never holds back the others. The dispatcher then delivers each through its routes within the channels' limits; follow it with `GET /v1/messages/{id}` or `status_url`. More than 1,000 messages: the whole request is refused with `too_many_messages`.",
      request: { body: jsonBody(SendBody) },
      responses: {
        200: jsonContent(z.object({ results: z.array(ResultSchema) }), "One result per message, in order"),
        ...errorResponses(400, 413, 415),
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const key = c.get("apiKey");
      const items = Array.isArray(body) ? body : [body];
      const results = await acceptItems(accept, key.workspaceId, { kind: "api", ref: key.id }, items);
      const language = c.get("language");
      return c.json({ results: results.map((r) => presentAcceptance(r, language)) }, 200);
    },
  );

  return app;
}
