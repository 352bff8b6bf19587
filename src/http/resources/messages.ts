import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ButtonAnswer } from "../../channels/adapter.ts";
import type { Keyboard } from "../../channels/keyboard.ts";
import { withoutCredentials } from "../../net/egress.ts";
import { presentMessage } from "../../pipeline/objects.ts";
import { isPassing } from "../../pipeline/send/retry.ts";
import type { SendService } from "../../pipeline/send/service.ts";
import { type ContactEvent, listContactEvents } from "../../store/repositories/contact-activity.ts";
import { requireContact } from "../../store/repositories/contacts.ts";
import { listParts, listVersions, type Message, requireMessage } from "../../store/repositories/messages.ts";
import { listStatusChanges } from "../../store/repositories/outbound-queue.ts";
import { contactEventKinds } from "../../store/schema.ts";
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
import { MessageSchema } from "./conversations.ts";
import {
  AttachmentSchema,
  fromKeyboard,
  KeyboardSchema,
  toAttachments,
  toKeyboard,
} from "./message-content.ts";

// ── Schemas ──────────────────────────────────────────────────────────────────

const SendBody = z
  .strictObject({
    text: z.string().max(65_536).optional(),
    attachments: z.array(AttachmentSchema).max(10).optional(),
    keyboard: KeyboardSchema.optional(),
    split: z.boolean().default(true).openapi({
      description:
        "A text over the channel's limit (VK: `textLimit`, default 4096) goes out as ordered parts split between words; false refuses it with `vk_text_too_long`",
    }),
    reply_to_message_id: z.string().optional().openapi({
      description:
        "Comments: the comment answered (default: the latest client comment of the thread). Direct conversations: a message to quote",
    }),
  })
  .openapi("SendMessage");

const EditBody = z
  .strictObject({
    text: z.string().max(65_536).optional().openapi({ description: "The new text; it must fit one message" }),
    attachments: z
      .array(AttachmentSchema)
      .max(10)
      .optional()
      .openapi({ description: "Replace the attachments" }),
    keyboard: KeyboardSchema.optional().openapi({ description: "Replace the keyboard (kept when absent)" }),
  })
  .refine(
    (body) => body.text !== undefined || body.attachments !== undefined || body.keyboard !== undefined,
    {
      path: ["text"],
      message: "Give text, attachments or keyboard to change",
    },
  )
  .openapi("EditMessage");

const AnswerBody = z
  .discriminatedUnion("type", [
    z.strictObject({ type: z.literal("snackbar"), text: z.string().min(1).max(90) }),
    z.strictObject({ type: z.literal("link"), url: z.url({ protocol: /^https?$/ }) }),
    z.strictObject({ type: z.literal("none") }),
  ])
  .openapi("ButtonAnswer", {
    description:
      "`snackbar` shows `text` (≤ 90 characters) to the client for a few seconds; `link` opens `url`; `none` only stops the button's spinner",
  });

const VersionSchema = z.object({
  version: z.number().int(),
  text: z.string().nullable(),
  attachments: z.array(z.record(z.string(), z.unknown())),
  source: z.enum(["platform", "hub"]).openapi({ description: "Edited on the platform, or through the hub" }),
  edited_at: Timestamp,
});

const PartSchema = z.object({
  id: z.string(),
  part: z.number().int(),
  status: MessageSchema.shape.status,
  external_id: z.string().nullable(),
  error_code: z.string().nullable(),
  deleted_at: Timestamp.nullable(),
});

export const MessageDetailSchema = MessageSchema.extend({
  keyboard: KeyboardSchema.nullable().openapi({
    description:
      "Sent with the message; for a message of the send API, the one its route in use (`channel_id`) sends, as `text` is: after a fallback to a channel of another kind, its template's keyboard for that kind",
  }),
  parts: z.array(PartSchema).openapi({
    description: "Every platform message this message became, in order (one when it was not split)",
  }),
  versions: z.array(VersionSchema).openapi({
    description:
      "Empty until the message is edited; then the message as first written (version 0) and every edit, oldest first",
  }),
  routes: z.array(z.string()).openapi({
    description:
      "Messages of the send API: the channels it may go through, in order; `channel_id` is the one in use",
  }),
  expires_at: Timestamp.nullable().openapi({ description: "Not delivered by then: `expired`" }),
  template: z.string().nullable(),
  status_url: z
    .string()
    .nullable()
    .openapi({ description: "Where status callbacks go; never with a user name and password" }),
  callback_data: z.unknown().optional(),
  status_history: z
    .array(
      z.object({
        status: MessageSchema.shape.status,
        error_code: z
          .string()
          .nullable()
          .openapi({ description: "What caused it (a retry's reason, a failure)" }),
        channel_id: z.string().nullable(),
        at: Timestamp,
      }),
    )
    .openapi({ description: "Every status the message went through, oldest first" }),
}).openapi("MessageDetail");

const ContactEventSchema = z
  .object({
    id: z.string(),
    channel_id: z.string(),
    contact_id: z.string(),
    kind: z.enum(contactEventKinds),
    data: z
      .record(z.string(), z.unknown())
      .openapi({ description: "What the platform sent; `answer` once answered" }),
    occurred_at: Timestamp,
  })
  .openapi("ContactEvent");

// ── Presentation ─────────────────────────────────────────────────────────────

async function presentDetail(db: AppDeps["store"]["db"], message: Message, parts?: Message[]) {
  const all = parts ?? (await listParts(db, message.partOf ?? message.id));
  const versions = await listVersions(db, message.id);
  const history = await listStatusChanges(db, message.id);
  return {
    ...presentMessage(message),
    keyboard: message.keyboard ? fromKeyboard(message.keyboard as unknown as Keyboard) : null,
    parts: all.map((p) => ({
      id: p.id,
      part: p.part,
      status: p.status,
      external_id: p.externalId,
      error_code: p.errorCode,
      deleted_at: iso(p.deletedAt),
    })),
    versions: versions.map((v) => ({
      version: v.version,
      text: v.text,
      attachments: v.attachments as unknown as Record<string, unknown>[],
      source: v.source,
      edited_at: iso(v.editedAt) as string,
    })),
    routes: message.routes,
    expires_at: iso(message.expiresAt),
    template: message.template,
    // A message accepted before credentials in status_url were refused keeps them, and its
    // callbacks still send them; they are never shown.
    status_url: message.callbackUrl === null ? null : withoutCredentials(message.callbackUrl),
    callback_data: message.callbackData ?? null,
    status_history: history.map((h) => ({
      status: h.status,
      error_code: h.errorCode,
      channel_id: h.channelAccountId,
      at: iso(h.at) as string,
    })),
  };
}

const presentContactEvent = (e: ContactEvent) => ({
  id: e.id,
  channel_id: e.channelAccountId,
  contact_id: e.contactId,
  kind: e.kind,
  data: e.data,
  occurred_at: iso(e.occurredAt) as string,
});

// ── Routes ───────────────────────────────────────────────────────────────────

const tag = "Messages";
const sendErrors = errorResponses(400, 404, 409, 413, 415, 422, 424, 500, 502, 503, 504);

/**
 * Sending, editing and deleting messages through the channels, and answering button presses.
 * A send answers when every part is on the platform (201); when the platform keeps failing for
 * now, with the message left `queued` for the dispatcher (202); else with the catalogued error
 * that stopped it, the message's id in the `X-Message-Id` header.
 */
export function messageRoutes(deps: AppDeps & { sender: SendService }) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const db = deps.store.db;
  const sender = deps.sender;

  app.openapi(
    apiRoute(tag, {
      method: "post",
      path: "/conversations/{id}/messages",
      summary: "Send a message in a conversation",
      description:
        "Direct and lead conversations: a message to the client. Comments: a reply under the publication (VK: wall posts only). Stored before the platform is called; with an `Idempotency-Key`, a repeat continues the same message and never sends a part twice. A passing failure that outlasts `sendRetryWindow` (VK 6, 9, 10, 29, network) answers 202 with the message `queued`: the dispatcher goes on with it. A final failure answers its catalogued error with the message id in `X-Message-Id`.",
      request: { params: IdParam, body: jsonBody(SendBody) },
      responses: {
        201: jsonContent(MessageDetailSchema, "The message; every part is on the platform"),
        202: jsonContent(
          MessageDetailSchema,
          "The platform is failing for now (`error_code` says how, `Retry-After` when to expect it): the message is `queued` and the dispatcher delivers it within its time to live",
        ),
        ...sendErrors,
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const key = c.get("apiKey");
      const idempotencyKey = c.req.header("idempotency-key");
      const result = await sender.send(key.workspaceId, c.req.valid("param").id, {
        text: body.text,
        attachments: toAttachments(body.attachments),
        keyboard: body.keyboard ? toKeyboard(body.keyboard) : undefined,
        split: body.split,
        replyToMessageId: body.reply_to_message_id,
        idempotencyKey,
        author: { kind: "api", ref: key.id },
      });
      if (!result.ok && isPassing(result.error)) {
        if (result.error.retryAfter !== undefined) c.header("Retry-After", String(result.error.retryAfter));
        return c.json(await presentDetail(db, result.message, result.parts), 202);
      }
      if (!result.ok) {
        c.header("X-Message-Id", result.message.id);
        throw result.error;
      }
      return c.json(await presentDetail(db, result.message, result.parts), 201);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "get",
      path: "/messages/{id}",
      summary: "Get a message with its parts and versions",
      request: { params: IdParam },
      responses: { 200: jsonContent(MessageDetailSchema, "The message"), ...errorResponses(404) },
    }),
    async (c) => {
      const message = await requireMessage(db, c.get("apiKey").workspaceId, c.req.valid("param").id);
      return c.json(await presentDetail(db, message), 200);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "patch",
      path: "/messages/{id}",
      summary: "Edit a message the hub sent, on the platform too",
      description:
        "Replaces the text, attachments or keyboard of one platform message (a part of a split message is edited by its own id; the new text must fit one message). Recorded as a version with source `hub`.",
      request: { params: IdParam, body: jsonBody(EditBody) },
      responses: { 200: jsonContent(MessageDetailSchema, "The edited message"), ...sendErrors },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const message = await sender.edit(c.get("apiKey").workspaceId, c.req.valid("param").id, {
        text: body.text,
        attachments: toAttachments(body.attachments),
        keyboard: body.keyboard ? toKeyboard(body.keyboard) : undefined,
      });
      return c.json(await presentDetail(db, message), 200);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "delete",
      path: "/messages/{id}",
      summary: "Delete a message the hub sent, for everyone",
      description:
        "Deletes it on the platform for everyone (VK: within 24 hours) and sets `deleted_at`. Deleting a split message's first part deletes every part.",
      request: { params: IdParam },
      responses: { 200: jsonContent(MessageDetailSchema, "The deleted message"), ...sendErrors },
    }),
    async (c) => {
      const message = await sender.remove(c.get("apiKey").workspaceId, c.req.valid("param").id);
      return c.json(await presentDetail(db, message), 200);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "get",
      path: "/contacts/{id}/events",
      summary: "List a contact's events, newest first",
      description:
        "What the client did that is not a message: `button_pressed` (a callback button; answer it below), `consent_changed`, `joined_community`, `left_community`.",
      request: { params: IdParam, query: PageQuery },
      responses: {
        200: jsonContent(pageOf(ContactEventSchema, "ContactEventPage"), "Events, newest first"),
        ...errorResponses(400, 404),
      },
    }),
    async (c) => {
      const contact = await requireContact(db, c.get("apiKey").workspaceId, c.req.valid("param").id);
      return c.json(
        presentPage(await listContactEvents(db, contact.id, c.req.valid("query")), presentContactEvent),
        200,
      );
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "post",
      path: "/contact-events/{id}/answer",
      summary: "Answer a client's press of a callback button",
      description:
        "For a `button_pressed` contact event. VK accepts one answer within about a minute of the press; later it is `410 vk_button_event_expired`, and a second answer is `409 contact_event_answered`.",
      request: { params: IdParam, body: jsonBody(AnswerBody) },
      responses: {
        200: jsonContent(ContactEventSchema, "The event, with its `answer`"),
        ...errorResponses(400, 404, 409, 410, 413, 415, 422, 424, 502, 503, 504),
      },
    }),
    async (c) => {
      const answer = c.req.valid("json") as ButtonAnswer;
      const event = await sender.answerButton(c.get("apiKey").workspaceId, c.req.valid("param").id, answer);
      return c.json(presentContactEvent(event), 200);
    },
  );

  return app;
}
