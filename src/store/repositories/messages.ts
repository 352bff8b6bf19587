import { and, desc, eq, sql } from "drizzle-orm";
import type { Db } from "../database.ts";
import { decodeCursor, invalidCursor, type PageRequest, toPage } from "../pagination.ts";
import { conversation, message, messageVersion } from "../schema.ts";

export type Message = typeof message.$inferSelect;
export type NewMessage = typeof message.$inferInsert;
export type MessageVersion = typeof messageVersion.$inferSelect;

/**
 * Stores a message and moves its conversation's last-message time forward. A message whose
 * platform id is already stored is not stored again: the existing row is returned instead.
 */
export async function recordMessage(
  db: Db,
  input: NewMessage,
): Promise<{ message: Message; created: boolean }> {
  return db.transaction(async (tx) => {
    const [inserted] = await tx.insert(message).values(input).onConflictDoNothing().returning();
    if (!inserted) {
      const [existing] = await tx
        .select()
        .from(message)
        .where(
          input.externalId && input.channelAccountId
            ? and(
                eq(message.channelAccountId, input.channelAccountId),
                eq(message.direction, input.direction),
                eq(message.externalId, input.externalId),
              )
            : and(
                eq(message.workspaceId, input.workspaceId),
                eq(message.idempotencyKey, input.idempotencyKey ?? ""),
              ),
        );
      return { message: existing as Message, created: false };
    }
    if (inserted.conversationId) {
      await tx
        .update(conversation)
        .set({ lastMessageAt: sql`greatest(${conversation.lastMessageAt}, ${inserted.sentAt})` })
        .where(eq(conversation.id, inserted.conversationId));
    }
    return { message: inserted, created: true };
  });
}

export async function findMessageByExternalId(
  db: Db,
  channelAccountId: string,
  externalId: string,
): Promise<Message | undefined> {
  const [row] = await db
    .select()
    .from(message)
    .where(and(eq(message.channelAccountId, channelAccountId), eq(message.externalId, externalId)));
  return row;
}

/**
 * Recognises the platform's echo of a message the hub sent (VK `message_reply` carrying our
 * `random_id`), recording the platform's id on it. True when the echo was ours.
 */
export async function matchEcho(db: Db, channelAccountId: string, sendKey: string, externalId: string) {
  const [row] = await db
    .update(message)
    .set({ externalId: sql`coalesce(${message.externalId}, ${externalId})`, updatedAt: new Date() })
    .where(and(eq(message.channelAccountId, channelAccountId), eq(message.sendKey, sendKey)))
    .returning({ id: message.id });
  return row !== undefined;
}

export async function setMessageDeleted(db: Db, messageId: string, deletedAt: Date | null) {
  await db.update(message).set({ deletedAt, updatedAt: new Date() }).where(eq(message.id, messageId));
}

/** Messages of a conversation, newest first. */
export async function listConversationMessages(db: Db, conversationId: string, page: PageRequest) {
  const conditions = [eq(message.conversationId, conversationId)];
  if (page.cursor) {
    const [sentAt, id] = decodeCursor("messages", page.cursor, 2) as [string, string];
    const at = new Date(sentAt);
    if (Number.isNaN(at.getTime())) throw invalidCursor();
    conditions.push(
      sql`(${message.sentAt}, ${message.id}) < (${at.toISOString()}::timestamptz, ${id}::uuid)`,
    );
  }
  const rows = await db
    .select()
    .from(message)
    .where(and(...conditions))
    .orderBy(desc(message.sentAt), desc(message.id))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, "messages", (row) => [row.sentAt.toISOString(), row.id]);
}

/** Records an edit as the next version of the message and makes it the current text. */
export async function recordEdit(
  db: Db,
  messageId: string,
  edit: {
    text: string | null;
    attachments?: Message["attachments"];
    source: "platform" | "hub";
    editedAt?: Date;
  },
): Promise<MessageVersion> {
  return db.transaction(async (tx) => {
    const [current] = await tx.select().from(message).where(eq(message.id, messageId)).for("update");
    if (!current) throw new Error(`message ${messageId} does not exist`);
    const [{ next } = { next: 1 }] = await tx
      .select({ next: sql<number>`coalesce(max(${messageVersion.version}), 0) + 1` })
      .from(messageVersion)
      .where(eq(messageVersion.messageId, messageId));
    const [version] = await tx
      .insert(messageVersion)
      .values({
        messageId,
        version: Number(next),
        text: edit.text,
        attachments: edit.attachments ?? current.attachments,
        source: edit.source,
        editedAt: edit.editedAt ?? new Date(),
      })
      .returning();
    await tx
      .update(message)
      .set({ text: edit.text, attachments: edit.attachments ?? current.attachments, updatedAt: new Date() })
      .where(eq(message.id, messageId));
    return version as MessageVersion;
  });
}

export async function listVersions(db: Db, messageId: string): Promise<MessageVersion[]> {
  return db
    .select()
    .from(messageVersion)
    .where(eq(messageVersion.messageId, messageId))
    .orderBy(messageVersion.version);
}
