import { OpenAPIHono, z } from "@hono/zod-openapi";
import { AppError } from "../../errors/app-error.ts";
import { presentContact, presentConversation, presentMessage } from "../../pipeline/objects.ts";
import { conversationEvent, recordEvent } from "../../pipeline/webhooks/events.ts";
import { type Db, isUniqueViolation } from "../../store/database.ts";
import { getContacts } from "../../store/repositories/contacts.ts";
import {
  type Conversation,
  conversationOrders,
  listConversations,
  requireConversation,
  updateConversation,
} from "../../store/repositories/conversations.ts";
import { latestMessages, listConversationMessages } from "../../store/repositories/messages.ts";
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
  UpdatedSince,
} from "../schemas.ts";
import { ContactSchema } from "./contacts.ts";

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
    last_message_at: Timestamp.nullable().openapi({
      description:
        "`sent_at` of its newest message: when it was written on the platform, or accepted by the hub",
    }),
    created_at: Timestamp,
    updated_at: Timestamp.openapi({
      description:
        "When the hub last changed it: a message added (received or sent, a late one too), its status, assignee or client",
    }),
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

/** What a conversation may come with, for an inbox to draw its list in one request. */
const conversationIncludes = ["contact", "last_message"] as const;
type ConversationInclude = (typeof conversationIncludes)[number];

const IncludeQuery = z.strictObject({
  include: z
    .string()
    .regex(new RegExp(`^(${conversationIncludes.join("|")})(,(${conversationIncludes.join("|")}))*$`), {
      message: `a comma-separated list of: ${conversationIncludes.join(", ")}`,
    })
    .optional()
    .openapi({
      description:
        "Adds to each conversation `contact` (the client, with identities) and `last_message` (the message its message list shows first), each null when there is none",
      example: "contact,last_message",
    }),
});

const IncludedConversationSchema = ConversationSchema.extend({
  contact: ContactSchema.nullable().optional().openapi({ description: "With `include=contact`" }),
  last_message: MessageSchema.nullable().optional().openapi({ description: "With `include=last_message`" }),
}).openapi("IncludedConversation");

/**
 * Presents conversations with what `include` asks for: two queries for a whole page, whatever its
 * size, instead of one request per conversation.
 */
async function presenterWith(
  db: Db,
  workspaceId: string,
  include: string | undefined,
  conversations: readonly Conversation[],
) {
  const wanted = new Set((include?.split(",") ?? []) as ConversationInclude[]);
  const contactIds = conversations.flatMap((v) => (v.contactId ? [v.contactId] : []));
  const contacts = wanted.has("contact")
    ? new Map((await getContacts(db, workspaceId, contactIds)).map((c) => [c.id, presentContact(c)]))
    : undefined;
  const messages = wanted.has("last_message")
    ? await latestMessages(
        db,
        conversations.map((v) => v.id),
      )
    : undefined;
  return (v: Conversation) => {
    const message = messages?.get(v.id);
    return {
      ...presentConversation(v),
      ...(contacts ? { contact: (v.contactId ? contacts.get(v.contactId) : undefined) ?? null } : {}),
      ...(messages ? { last_message: message ? presentMessage(message) : null } : {}),
    };
  };
}

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
        query: PageQuery.merge(IncludeQuery).extend({
          status: z.enum(conversationStatuses).optional(),
          kind: z.enum(conversationKinds).optional(),
          channel_id: z.string().optional(),
          contact_id: z.string().optional(),
          assignee: z.string().optional(),
          updated_since: UpdatedSince,
          order: z.enum(conversationOrders).default("created").openapi({
            description:
              "`created`: the newest conversation first. `last_message`: the one with the latest message first, as an inbox shows them (one without messages counts from its creation). `updated`: the least recently changed first (`updated_at`, then id), to sync: one that changes while you page moves to the end and is listed again there",
          }),
        }),
      },
      responses: {
        200: jsonContent(
          pageOf(IncludedConversationSchema, "ConversationPage"),
          "Conversations, newest first (or as `order` says)",
        ),
        ...errorResponses(400),
      },
    }),
    async (c) => {
      const { status, kind, channel_id, contact_id, assignee, updated_since, order, include, ...page } =
        c.req.valid("query");
      const workspaceId = c.get("apiKey").workspaceId;
      const result = await listConversations(
        db,
        workspaceId,
        {
          status,
          kind,
          channelAccountId: channel_id,
          contactId: contact_id,
          assignee,
          updatedSince: updated_since ? new Date(updated_since) : undefined,
        },
        page,
        order,
      );
      return c.json(presentPage(result, await presenterWith(db, workspaceId, include, result.items)), 200);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "get",
      path: "/conversations/{id}",
      summary: "Get a conversation",
      request: { params: IdParam, query: IncludeQuery },
      responses: {
        200: jsonContent(IncludedConversationSchema, "The conversation"),
        ...errorResponses(400, 404),
      },
    }),
    async (c) => {
      const workspaceId = c.get("apiKey").workspaceId;
      const conversation = await requireConversation(db, workspaceId, c.req.valid("param").id);
      const present = await presenterWith(db, workspaceId, c.req.valid("query").include, [conversation]);
      return c.json(present(conversation), 200);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "patch",
      path: "/conversations/{id}",
      summary: "Change a conversation's status or assignee",
      request: { params: IdParam, body: jsonBody(ConversationUpdate) },
      responses: {
        200: jsonContent(ConversationSchema, "The conversation"),
        ...errorResponses(400, 404, 409, 413, 415),
      },
    }),
    async (c) => {
      const workspaceId = c.get("apiKey").workspaceId;
      const id = c.req.valid("param").id;
      const change = () =>
        db.transaction(async (tx) => {
          const before = await requireConversation(tx, workspaceId, id);
          const after = await updateConversation(tx, workspaceId, id, c.req.valid("json"));
          if (before.status === after.status && before.assignee === after.assignee) return after;
          await recordEvent(tx, conversationEvent("conversation.updated", after));
          if (after.status === "resolved" && before.status !== "resolved")
            await recordEvent(tx, conversationEvent("conversation.resolved", after));
          return after;
        });
      const updated = await change().catch(async (error: unknown) => {
        // A client has one open direct conversation per channel, where intake puts their messages.
        if (!isUniqueViolation(error, "conversation_open_direct_key")) throw error;
        const openId = await openDirectConversationBeside(db, workspaceId, id);
        if (openId) throw new AppError("conversation_already_open", { id, openId });
        return change(); // that one was resolved meanwhile
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

/** The open (or pending) direct conversation of the client of the conversation `id`, on its channel. */
async function openDirectConversationBeside(
  db: Db,
  workspaceId: string,
  id: string,
): Promise<string | undefined> {
  const reopened = await requireConversation(db, workspaceId, id);
  for (const status of ["open", "pending"] as const) {
    const filter = {
      kind: "direct" as const,
      status,
      channelAccountId: reopened.channelAccountId,
      contactId: reopened.contactId ?? undefined,
    };
    const [open] = (await listConversations(db, workspaceId, filter, { limit: 1 })).items;
    if (open) return open.id;
  }
  return undefined;
}
