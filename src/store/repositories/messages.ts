import { and, asc, desc, eq, inArray, isNotNull, isNull, ne, or, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { AppError } from "../../errors/app-error.ts";
import { asTableRows, columnList, type Db, queryPrepared, queryRows } from "../database.ts";
import { byTimeThenId, isUuid, type PageRequest } from "../pagination.ts";
import { type Attachment, contactConsent, contactIdentity, message, messageVersion } from "../schema.ts";

import { touchConversations } from "./conversations.ts";

export type Message = typeof message.$inferSelect;
export type NewMessage = typeof message.$inferInsert;
export type MessageVersion = typeof messageVersion.$inferSelect;
type ContactIdentity = typeof contactIdentity.$inferSelect;

/**
 * Stores a message and touches its conversation (`touchConversations`). A message whose
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
    await touchConversations(tx, [{ conversationId: inserted.conversationId, at: inserted.sentAt }]);
    return { message: inserted, created: true };
  });
}

/** A message as it arrives from a platform; every column not named here takes its default. */
export type ArrivedMessage = Required<
  Pick<
    NewMessage,
    | "id"
    | "workspaceId"
    | "channelAccountId"
    | "conversationId"
    | "contactId"
    | "direction"
    | "authorKind"
    | "authorRef"
    | "status"
    | "text"
    | "attachments"
    | "externalId"
    | "sentAt"
    | "replyToMessageId"
  >
>;

/**
 * Stores platform messages in two statements, each once: a message whose platform id is already
 * stored (or appears earlier in `inputs`) is skipped. Returns the rows stored, in input order.
 */
export async function recordMessages(db: Db, inputs: readonly ArrivedMessage[]): Promise<Message[]> {
  if (inputs.length === 0) return [];
  const rows = await queryPrepared<Record<string, unknown>>(db, "record_messages", recordMessagesStatement, [
    inputs.map((m) => m.id),
    inputs.map((m) => m.workspaceId),
    inputs.map((m) => m.channelAccountId),
    inputs.map((m) => m.conversationId),
    inputs.map((m) => m.contactId),
    inputs.map((m) => m.direction),
    inputs.map((m) => m.authorKind),
    inputs.map((m) => m.authorRef),
    inputs.map((m) => m.status),
    inputs.map((m) => m.text),
    inputs.map((m) => m.externalId),
    inputs.map((m) => m.sentAt.toISOString()),
    inputs.map((m) => m.replyToMessageId),
    JSON.stringify(inputs.map((m) => m.attachments)),
  ]);
  const inserted = asTableRows(message, rows);
  await touchConversations(
    db,
    inserted.map((row) => ({ conversationId: row.conversationId, at: row.sentAt })),
  );
  return inserted.sort((a, b) => a.id.localeCompare(b.id));
}

/**
 * Intake stores a run's messages with this, so it is prepared, and takes its columns as arrays:
 * Drizzle builds an INSERT parameter by parameter, which for a run of 48 messages took 2.7 ms.
 */
const recordMessagesStatement = `
  insert into message (id, workspace_id, channel_account_id, conversation_id, contact_id, direction,
    author_kind, author_ref, status, text, external_id, sent_at, reply_to_message_id, attachments)
  select v.id, v.workspace_id, v.channel_account_id, v.conversation_id, v.contact_id, v.direction,
    v.author_kind, v.author_ref, v.status, v.text, v.external_id, v.sent_at, v.reply_to_message_id,
    a.attachments
  from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[], $7::text[],
      $8::text[], $9::text[], $10::text[], $11::text[], $12::timestamptz[], $13::uuid[])
    with ordinality as v(id, workspace_id, channel_account_id, conversation_id, contact_id, direction,
      author_kind, author_ref, status, text, external_id, sent_at, reply_to_message_id, n)
  join jsonb_array_elements($14::jsonb) with ordinality as a(attachments, n) on a.n = v.n
  on conflict do nothing
  returning ${columnList(message)}`;

/** The messages of a channel with these platform ids, by platform id. */
export async function messagesByExternalIds(
  db: Db,
  channelAccountId: string,
  externalIds: readonly string[],
): Promise<Map<string, Message>> {
  if (externalIds.length === 0) return new Map();
  const rows = await db
    .select()
    .from(message)
    .where(
      and(
        eq(message.channelAccountId, channelAccountId),
        inArray(message.externalId, [...new Set(externalIds)]),
      ),
    );
  return new Map(rows.map((row) => [row.externalId as string, row]));
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
 * `random_id`), recording the platform's id on it. True when the echo was ours. The id is left
 * to the send's own bookkeeping when an older row holds it (see `markSent`).
 */
export async function matchEcho(db: Db, channelAccountId: string, sendKey: string, externalId: string) {
  const holder = alias(message, "holder");
  const held = db
    .select({ id: holder.id })
    .from(holder)
    .where(
      and(
        eq(holder.channelAccountId, channelAccountId),
        eq(holder.direction, "outbound"),
        eq(holder.externalId, externalId),
      ),
    );
  const [row] = await db
    .update(message)
    .set({
      externalId: sql`coalesce(${message.externalId}, case when not exists (${held}) then ${externalId} end)`,
      updatedAt: new Date(),
    })
    .where(and(eq(message.channelAccountId, channelAccountId), eq(message.sendKey, sendKey)))
    .returning({ id: message.id });
  return row !== undefined;
}

export async function setMessageDeleted(db: Db, messageId: string, deletedAt: Date | null) {
  await db.update(message).set({ deletedAt, updatedAt: new Date() }).where(eq(message.id, messageId));
}

/** Messages of a conversation, newest first (by the platform's time). */
export async function listConversationMessages(db: Db, conversationId: string, page: PageRequest) {
  const list = byTimeThenId(
    "desc",
    "messages",
    sql`${message.sentAt}`,
    message.id,
    (row: Message) => row.sentAt,
    page,
  );
  const rows = await db
    .select()
    .from(message)
    .where(and(eq(message.conversationId, conversationId), list.after))
    .orderBy(list.order)
    .limit(list.limit);
  return list.page(rows);
}

/**
 * Each conversation's latest message, the one its message list shows first, by conversation id;
 * a conversation without messages has none. One index lookup each (`message_conversation_idx`).
 */
export async function latestMessages(
  db: Db,
  conversationIds: readonly string[],
): Promise<Map<string, Message>> {
  if (conversationIds.length === 0) return new Map();
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`
      select latest.* from unnest(${sql.param([...new Set(conversationIds)])}::uuid[]) as wanted(id)
      cross join lateral (
        select ${sql.raw(columnList(message))} from message
        where conversation_id = wanted.id order by sent_at desc, id desc limit 1
      ) latest`,
  );
  return new Map(asTableRows(message, rows).map((row) => [row.conversationId as string, row]));
}

/** Who writes on the platform itself, not through the hub. */
const platformAuthors: ReadonlySet<Message["authorKind"]> = new Set(["contact", "platform_admin"]);

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
    const edited = {
      messageId,
      version: Number(next),
      text: edit.text,
      attachments: edit.attachments ?? current.attachments,
      source: edit.source,
      editedAt: edit.editedAt ?? new Date(),
    };
    // The first edit keeps the message as it was first written, as version 0: the edit overwrites it.
    const original = {
      messageId,
      version: 0,
      text: current.text,
      attachments: current.attachments,
      source: platformAuthors.has(current.authorKind) ? ("platform" as const) : ("hub" as const),
      editedAt: current.sentAt,
    };
    const stored = await tx
      .insert(messageVersion)
      .values(edited.version === 1 ? [original, edited] : [edited])
      .returning();
    const version = stored.find((row) => row.version === edited.version);
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

// ── Outbound messages ────────────────────────────────────────────────────────

/** Statuses after which a part is on the platform and must never be sent again. */
export const deliveredStatuses = ["sent", "delivered", "read"] as const satisfies Message["status"][];

export function isOnPlatform(message: Pick<Message, "status">): boolean {
  return (deliveredStatuses as readonly string[]).includes(message.status);
}

export async function getMessage(db: Db, workspaceId: string, id: string): Promise<Message | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await db
    .select()
    .from(message)
    .where(and(eq(message.workspaceId, workspaceId), eq(message.id, id)));
  return row;
}

/** Messages by id alone, for pipeline code that already knows their workspace. */
export async function findMessages(db: Db, ids: readonly string[]): Promise<Message[]> {
  if (ids.length === 0) return [];
  return db
    .select()
    .from(message)
    .where(inArray(message.id, [...ids]));
}

export async function requireMessage(db: Db, workspaceId: string, id: string): Promise<Message> {
  const row = await getMessage(db, workspaceId, id);
  if (!row) throw new AppError("message_not_found", { id });
  return row;
}

/** The first part of the message created under `key` in this workspace (its request's Idempotency-Key). */
export async function findMessageByIdempotencyKey(
  db: Db,
  workspaceId: string,
  key: string,
): Promise<Message | undefined> {
  const [row] = await db
    .select()
    .from(message)
    .where(and(eq(message.workspaceId, workspaceId), eq(message.idempotencyKey, key)));
  return row;
}

/**
 * Stores an outbound message as its ordered parts (the first part first, carrying the
 * idempotency key), all in one transaction, before anything is sent. When the first part's
 * idempotency key is already taken, nothing is stored and the existing first part is returned.
 */
export async function insertOutboundMessage(
  db: Db,
  parts: readonly NewMessage[],
): Promise<{ head: Message; created: boolean }> {
  const [first, ...rest] = parts;
  if (!first) throw new RangeError("an outbound message has at least one part");
  return db.transaction(async (tx) => {
    const [head] = await tx.insert(message).values(first).onConflictDoNothing().returning();
    if (!head) {
      const existing = await findMessageByIdempotencyKey(tx, first.workspaceId, first.idempotencyKey ?? "");
      if (!existing)
        throw new Error("an outbound message conflicted on something else than its idempotency key");
      return { head: existing, created: false };
    }
    if (rest.length > 0) await tx.insert(message).values(rest);
    await touchConversations(tx, [{ conversationId: head.conversationId, at: head.sentAt }]);
    return { head, created: true };
  });
}

/** Every part of the message whose first part is `headId`, in order (the first part included). */
export async function listParts(db: Db, headId: string): Promise<Message[]> {
  return db
    .select()
    .from(message)
    .where(or(eq(message.id, headId), eq(message.partOf, headId)))
    .orderBy(asc(message.part));
}

/**
 * How long a part stays `sending` before a dispatcher may take it over: a send that has not
 * finished by then is presumed dead with its process (the platform's idempotency key makes a
 * second attempt harmless; see docs/sending.md).
 */
export const sendLeaseMs = 60_000;

/** A part is about to go to the platform: `sending`, leased, one more attempt. */
export async function markSending(db: Db, id: string, leaseMs = sendLeaseMs): Promise<void> {
  const now = new Date();
  await db
    .update(message)
    .set({
      status: "sending",
      attempts: sql`${message.attempts} + 1`,
      notBefore: new Date(now.getTime() + leaseMs),
      updatedAt: now,
    })
    .where(eq(message.id, id));
}

/** Extends the leases of messages still `sending` by `leaseMs` from now. */
export async function renewLeases(db: Db, ids: readonly string[], leaseMs = sendLeaseMs): Promise<void> {
  if (ids.length === 0) return;
  await db
    .update(message)
    .set({ notBefore: new Date(Date.now() + leaseMs) })
    .where(and(inArray(message.id, [...ids]), eq(message.status, "sending")));
}

export async function setAttachments(db: Db, id: string, attachments: Attachment[]): Promise<void> {
  await db.update(message).set({ attachments, updatedAt: new Date() }).where(eq(message.id, id));
}

/**
 * Whether the hub is sending `text` into a conversation: a message of its own, not yet recorded as
 * sent. A community comment with that text is then most likely the echo of that send.
 */
export async function isHubSendingText(db: Db, conversationId: string, text: string): Promise<boolean> {
  const [row] = await db
    .select({ id: message.id })
    .from(message)
    .where(
      and(
        eq(message.conversationId, conversationId),
        eq(message.direction, "outbound"),
        ne(message.authorKind, "platform_admin"),
        isNull(message.externalId),
        inArray(message.status, ["queued", "sending"]),
        eq(message.text, text),
      ),
    )
    .limit(1);
  return row !== undefined;
}

/**
 * The platform took these parts: `sent`, each with its platform id (unless its echo already set
 * one) and link. A comment's echo carries nothing of ours, so when intake stored it first as the
 * community's own comment, that copy gives way to this row. Only a comment (a send with a link)
 * can have such a copy: a message's echo is matched by its send key. Deleting it is a statement
 * of its own, run first, so run this in a transaction: as a data-modifying WITH that nothing
 * reads, PostgreSQL would run it after the update, whose platform id the copy still held.
 *
 * Any other row holding one of these platform ids breaks `message_external_key`. Only a store
 * that outlived the platform's numbering has such rows (restored from an old backup, or beside
 * an emulator started afresh), so callers retry with `takeOverExternalIds`, which first takes the
 * ids from them: the platform's latest answer is the truth.
 */
export async function markSent(
  db: Db,
  rows: readonly { row: Pick<Message, "id" | "channelAccountId">; sent: SentOnPlatform }[],
  options: { takeOverExternalIds?: boolean } = {},
): Promise<void> {
  if (rows.length === 0) return;
  const now = new Date().toISOString();
  const valuesOf = (some: typeof rows) =>
    sql.join(
      some.map(
        ({ row, sent }) =>
          sql`(${row.id}::uuid, ${row.channelAccountId}::uuid, ${sent.externalId}::text, ${sent.link ?? null}::text)`,
      ),
      sql`, `,
    );
  const comments = rows.filter(({ sent }) => sent.link && sent.externalId);
  if (comments.length > 0)
    await db.execute(sql`
      delete from message m
      using (values ${valuesOf(comments)}) as sent(id, channel_account_id, external_id, link)
      where m.channel_account_id = sent.channel_account_id
        and m.direction = 'outbound'
        and m.external_id = sent.external_id
        and m.author_kind = 'platform_admin'
        and m.id <> sent.id`);
  if (options.takeOverExternalIds)
    await db.execute(sql`
      update message m set external_id = null, updated_at = ${now}::timestamptz
      from (values ${valuesOf(rows)}) as sent(id, channel_account_id, external_id, link)
      where m.channel_account_id = sent.channel_account_id
        and m.direction = 'outbound'
        and m.external_id = sent.external_id
        and m.id <> sent.id`);
  await db.execute(sql`
    update message set
      status = 'sent',
      error_code = null,
      not_before = null,
      dispatched_at = ${now}::timestamptz,
      external_id = coalesce(message.external_id, sent.external_id),
      link = coalesce(sent.link, message.link),
      updated_at = ${now}::timestamptz
    from (values ${valuesOf(rows)}) as sent(id, channel_account_id, external_id, link)
    where message.id = sent.id`);
}

/** What the platform's answer to a send tells (the adapter's `SentMessage`). */
export interface SentOnPlatform {
  externalId: string | null;
  link?: string | undefined;
}

/**
 * Parts that did not go out: `queued` for the dispatcher to try again from `retryAt`, or
 * `failed`, with the reason's code.
 */
export async function markUnsent(
  db: Db,
  ids: readonly string[],
  outcome: { status: "queued"; retryAt: Date } | { status: "failed" },
  errorCode: string,
): Promise<void> {
  if (ids.length === 0) return;
  await db
    .update(message)
    .set({
      status: outcome.status,
      errorCode,
      notBefore: outcome.status === "queued" ? outcome.retryAt : null,
      updatedAt: new Date(),
    })
    .where(inArray(message.id, [...ids]));
}

/**
 * Records an edit made through the hub (and sent to the platform) as the next version. When the
 * platform's echo of this very edit was applied first, as a `platform` version with the same
 * content, that version is ours: it is relabelled instead of a second one being added.
 */
export async function recordHubEdit(
  db: Db,
  messageId: string,
  edit: { text: string | null; attachments: Attachment[]; keyboard?: Record<string, unknown> | null },
): Promise<void> {
  await db.transaction(async (tx) => {
    const [current] = await tx.select().from(message).where(eq(message.id, messageId)).for("update");
    if (!current) throw new Error(`message ${messageId} does not exist`);
    if (edit.keyboard !== undefined)
      await tx.update(message).set({ keyboard: edit.keyboard }).where(eq(message.id, messageId));
    const [latest] = await tx
      .select()
      .from(messageVersion)
      .where(eq(messageVersion.messageId, messageId))
      .orderBy(desc(messageVersion.version))
      .limit(1);
    const echoed =
      latest?.source === "platform" &&
      current.text === edit.text &&
      sameAttachmentIdentity(current.attachments, edit.attachments);
    if (echoed) {
      await tx.update(messageVersion).set({ source: "hub" }).where(eq(messageVersion.id, latest.id));
      await tx
        .update(message)
        .set({ attachments: edit.attachments, updatedAt: new Date() })
        .where(eq(message.id, messageId));
      return;
    }
    await recordEdit(tx, messageId, { text: edit.text, attachments: edit.attachments, source: "hub" });
  });
}

/**
 * Whether two attachment lists name the same media, however each side wrote them: by the media's
 * owner and id (`photo-1_2_key`, `doc-1_2`, and VK's `audio_message-1_2` for a voice sent as
 * `doc-1_2` are one), else by URL.
 */
export function sameAttachmentIdentity(a: readonly Attachment[], b: readonly Attachment[]): boolean {
  const identity = (item: Attachment) => /(-?\d+_\d+)/.exec(item.externalId ?? "")?.[1] ?? item.url ?? "";
  return JSON.stringify(a.map(identity)) === JSON.stringify(b.map(identity));
}

/** Outbound messages of a channel waiting to go out or going out now. */
export async function countOutboundInFlight(db: Db, channelAccountId: string): Promise<number> {
  return db.$count(
    message,
    and(
      eq(message.channelAccountId, channelAccountId),
      eq(message.direction, "outbound"),
      inArray(message.status, ["queued", "sending"]),
    ),
  );
}

/** The newest comment a client left in a comments conversation that is still there. */
export async function latestClientComment(db: Db, conversationId: string): Promise<Message | undefined> {
  const [row] = await db
    .select()
    .from(message)
    .where(
      and(
        eq(message.conversationId, conversationId),
        eq(message.direction, "inbound"),
        isNull(message.deletedAt),
        isNotNull(message.externalId),
      ),
    )
    .orderBy(desc(message.sentAt), desc(message.id))
    .limit(1);
  return row;
}

/**
 * Who a conversation's outbound messages go to on `channel`: the contact's identity on the
 * channel's platform, and whether that client refused this channel's messages. When the contact
 * has several (after a merge): the one that last wrote in the conversation, else the oldest that
 * did not refuse.
 */
export async function outboundRecipient(
  db: Db,
  conv: { id: string; contactId: string | null },
  channel: { id: string; kind: ContactIdentity["channelKind"] },
): Promise<{ identity: ContactIdentity; consent: "allowed" | "denied" | null } | undefined> {
  if (!conv.contactId) return undefined;
  const identities = await db
    .select({ identity: contactIdentity, consent: contactConsent.state })
    .from(contactIdentity)
    .leftJoin(
      contactConsent,
      and(eq(contactConsent.identityId, contactIdentity.id), eq(contactConsent.channelAccountId, channel.id)),
    )
    .where(and(eq(contactIdentity.contactId, conv.contactId), eq(contactIdentity.channelKind, channel.kind)))
    .orderBy(asc(contactIdentity.createdAt), asc(contactIdentity.id));
  let chosen = identities.find((i) => i.consent !== "denied") ?? identities[0];
  if (identities.length > 1) {
    const [lastInbound] = await db
      .select({ authorRef: message.authorRef })
      .from(message)
      .where(and(eq(message.conversationId, conv.id), eq(message.direction, "inbound")))
      .orderBy(desc(message.sentAt), desc(message.id))
      .limit(1);
    chosen = identities.find((i) => i.identity.externalId === lastInbound?.authorRef) ?? chosen;
  }
  return chosen ? { identity: chosen.identity, consent: chosen.consent } : undefined;
}
