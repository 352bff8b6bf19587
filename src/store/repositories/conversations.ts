import { and, eq, inArray, ne, type SQL } from "drizzle-orm";
import { AppError } from "../../errors/app-error.ts";
import type { Db } from "../database.ts";
import { idIs, isUuid, newestFirst, type PageRequest } from "../pagination.ts";
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

/** The client's open direct conversation on a channel, opened (`created`) if there is none. */
export async function openDirectConversation(
  db: Db,
  workspaceId: string,
  channelAccountId: string,
  contactId: string,
): Promise<{ conversation: Conversation; created: boolean }> {
  const find = async () => {
    const [row] = await db
      .select()
      .from(conversation)
      .where(
        and(
          eq(conversation.channelAccountId, channelAccountId),
          eq(conversation.contactId, contactId),
          eq(conversation.kind, "direct"),
          ne(conversation.status, "resolved"),
        ),
      );
    return row;
  };
  const existing = await find();
  if (existing) return { conversation: existing, created: false };
  const [created] = await db
    .insert(conversation)
    .values({ workspaceId, channelAccountId, contactId, kind: "direct" })
    .onConflictDoNothing()
    .returning();
  if (created) return { conversation: created, created: true };
  return { conversation: (await find()) as Conversation, created: false };
}

/**
 * The open direct conversation of each contact on a channel, opening those that are missing:
 * `openDirectConversation` for many contacts in three statements. By contact id.
 */
export async function openDirectConversations(
  db: Db,
  workspaceId: string,
  channelAccountId: string,
  contactIds: readonly string[],
): Promise<Map<string, Conversation>> {
  const wanted = [...new Set(contactIds)];
  const byContact = new Map<string, Conversation>();
  if (wanted.length === 0) return byContact;
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
  if (missing.length === 0) return byContact;
  const created = await db
    .insert(conversation)
    .values(
      missing.map((contactId) => ({ workspaceId, channelAccountId, contactId, kind: "direct" as const })),
    )
    .onConflictDoNothing()
    .returning();
  for (const row of created) byContact.set(row.contactId as string, row);
  // Opened meanwhile by intake or another dispatcher.
  const raced = missing.filter((id) => !byContact.has(id));
  if (raced.length > 0) await find(raced);
  return byContact;
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
      .set({ contactId: input.contactId, updatedAt: new Date() })
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
}

export async function listConversations(
  db: Db,
  workspaceId: string,
  filter: ConversationFilter,
  page: PageRequest,
) {
  const list = newestFirst("conversations", conversation.id, page);
  const conditions: (SQL | undefined)[] = [
    eq(conversation.workspaceId, workspaceId),
    filter.status ? eq(conversation.status, filter.status) : undefined,
    filter.kind ? eq(conversation.kind, filter.kind) : undefined,
    filter.assignee ? eq(conversation.assignee, filter.assignee) : undefined,
    idIs(conversation.channelAccountId, filter.channelAccountId),
    idIs(conversation.contactId, filter.contactId),
    list.after,
  ];
  const rows = await db
    .select()
    .from(conversation)
    .where(and(...conditions))
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
          updatedAt: new Date(),
        })
        .where(and(eq(conversation.workspaceId, workspaceId), eq(conversation.id, id)))
        .returning()
    : [];
  if (!row) throw new AppError("conversation_not_found", { id });
  return row;
}
