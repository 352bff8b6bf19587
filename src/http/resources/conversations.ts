import { OpenAPIHono, z } from "@hono/zod-openapi";
import { presentConversation, presentMessage } from "../../pipeline/objects.ts";
import { conversationEvent, recordEvent } from "../../pipeline/webhooks/events.ts";
import {
  conversationOrders,
  listConversations,
  requireConversation,
  updateConversation,
} from "../../store/repositories/conversations.ts";
import { listConversationMessages } from "../../store/repositories/messages.ts";
import {
  authorKinds,
  conversationKinds,
  conversationStatuses,
  messageDirections,
  messagePriorities,
  messageStatuses,
} from "../../store/schema.ts";
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

export const ConversationSchema = z
  .object({
    id: z.string(),
    channel_id: z.string(),
    contact_id: z.string().nullable().openapi({
      description:
        "The client. For a `comments` thread, the first client who commented (each message has its own author's `contact_id`); null while only the community wrote in it",
    }),
    kind: z.enum(conversationKinds),
    external_ref: z
      .string()
      .nullable()
      .openapi({ description: "The publication of a `comments` conversation, the form of a `lead`" }),
    status: z.enum(conversationStatuses),
    assignee: z.string().nullable(),
    reply_window_ends_at: Timestamp.nullable(),
    last_message_at: Timestamp.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Conversation");

export const MessageSchema = z
  .object({
    id: z.string(),
    conversation_id: z.string().nullable(),
    channel_id: z.string().nullable(),
    contact_id: z.string().nullable(),
    direction: z.enum(messageDirections),
    author: z.object({ kind: z.enum(authorKinds), ref: z.string().nullable() }),
    text: z.string().nullable(),
    attachments: z.array(z.record(z.string(), z.unknown())),
    external_id: z.string().nullable(),
    link: z
      .string()
      .nullable()
      .openapi({ description: "Where a person sees it on the platform (a comment)" }),
    status: z.enum(messageStatuses),
    error_code: z.string().nullable(),
    priority: z.enum(messagePriorities),
    part: z.number().int().openapi({
      description: "A long text goes out as several platform messages: its parts, counted from 0",
    }),
    part_of: z.string().nullable().openapi({ description: "For parts after the first: the first part's id" }),
    reply_to_message_id: z.string().nullable(),
    deleted_at: Timestamp.nullable(),
    sent_at: Timestamp,
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Message");

const ConversationUpdate = z
  .strictObject({
    status: z.enum(conversationStatuses).optional(),
    assignee: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .nullable()
      .optional()
      .openapi({ description: "Who handles it; null unassigns" }),
  })
  .openapi("ConversationUpdate");

const tag = "Conversations";

export function conversationRoutes({ store }: AppDeps) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const db = store.db;

  app.openapi(
    apiRoute(tag, {
      method: "get",
      path: "/conversations",
      summary: "List conversations",
      request: {
        query: PageQuery.extend({
          status: z.enum(conversationStatuses).optional(),
          kind: z.enum(conversationKinds).optional(),
          channel_id: z.string().optional(),
          contact_id: z.string().optional(),
          assignee: z.string().optional(),
          order: z.enum(conversationOrders).default("created").openapi({
            description:
              "`created`: the newest conversation first. `last_message`: the one with the latest message first, as an inbox shows them (one without messages counts from its creation)",
          }),
        }),
      },
      responses: {
        200: jsonContent(
          pageOf(ConversationSchema, "ConversationPage"),
          "Conversations, newest first (or as `order` says)",
        ),
        ...errorResponses(400),
      },
    }),
    async (c) => {
      const { status, kind, channel_id, contact_id, assignee, order, ...page } = c.req.valid("query");
      const result = await listConversations(
        db,
        c.get("apiKey").workspaceId,
        { status, kind, channelAccountId: channel_id, contactId: contact_id, assignee },
        page,
        order,
      );
      return c.json(presentPage(result, presentConversation), 200);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "get",
      path: "/conversations/{id}",
      summary: "Get a conversation",
      request: { params: IdParam },
      responses: { 200: jsonContent(ConversationSchema, "The conversation"), ...errorResponses(404) },
    }),
    async (c) =>
      c.json(
        presentConversation(
          await requireConversation(db, c.get("apiKey").workspaceId, c.req.valid("param").id),
        ),
        200,
      ),
  );

  app.openapi(
    apiRoute(tag, {
      method: "patch",
      path: "/conversations/{id}",
      summary: "Change a conversation's status or assignee",
      request: { params: IdParam, body: jsonBody(ConversationUpdate) },
      responses: {
        200: jsonContent(ConversationSchema, "The conversation"),
        ...errorResponses(400, 404, 413, 415),
      },
    }),
    async (c) => {
      const workspaceId = c.get("apiKey").workspaceId;
      const id = c.req.valid("param").id;
      const updated = await db.transaction(async (tx) => {
        const before = await requireConversation(tx, workspaceId, id);
        const after = await updateConversation(tx, workspaceId, id, c.req.valid("json"));
        if (before.status === after.status && before.assignee === after.assignee) return after;
        await recordEvent(tx, conversationEvent("conversation.updated", after));
        if (after.status === "resolved" && before.status !== "resolved")
          await recordEvent(tx, conversationEvent("conversation.resolved", after));
        return after;
      });
      return c.json(presentConversation(updated), 200);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "get",
      path: "/conversations/{id}/messages",
      summary: "List a conversation's messages, newest first",
      request: { params: IdParam, query: PageQuery },
      responses: {
        200: jsonContent(pageOf(MessageSchema, "MessagePage"), "Messages, newest first"),
        ...errorResponses(400, 404),
      },
    }),
    async (c) => {
      const conversation = await requireConversation(
        db,
        c.get("apiKey").workspaceId,
        c.req.valid("param").id,
      );
      return c.json(
        presentPage(
          await listConversationMessages(db, conversation.id, c.req.valid("query")),
          presentMessage,
        ),
        200,
      );
    },
  );

  return app;
}
