import { and, eq, gte, inArray, ne, type SQL, sql } from "drizzle-orm";
import { AppError } from "../../errors/app-error.ts";
import type { Db } from "../database.ts";
import { byTimeThenId, idIs, isUuid, newestFirst, type PageRequest } from "../pagination.ts";
import { conversation, type conversationKinds, type conversationStatuses } from "../schema.ts";

export type Conversation = typeof conversation.$inferSelect;
export type ConversationStatus = (typeof conversationStatuses)[number];
export type ConversationKind = (typeof conversationKinds)[number];

export interface NewConversation {
  workspaceId: string;
  channelAccountId: string;
  contactId: string | null;
  kind: ConversationKind;
  externalRef?: string | null;
}

export async function createConversation(db: Db, input: NewConversation): Promise<Conversation> {
  const [row] = await db.insert(conversation).values(input).returning();
  return row as Conversation;
}

/**
 * The open direct conversation of each contact on a channel, opening those that are missing:
 * three statements at most, however many contacts. `created` names the contacts whose
 * conversation this call opened.
 */
export async function openDirectConversations(
  db: Db,
  workspaceId: string,
  channelAccountId: string,
  contactIds: readonly string[],
): Promise<{ byContact: Map<string, Conversation>; created: Set<string> }> {
  const wanted = [...new Set(contactIds)];
  const byContact = new Map<string, Conversation>();
  const created = new Set<string>();
  if (wanted.length === 0) return { byContact, created };
  const find = async (ids: string[]) => {
    const rows = await db
      .select()
      .from(conversation)
      .where(
        and(
          eq(conversation.channelAccountId, channelAccountId),
          inArray(conversation.contactId, ids),
          eq(conversation.kind, "direct"),
          ne(conversation.status, "resolved"),
        ),
      );
    for (const row of rows) byContact.set(row.contactId as string, row);
  };
  await find(wanted);
  const missing = wanted.filter((id) => !byContact.has(id));
  if (missing.length === 0) return { byContact, created };
  const inserted = await db
    .insert(conversation)
    .values(
      missing.map((contactId) => ({ workspaceId, channelAccountId, contactId, kind: "direct" as const })),
    )
    .onConflictDoNothing()
    .returning();
  for (const row of inserted) {
    byContact.set(row.contactId as string, row);
    created.add(row.contactId as string);
  }
  // Opened meanwhile by intake or a dispatcher elsewhere.
  const raced = missing.filter((id) => !byContact.has(id));
  if (raced.length > 0) await find(raced);
  return { byContact, created };
}

/**
 * Tells conversations they got new messages, in one statement: each one's last-message time moves
 * forward to its newest message's time, and `updated_at` to now, even for a message older than
 * the last (one arriving late): the conversation has changed for a client that syncs on it.
 */
export async function touchConversations(
  db: Db,
  messages: readonly { conversationId: string | null; at: Date }[],
) {
  const newest = new Map<string, Date>();
  for (const { conversationId, at } of messages) {
    const current = conversationId ? newest.get(conversationId) : undefined;
    if (conversationId && (!current || current < at)) newest.set(conversationId, at);
  }
  if (newest.size === 0) return;
  const rows = sql.join(
    [...newest].map(([id, at]) => sql`(${id}::uuid, ${at.toISOString()}::timestamptz)`),
    sql`, `,
  );
  await db.execute(sql`
    update conversation
    set last_message_at = greatest(last_message_at, v.at), updated_at = now()
    from (values ${rows}) as v(id, at)
    where conversation.id = v.id`);
}

/** Opens a resolved conversation again; undefined when it was not resolved. */
export async function reopenResolved(db: Db, id: string): Promise<Conversation | undefined> {
  const [row] = await db
    .update(conversation)
    .set({ status: "open", updatedAt: sql`now()` })
    .where(and(eq(conversation.id, id), eq(conversation.status, "resolved")))
    .returning();
  return row;
}

/**
 * The one conversation of a publication's comments, opened on its first comment. Its contact is
 * the first client who commented, filled in later if the community wrote first.
 */
export async function commentThread(
  db: Db,
  input: { workspaceId: string; channelAccountId: string; publicationRef: string; contactId: string | null },
): Promise<{ conversation: Conversation; created: boolean }> {
  const where = and(
    eq(conversation.channelAccountId, input.channelAccountId),
    eq(conversation.kind, "comments"),
    eq(conversation.externalRef, input.publicationRef),
  );
  const [created] = await db
    .insert(conversation)
    .values({
      workspaceId: input.workspaceId,
      channelAccountId: input.channelAccountId,
      contactId: input.contactId,
      kind: "comments",
      externalRef: input.publicationRef,
    })
    .onConflictDoNothing()
    .returning();
  if (created) return { conversation: created, created: true };
  const [existing] = await db.select().from(conversation).where(where);
  if (existing && !existing.contactId && input.contactId) {
    const [updated] = await db
      .update(conversation)
      .set({ contactId: input.contactId, updatedAt: sql`now()` })
      .where(eq(conversation.id, existing.id))
      .returning();
    return { conversation: updated as Conversation, created: false };
  }
  return { conversation: existing as Conversation, created: false };
}

export async function getConversation(
  db: Db,
  workspaceId: string,
  id: string,
): Promise<Conversation | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await db
    .select()
    .from(conversation)
    .where(and(eq(conversation.workspaceId, workspaceId), eq(conversation.id, id)));
  return row;
}

export async function requireConversation(db: Db, workspaceId: string, id: string): Promise<Conversation> {
  const found = await getConversation(db, workspaceId, id);
  if (!found) throw new AppError("conversation_not_found", { id });
  return found;
}

export interface ConversationFilter {
  status?: ConversationStatus | undefined;
  kind?: ConversationKind | undefined;
  channelAccountId?: string | undefined;
  contactId?: string | undefined;
  assignee?: string | undefined;
  /** Changed at or after this time. */
  updatedSince?: Date | undefined;
}

/**
 * How a list of conversations is ordered: by creation, by the latest message (an inbox), or by
 * the last change, the least recent first (a sync pass).
 */
export const conversationOrders = ["created", "last_message", "updated"] as const;
export type ConversationOrder = (typeof conversationOrders)[number];

/** A conversation's latest message, or its creation while it has none (conversation_activity_idx). */
const lastActivity = sql`coalesce(${conversation.lastMessageAt}, ${conversation.createdAt})`;

function conversationList(order: ConversationOrder, page: PageRequest) {
  switch (order) {
    case "created":
      return newestFirst("conversations", conversation.id, page);
    case "last_message":
      return byTimeThenId(
        "desc",
        "conversations:last_message",
        lastActivity,
        conversation.id,
        (row: Conversation) => row.lastMessageAt ?? row.createdAt,
        page,
      );
    case "updated":
      return byTimeThenId(
        "asc",
        "conversations:updated",
        sql`${conversation.updatedAt}`,
        conversation.id,
        (row: Conversation) => row.updatedAt,
        page,
      );
  }
}

export async function listConversations(
  db: Db,
  workspaceId: string,
  filter: ConversationFilter,
  page: PageRequest,
  order: ConversationOrder = "created",
) {
  const conditions: (SQL | undefined)[] = [
    eq(conversation.workspaceId, workspaceId),
    filter.status ? eq(conversation.status, filter.status) : undefined,
    filter.kind ? eq(conversation.kind, filter.kind) : undefined,
    filter.assignee ? eq(conversation.assignee, filter.assignee) : undefined,
    idIs(conversation.channelAccountId, filter.channelAccountId),
    idIs(conversation.contactId, filter.contactId),
    filter.updatedSince ? gte(conversation.updatedAt, filter.updatedSince) : undefined,
  ];
  const list = conversationList(order, page);
  const rows = await db
    .select()
    .from(conversation)
    .where(and(...conditions, list.after))
    .orderBy(list.order)
    .limit(list.limit);
  return list.page(rows);
}

export async function updateConversation(
  db: Db,
  workspaceId: string,
  id: string,
  changes: { status?: ConversationStatus | undefined; assignee?: string | null | undefined },
): Promise<Conversation> {
  const [row] = isUuid(id)
    ? await db
        .update(conversation)
        .set({
          ...(changes.status !== undefined ? { status: changes.status } : {}),
          ...(changes.assignee !== undefined ? { assignee: changes.assignee } : {}),
          updatedAt: sql`now()`,
        })
        .where(and(eq(conversation.workspaceId, workspaceId), eq(conversation.id, id)))
        .returning()
    : [];
  if (!row) throw new AppError("conversation_not_found", { id });
  return row;
}
