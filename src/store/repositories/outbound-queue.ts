/**
 * The outbound queue is the message table itself: a message to send is a row in `queued`
 * (due at `not_before`) or `sending` (leased until `not_before`). Dispatchers take due rows
 * with `FOR UPDATE SKIP LOCKED`, so several hub processes never take the same row, and a row
 * whose dispatcher died is taken again when its lease ends. Every status change is recorded by
 * the `message_status_change` trigger.
 */
import { and, asc, eq, gt, inArray, lte, sql } from "drizzle-orm";
import type { Db } from "../database.ts";
import { type MessageBody, message, messageStatusChange } from "../schema.ts";
import { touchConversations } from "./conversations.ts";
import type { Message, NewMessage } from "./messages.ts";

/** Wakes dispatchers in every hub process: new messages are queued. */
export const outboundChannel = "switchboard_outbound";

export type MessageStatusChange = typeof messageStatusChange.$inferSelect;

/** Statuses a message ends in without reaching the client. */
export type UndeliveredStatus = "failed" | "expired" | "rate_limited";

/**
 * Stores accepted messages, `queued`. Rows whose idempotency key is already taken are skipped;
 * the ids of the rows stored are returned.
 */
export async function enqueueMessages(db: Db, rows: readonly NewMessage[]): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const inserted = await db
    .insert(message)
    .values([...rows])
    .onConflictDoNothing()
    .returning({ id: message.id });
  return new Set(inserted.map((row) => row.id));
}

/** Messages stored under these idempotency keys in the workspace, by key. */
export async function messagesByIdempotencyKey(
  db: Db,
  workspaceId: string,
  keys: readonly string[],
): Promise<Map<string, Pick<Message, "id" | "requestHash">>> {
  if (keys.length === 0) return new Map();
  const rows = await db
    .select({ id: message.id, key: message.idempotencyKey, requestHash: message.requestHash })
    .from(message)
    .where(and(eq(message.workspaceId, workspaceId), inArray(message.idempotencyKey, [...keys])));
  return new Map(rows.map((row) => [row.key as string, { id: row.id, requestHash: row.requestHash }]));
}

/**
 * Channel accounts with messages due now, at most `limit` of them, in id order after `after`:
 * a caller that pages through them all in turn sees every account, however many are due.
 */
export async function accountsWithDueMessages(
  db: Db,
  now: Date,
  limit: number,
  after?: string,
): Promise<string[]> {
  const rows = await db
    .selectDistinct({ channelAccountId: message.channelAccountId })
    .from(message)
    .where(
      and(
        inArray(message.status, ["queued", "sending"]),
        lte(message.notBefore, now),
        after ? gt(message.channelAccountId, after) : undefined,
      ),
    )
    .orderBy(asc(message.channelAccountId))
    .limit(limit);
  return rows.flatMap((row) => (row.channelAccountId ? [row.channelAccountId] : []));
}

/**
 * Takes up to `limit` due rows of the account, replies first, each leased until `leaseUntil`
 * (`sending`) and counted as one more attempt. Rows of the same message (its parts) may come together; the caller sends a
 * message once for all of them.
 */
export async function claimDue(
  db: Db,
  channelAccountId: string,
  options: { limit: number; now: Date; leaseUntil: Date },
): Promise<Message[]> {
  // Sends whose dispatcher died come first: they were taken before anything queued now.
  const orphans = await claimWhere(db, "sending", channelAccountId, options);
  const queued =
    orphans.length < options.limit
      ? await claimWhere(db, "queued", channelAccountId, {
          ...options,
          limit: options.limit - orphans.length,
        })
      : [];
  // RETURNING keeps no order: serve them as the queue ranks them (ids grow with acceptance time).
  return [...orphans, ...queued.sort((a, b) => a.queueRank - b.queueRank || (a.id < b.id ? -1 : 1))];
}

async function claimWhere(
  db: Db,
  status: "queued" | "sending",
  channelAccountId: string,
  options: { limit: number; now: Date; leaseUntil: Date },
): Promise<Message[]> {
  const due = db
    .select({ id: message.id })
    .from(message)
    .where(
      and(
        eq(message.channelAccountId, channelAccountId),
        eq(message.status, status),
        lte(message.notBefore, options.now),
      ),
    )
    .orderBy(
      ...(status === "queued" ? [asc(message.queueRank), asc(message.notBefore)] : [asc(message.notBefore)]),
      asc(message.id),
    )
    .limit(options.limit)
    .for("update", { skipLocked: true });
  return db
    .update(message)
    .set({
      status: "sending",
      notBefore: options.leaseUntil,
      attempts: sql`${message.attempts} + 1`,
      updatedAt: options.now,
    })
    .where(inArray(message.id, due))
    .returning();
}

/** When the account's next queued message is due, if it has one. */
export async function nextDueAt(db: Db, channelAccountId: string): Promise<Date | undefined> {
  const [row] = await db
    .select({ at: sql<Date | string | null>`min(${message.notBefore})` })
    .from(message)
    .where(
      and(eq(message.channelAccountId, channelAccountId), inArray(message.status, ["queued", "sending"])),
    );
  return row?.at ? new Date(row.at) : undefined;
}

/** Back to the queue, due at `notBefore`, with the code of what held it back. */
export async function requeue(db: Db, ids: readonly string[], notBefore: Date, errorCode: string | null) {
  if (ids.length === 0) return;
  await db
    .update(message)
    .set({ status: "queued", notBefore, errorCode, updatedAt: new Date() })
    .where(inArray(message.id, [...ids]));
}

/**
 * Makes the messages a channel's per-recipient quota holds due now, for the dispatcher to count
 * them against the quota in force; returns how many.
 */
export async function releaseQuotaHolds(db: Db, channelAccountId: string): Promise<number> {
  const now = new Date();
  const released = await db
    .update(message)
    .set({ notBefore: now, updatedAt: now })
    .where(
      and(
        eq(message.channelAccountId, channelAccountId),
        eq(message.status, "queued"),
        eq(message.errorCode, "recipient_daily_quota"),
        gt(message.notBefore, now),
      ),
    )
    .returning({ id: message.id });
  return released.length;
}

/** Ends messages without delivery. */
export async function finishUndelivered(
  db: Db,
  ids: readonly string[],
  status: UndeliveredStatus,
  errorCode: string,
) {
  if (ids.length === 0) return;
  await db
    .update(message)
    .set({ status, errorCode, notBefore: null, updatedAt: new Date() })
    .where(inArray(message.id, [...ids]));
}

/**
 * Ends, as `expired`, the account's queued messages whose time to live has passed while they
 * waited (behind a rate limit, a back-off, a quota). Returns their ids.
 */
export async function expireOverdue(db: Db, channelAccountId: string, now: Date): Promise<string[]> {
  const rows = await db
    .update(message)
    .set({
      status: "expired",
      errorCode: sql`coalesce(${message.errorCode}, 'message_expired')`,
      notBefore: null,
      updatedAt: now,
    })
    .where(
      and(
        eq(message.channelAccountId, channelAccountId),
        eq(message.status, "queued"),
        lte(message.expiresAt, now),
      ),
    )
    .returning({ id: message.id });
  return rows.map((row) => row.id);
}

/**
 * Moves a message to its next route: the next channel account, the body (text and keyboard) it
 * sends through that channel's kind, no conversation yet (the dispatcher opens one on that channel), due now.
 * The attachments forget their upload references: they name files in the previous channel's
 * account (a VK photo belongs to the community that uploaded it), so the next route uploads its
 * own. They are cleared in the row, not from `head`, which was read before the uploads.
 */
export async function moveToRoute(
  db: Db,
  head: Message,
  route: { index: number; channelAccountId: string; body: MessageBody },
  reason: string,
) {
  await db
    .update(message)
    .set({
      routeIndex: route.index,
      channelAccountId: route.channelAccountId,
      conversationId: null,
      text: route.body.text,
      keyboard: route.body.keyboard,
      attachments: sql`coalesce((select jsonb_agg(a.value - 'externalId' order by a.n) from jsonb_array_elements(${message.attachments}) with ordinality a(value, n)), '[]'::jsonb)`,
      status: "queued",
      errorCode: reason,
      notBefore: new Date(),
      updatedAt: new Date(),
    })
    .where(eq(message.id, head.id));
}

/**
 * Puts messages of the send API into the conversations they go out in, once their route is
 * chosen, and touches those conversations (`touchConversations`).
 */
export async function assignConversations(
  db: Db,
  assignments: readonly { messageId: string; conversationId: string; at: Date }[],
) {
  if (assignments.length === 0) return;
  const rows = sql.join(
    assignments.map((a) => sql`(${a.messageId}::uuid, ${a.conversationId}::uuid)`),
    sql`, `,
  );
  await db.execute(
    sql`update message set conversation_id = v.conversation_id from (values ${rows}) as v(message_id, conversation_id) where message.id = v.message_id`,
  );
  await touchConversations(db, assignments);
}

/**
 * When this account delivered notifications (not replies) to each of the contacts since `since`,
 * oldest first, to apply a per-recipient daily quota. By contact id; contacts with none are absent.
 */
export async function notificationsSince(
  db: Db,
  channelAccountId: string,
  contactIds: readonly string[],
  since: Date,
): Promise<Map<string, Date[]>> {
  const byContact = new Map<string, Date[]>();
  if (contactIds.length === 0) return byContact;
  const rows = await db
    .select({ contactId: message.contactId, at: message.dispatchedAt })
    .from(message)
    .where(
      and(
        eq(message.channelAccountId, channelAccountId),
        inArray(message.contactId, [...new Set(contactIds)]),
        sql`${message.dispatchedAt} > ${since.toISOString()}::timestamptz`,
        sql`${message.queueRank} > 0`,
      ),
    )
    .orderBy(asc(message.dispatchedAt));
  for (const row of rows) {
    const list = byContact.get(row.contactId as string) ?? [];
    list.push(row.at as Date);
    byContact.set(row.contactId as string, list);
  }
  return byContact;
}

/** A message's statuses, oldest first. */
export async function listStatusChanges(db: Db, messageId: string): Promise<MessageStatusChange[]> {
  return db
    .select()
    .from(messageStatusChange)
    .where(eq(messageStatusChange.messageId, messageId))
    .orderBy(asc(messageStatusChange.id));
}

/**
 * The client read the channel's messages up to the one with platform id `upToExternalId`: that
 * one and every earlier message the channel sent to the contact become `read`. "Earlier" is by
 * when each reached the platform: the hub's sends when they were dispatched, messages an admin
 * wrote on the platform by the platform's own time. Returns the ids changed with the status each had.
 */
export async function markRead(
  db: Db,
  channelAccountId: string,
  contactId: string,
  upToExternalId: string,
): Promise<{ id: string; previous: Message["status"] }[]> {
  const reachedPlatform = sql`coalesce(${message.dispatchedAt}, ${message.sentAt})`;
  const [last] = await db
    .select({ at: sql<string>`${reachedPlatform}` })
    .from(message)
    .where(
      and(
        eq(message.channelAccountId, channelAccountId),
        eq(message.direction, "outbound"),
        eq(message.externalId, upToExternalId),
      ),
    );
  if (!last?.at) return [];
  const earlier = await db
    .select({ id: message.id, previous: message.status })
    .from(message)
    .where(
      and(
        eq(message.channelAccountId, channelAccountId),
        eq(message.contactId, contactId),
        eq(message.direction, "outbound"),
        inArray(message.status, ["sent", "delivered"]),
        sql`${reachedPlatform} <= ${last.at}::timestamptz`,
      ),
    );
  if (earlier.length === 0) return [];
  await db
    .update(message)
    .set({ status: "read", updatedAt: new Date() })
    .where(
      inArray(
        message.id,
        earlier.map((row) => row.id),
      ),
    );
  return earlier;
}
