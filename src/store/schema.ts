import { sql } from "drizzle-orm";
import {
  type AnyPgColumn,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { v7 as uuidv7 } from "uuid";
import type { TemplateBody, TemplateVariable } from "../core/template.ts";

/**
 * The one schema of both stores (PGlite and PostgreSQL). Ids are UUIDv7: unique without a
 * round trip, and ordered by creation time, which gives every list a stable keyset order.
 * Times keep milliseconds, as JavaScript's Date does, so a time read back compares equal to the
 * stored one (keyset cursors depend on it).
 */

const id = () =>
  uuid("id")
    .primaryKey()
    .$defaultFn(() => uuidv7());
const createdAt = () => timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow();
const updatedAt = () => timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull().defaultNow();
const workspaceId = () =>
  uuid("workspace_id")
    .notNull()
    .references(() => workspace.id, { onDelete: "cascade" });

/** Channel kinds tried in this order when a message names no routes (`workspace.route_order`). */
export const defaultRouteOrder = ["whatsapp_cloud", "whatsapp_web", "telegram", "vk", "ok", "email"] as const;

export const workspace = pgTable("workspace", {
  id: id(),
  name: text("name").notNull(),
  routeOrder: jsonb("route_order")
    .$type<string[]>()
    .notNull()
    .default([...defaultRouteOrder]),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const apiKey = pgTable(
  "api_key",
  {
    id: id(),
    workspaceId: workspaceId(),
    name: text("name").notNull(),
    /** The first characters of the key, shown in lists so a person can tell keys apart. */
    prefix: text("prefix").notNull(),
    /** SHA-256 of the whole key; the key itself is shown once and never stored. */
    hash: text("hash").notNull(),
    admin: boolean("admin").notNull().default(false),
    createdAt: createdAt(),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true, precision: 3 }),
    revokedAt: timestamp("revoked_at", { withTimezone: true, precision: 3 }),
  },
  (t) => [uniqueIndex("api_key_hash_key").on(t.hash), index("api_key_workspace_idx").on(t.workspaceId, t.id)],
);

export const channelKinds = ["vk", "telegram", "whatsapp_web", "whatsapp_cloud", "ok", "email"] as const;
export const connectionStates = [
  "connecting",
  "online",
  "sleeping",
  "failing",
  "replaced",
  "logged_out",
  "disabled",
] as const;

export const channelAccount = pgTable(
  "channel_account",
  {
    id: id(),
    workspaceId: workspaceId(),
    kind: text("kind", { enum: channelKinds }).notNull(),
    /** The platform's id of the account: VK group id, bot id, phone number, mailbox. */
    externalId: text("external_id").notNull(),
    name: text("name").notNull(),
    /** Tokens and passwords, sealed with the hub's secret key (see secret-box.ts). */
    credentials: text("credentials"),
    settings: jsonb("settings").$type<Record<string, unknown>>().notNull().default({}),
    limits: jsonb("limits").$type<Record<string, unknown>>().notNull().default({}),
    state: text("state", { enum: connectionStates }).notNull().default("connecting"),
    stateReason: text("state_reason"),
    stateChangedAt: timestamp("state_changed_at", { withTimezone: true, precision: 3 })
      .notNull()
      .defaultNow(),
    lastEventAt: timestamp("last_event_at", { withTimezone: true, precision: 3 }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("channel_account_external_key").on(t.workspaceId, t.kind, t.externalId),
    index("channel_account_workspace_idx").on(t.workspaceId, t.id),
  ],
);

export const contact = pgTable(
  "contact",
  {
    id: id(),
    workspaceId: workspaceId(),
    name: text("name"),
    /** E.164, validated and normalised before it is stored. */
    phone: text("phone"),
    email: text("email"),
    customFields: jsonb("custom_fields").$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("contact_workspace_idx").on(t.workspaceId, t.id),
    index("contact_phone_idx").on(t.workspaceId, t.phone),
    // A sync pass: the least recently changed first (`order=updated`).
    index("contact_updated_idx").on(t.workspaceId, t.updatedAt, t.id),
  ],
);

export const contactIdentity = pgTable(
  "contact_identity",
  {
    id: id(),
    workspaceId: workspaceId(),
    contactId: uuid("contact_id")
      .notNull()
      .references(() => contact.id, { onDelete: "cascade" }),
    channelKind: text("channel_kind", { enum: channelKinds }).notNull(),
    /** The platform's user id: VK user id, Telegram user id, WhatsApp number, e-mail address. */
    externalId: text("external_id").notNull(),
    displayName: text("display_name"),
    /** What the client's app can show (VK `client_info`: keyboards, carousels...). */
    capabilities: jsonb("capabilities").$type<Record<string, unknown>>(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("contact_identity_external_key").on(t.workspaceId, t.channelKind, t.externalId),
    index("contact_identity_contact_idx").on(t.contactId),
  ],
);

export const consentStates = ["allowed", "denied"] as const;

/** Whether a client accepts messages from one channel account (VK message_allow/deny). */
export const contactConsent = pgTable(
  "contact_consent",
  {
    identityId: uuid("identity_id")
      .notNull()
      .references(() => contactIdentity.id, { onDelete: "cascade" }),
    channelAccountId: uuid("channel_account_id")
      .notNull()
      .references(() => channelAccount.id, { onDelete: "cascade" }),
    state: text("state", { enum: consentStates }).notNull(),
    changedAt: timestamp("changed_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.identityId, t.channelAccountId] })],
);

export const conversationKinds = ["direct", "comments", "lead"] as const;
export const conversationStatuses = ["open", "pending", "resolved"] as const;

export const conversation = pgTable(
  "conversation",
  {
    id: id(),
    workspaceId: workspaceId(),
    channelAccountId: uuid("channel_account_id")
      .notNull()
      .references(() => channelAccount.id, { onDelete: "cascade" }),
    /** The client; for a `comments` thread, its first commenter (null while only the community wrote). */
    contactId: uuid("contact_id").references(() => contact.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: conversationKinds }).notNull(),
    /** For `comments`: the publication (e.g. `wall-123_456`); for `lead`: the form. */
    externalRef: text("external_ref"),
    status: text("status", { enum: conversationStatuses }).notNull().default("open"),
    assignee: text("assignee"),
    replyWindowEndsAt: timestamp("reply_window_ends_at", { withTimezone: true, precision: 3 }),
    lastMessageAt: timestamp("last_message_at", { withTimezone: true, precision: 3 }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("conversation_workspace_idx").on(t.workspaceId, t.id),
    // The inbox's order: the latest message first (`lastActivity` in repositories/conversations.ts).
    index("conversation_activity_idx").on(
      t.workspaceId,
      sql`coalesce(${t.lastMessageAt}, ${t.createdAt}) desc`,
      sql`${t.id} desc`,
    ),
    // An inbox of one status, and an operator's own: the same order within a status or an assignee.
    index("conversation_status_activity_idx").on(
      t.workspaceId,
      t.status,
      sql`coalesce(${t.lastMessageAt}, ${t.createdAt}) desc`,
      sql`${t.id} desc`,
    ),
    index("conversation_assignee_activity_idx")
      .on(
        t.workspaceId,
        t.assignee,
        t.status,
        sql`coalesce(${t.lastMessageAt}, ${t.createdAt}) desc`,
        sql`${t.id} desc`,
      )
      .where(sql`assignee is not null`),
    // A sync pass: the least recently changed first (`order=updated`).
    index("conversation_updated_idx").on(t.workspaceId, t.updatedAt, t.id),
    index("conversation_contact_idx").on(t.contactId),
    // Intake reuses the one open direct conversation of a contact on a channel.
    uniqueIndex("conversation_open_direct_key")
      .on(t.channelAccountId, t.contactId)
      .where(sql`kind = 'direct' and status <> 'resolved'`),
    // One comments conversation per publication (Planfix: one task per post).
    uniqueIndex("conversation_publication_key")
      .on(t.channelAccountId, t.externalRef)
      .where(sql`kind = 'comments'`),
  ],
);

export const messageDirections = ["inbound", "outbound"] as const;
export const authorKinds = ["contact", "operator", "bot", "api", "platform_admin"] as const;
export const messageStatuses = [
  "received",
  "queued",
  "sending",
  "sent",
  "delivered",
  "read",
  "failed",
  "expired",
  "rate_limited",
] as const;
/** In the order the dispatcher serves them: a reply overtakes queued notifications and bulk. */
export const messagePriorities = ["reply", "notification", "bulk"] as const;

export interface Attachment {
  kind: string;
  url?: string;
  name?: string;
  mimeType?: string;
  size?: number;
  externalId?: string;
}

/**
 * What a message of the send API sends through one channel kind, when its template gave each kind
 * its own: the text (null when blank: the attachments go alone) and the keyboard (the request's own
 * for every kind, else the one of the template's body for that kind).
 */
export interface MessageBody<K = Record<string, unknown>> {
  text: string | null;
  keyboard: K | null;
}

export const message = pgTable(
  "message",
  {
    id: id(),
    workspaceId: workspaceId(),
    conversationId: uuid("conversation_id").references(() => conversation.id, { onDelete: "cascade" }),
    channelAccountId: uuid("channel_account_id").references(() => channelAccount.id, {
      onDelete: "set null",
    }),
    contactId: uuid("contact_id").references(() => contact.id, { onDelete: "set null" }),
    direction: text("direction", { enum: messageDirections }).notNull(),
    authorKind: text("author_kind", { enum: authorKinds }).notNull(),
    authorRef: text("author_ref"),
    text: text("text"),
    attachments: jsonb("attachments").$type<Attachment[]>().notNull().default([]),
    /** The platform's message id, once known. */
    externalId: text("external_id"),
    /** The idempotency value sent to the platform with it (VK `random_id`), to recognise its echo. */
    sendKey: text("send_key"),
    /** Where a person sees it on the platform (a comment's page). */
    link: text("link"),
    deletedAt: timestamp("deleted_at", { withTimezone: true, precision: 3 }),
    status: text("status", { enum: messageStatuses }).notNull(),
    errorCode: text("error_code"),
    /**
     * The channel accounts a message of the send API may go through, in order; `channel_account_id`
     * is the one in use (`routes[route_index]`). Only one of them finally delivers it.
     */
    routes: jsonb("routes").$type<string[]>().notNull().default([]),
    routeIndex: integer("route_index").notNull().default(0),
    priority: text("priority", { enum: messagePriorities }).notNull().default("reply"),
    /** `priority` as the dispatcher sorts it (0 = reply), so the queue index serves it in order. */
    queueRank: integer("queue_rank").notNull().default(0),
    /**
     * When a dispatcher may take the message: for `queued`, when it is due (a back-off or a quota
     * may push it later); for `sending`, when its lease ends and another dispatcher may take over
     * a send whose process died.
     */
    notBefore: timestamp("not_before", { withTimezone: true, precision: 3 }),
    /** Not on the platform by then: `expired` (the request's `ttl`). */
    expiresAt: timestamp("expires_at", { withTimezone: true, precision: 3 }),
    /** When the platform took it; counts against per-recipient daily quotas. */
    dispatchedAt: timestamp("dispatched_at", { withTimezone: true, precision: 3 }),
    attempts: integer("attempts").notNull().default(0),
    idempotencyKey: text("idempotency_key"),
    /** What the request asked for, hashed, to tell a repeat from a different message reusing the key. */
    requestHash: text("request_hash"),
    /**
     * The template it was rendered from, and its body for the kind of each of its routes: a move
     * to the next route takes that route's body into `text` and `keyboard`.
     */
    template: text("template"),
    bodyByKind: jsonb("body_by_kind").$type<Partial<Record<(typeof channelKinds)[number], MessageBody>>>(),
    callbackUrl: text("callback_url"),
    callbackData: jsonb("callback_data"),
    /**
     * A text longer than one platform message is sent as ordered parts, one row each (its own
     * send key, platform id and status): `part` counts from 0, and every part after the first
     * names the first in `partOf`. The first part carries the request's idempotency key.
     */
    part: integer("part").notNull().default(0),
    partOf: uuid("part_of").references((): AnyPgColumn => message.id, { onDelete: "cascade" }),
    /**
     * The platform-neutral keyboard sent with it (kept so a retry or an edit sends the same); for a
     * message still on its way, the one its current route will send.
     */
    keyboard: jsonb("keyboard").$type<Record<string, unknown>>(),
    /** The message this one answers (a comment replied to). */
    replyToMessageId: uuid("reply_to_message_id").references((): AnyPgColumn => message.id, {
      onDelete: "set null",
    }),
    /** When the message was written on the platform (inbound) or accepted (outbound). */
    sentAt: timestamp("sent_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("message_external_key").on(t.channelAccountId, t.direction, t.externalId),
    // Most messages (every one a client writes) have none of these: their rows stay out.
    uniqueIndex("message_idempotency_key")
      .on(t.workspaceId, t.idempotencyKey)
      .where(sql`idempotency_key is not null`),
    uniqueIndex("message_send_key").on(t.channelAccountId, t.sendKey).where(sql`send_key is not null`),
    index("message_conversation_idx").on(t.conversationId, t.sentAt, t.id),
    index("message_part_of_idx").on(t.partOf, t.part).where(sql`part_of is not null`),
    // The dispatcher's queue: what an account still has to send, in the order it serves it.
    index("message_queue_idx")
      .on(t.channelAccountId, t.queueRank, t.notBefore, t.id)
      .where(sql`status in ('queued', 'sending')`),
    // Sends whose dispatcher died are taken over first, as soon as their lease ends.
    index("message_leased_idx").on(t.channelAccountId, t.notBefore).where(sql`status = 'sending'`),
    index("message_quota_idx")
      .on(t.channelAccountId, t.contactId, t.dispatchedAt)
      .where(sql`dispatched_at is not null and queue_rank > 0`),
  ],
);

/**
 * Every status an outbound message went through, with its time and reason, written by a trigger
 * on `message` (migration 0004_message_status_trigger) so that no code path can change a status without a trace.
 */
export const messageStatusChange = pgTable(
  "message_status_change",
  {
    /** Increasing in the order the changes were written, which orders a message's history exactly. */
    id: bigserial("id", { mode: "number" }).primaryKey(),
    messageId: uuid("message_id")
      .notNull()
      .references(() => message.id, { onDelete: "cascade" }),
    status: text("status", { enum: messageStatuses }).notNull(),
    errorCode: text("error_code"),
    channelAccountId: uuid("channel_account_id"),
    at: timestamp("at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index("message_status_change_message_idx").on(t.messageId, t.id)],
);

export const messageVersion = pgTable(
  "message_version",
  {
    id: id(),
    messageId: uuid("message_id")
      .notNull()
      .references(() => message.id, { onDelete: "cascade" }),
    version: integer("version").notNull(),
    text: text("text"),
    attachments: jsonb("attachments").$type<Attachment[]>().notNull().default([]),
    /** Where the edit came from: the platform (client or admin) or the hub's API. */
    source: text("source", { enum: ["platform", "hub"] }).notNull(),
    editedAt: timestamp("edited_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("message_version_key").on(t.messageId, t.version)],
);

export const inboundOutcomes = ["applied", "duplicate", "unsupported", "failed"] as const;

/** A platform's event exactly as it arrived, stored before it is acknowledged. */
export const inboundEvent = pgTable(
  "inbound_event",
  {
    id: id(),
    channelAccountId: uuid("channel_account_id")
      .notNull()
      .references(() => channelAccount.id, { onDelete: "cascade" }),
    externalEventId: text("external_event_id").notNull(),
    eventType: text("event_type").notNull(),
    payload: jsonb("payload").notNull(),
    receivedAt: timestamp("received_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    /** The platform's retry number (VK `X-Retry-Counter`) of the delivery that was stored. */
    retryCounter: integer("retry_counter"),
    /** Set when a worker takes the event; another worker may take it again after this time. */
    leasedUntil: timestamp("leased_until", { withTimezone: true, precision: 3 }),
    processedAt: timestamp("processed_at", { withTimezone: true, precision: 3 }),
    outcome: text("outcome", { enum: inboundOutcomes }),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
  },
  (t) => [
    uniqueIndex("inbound_event_external_key").on(t.channelAccountId, t.externalEventId),
    index("inbound_event_pending_idx").on(t.receivedAt).where(sql`processed_at is null`),
  ],
);

/** A lead form submission (VK `lead_forms_new`), with the answers as the client gave them. */
export const lead = pgTable(
  "lead",
  {
    id: id(),
    workspaceId: workspaceId(),
    channelAccountId: uuid("channel_account_id")
      .notNull()
      .references(() => channelAccount.id, { onDelete: "cascade" }),
    contactId: uuid("contact_id").references(() => contact.id, { onDelete: "set null" }),
    conversationId: uuid("conversation_id").references(() => conversation.id, { onDelete: "set null" }),
    externalId: text("external_id").notNull(),
    formId: text("form_id").notNull(),
    formName: text("form_name"),
    answers: jsonb("answers").$type<LeadAnswer[]>().notNull(),
    receivedAt: timestamp("received_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("lead_external_key").on(t.channelAccountId, t.externalId),
    index("lead_workspace_idx").on(t.workspaceId, t.id),
  ],
);

export interface LeadAnswer {
  key: string;
  question: string;
  answer: string;
}

export const contactEventKinds = [
  "button_pressed",
  "consent_changed",
  "joined_community",
  "left_community",
] as const;

/** Something a client did that is not a message: pressed a button, joined, allowed messages. */
export const contactEvent = pgTable(
  "contact_event",
  {
    id: id(),
    workspaceId: workspaceId(),
    channelAccountId: uuid("channel_account_id")
      .notNull()
      .references(() => channelAccount.id, { onDelete: "cascade" }),
    contactId: uuid("contact_id")
      .notNull()
      .references(() => contact.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: contactEventKinds }).notNull(),
    data: jsonb("data").$type<Record<string, unknown>>().notNull().default({}),
    /** The inbound event it came from; makes reprocessing idempotent. */
    inboundEventId: uuid("inbound_event_id").references(() => inboundEvent.id, { onDelete: "set null" }),
    occurredAt: timestamp("occurred_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    index("contact_event_contact_idx").on(t.contactId, t.id),
    uniqueIndex("contact_event_inbound_key").on(t.inboundEventId),
  ],
);

/** The first answer to a POST with an `Idempotency-Key`, replayed for repeats. */
export const idempotencyRecord = pgTable(
  "idempotency_record",
  {
    workspaceId: workspaceId(),
    key: text("key").notNull(),
    requestHash: text("request_hash").notNull(),
    /** Null while the first request is still being handled. */
    responseStatus: integer("response_status"),
    responseBody: text("response_body"),
    /** Headers that belong to the answer (`Retry-After`), replayed with it. */
    responseHeaders: jsonb("response_headers").$type<Record<string, string>>(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.key] }),
    index("idempotency_record_created_idx").on(t.createdAt),
  ],
);

/** A template body as stored: its keyboard is the platform-neutral one (`channels/keyboard.ts`). */
export type StoredTemplateBody = TemplateBody<Record<string, unknown>>;

/**
 * A message template of a workspace: declared variables, a body per channel kind and a fallback
 * body for the other kinds. Validated (src/core/template.ts) before every write.
 */
export const template = pgTable(
  "template",
  {
    id: id(),
    workspaceId: workspaceId(),
    /** How sends refer to it (`template`, Devino's `tmpl`); unique in the workspace, case-sensitive. */
    name: text("name").notNull(),
    description: text("description"),
    variables: jsonb("variables").$type<TemplateVariable[]>().notNull().default([]),
    bodies: jsonb("bodies")
      .$type<Partial<Record<(typeof channelKinds)[number], StoredTemplateBody>>>()
      .notNull()
      .default({}),
    fallback: jsonb("fallback").$type<StoredTemplateBody>(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("template_name_key").on(t.workspaceId, t.name),
    index("template_workspace_idx").on(t.workspaceId, t.id),
  ],
);
// ── Outgoing webhooks ────────────────────────────────────────────────────────

/** A workspace's subscriber: where events go, which ones, signed with its own secret. */
export const webhookEndpoint = pgTable(
  "webhook_endpoint",
  {
    id: id(),
    workspaceId: workspaceId(),
    url: text("url").notNull(),
    description: text("description"),
    /** The event types it receives; null for every type. */
    eventTypes: jsonb("event_types").$type<string[]>(),
    /** The channels whose events it receives; null for every channel (and events of none). */
    channelIds: jsonb("channel_ids").$type<string[]>(),
    /** Sent with every request (a receiver's own auth header, say); never a `webhook-*` header. */
    headers: jsonb("headers").$type<Record<string, string>>().notNull().default({}),
    enabled: boolean("enabled").notNull().default(true),
    disabledReason: text("disabled_reason"),
    disabledAt: timestamp("disabled_at", { withTimezone: true, precision: 3 }),
    /** The signing secret (`whsec_…`), sealed with the hub's key (see secret-box.ts). */
    secret: text("secret").notNull(),
    /** The secret before the last rotation, still signing until `previousSecretExpiresAt`. */
    previousSecret: text("previous_secret"),
    previousSecretExpiresAt: timestamp("previous_secret_expires_at", { withTimezone: true, precision: 3 }),
    /** The first failure since the last success; an endpoint failing long enough is disabled. */
    failingSince: timestamp("failing_since", { withTimezone: true, precision: 3 }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("webhook_endpoint_workspace_idx").on(t.workspaceId, t.id)],
);

/** A workspace's webhook policy and the secret that signs ad hoc callbacks (`status_url`). */
export const webhookSettings = pgTable("webhook_settings", {
  workspaceId: uuid("workspace_id")
    .primaryKey()
    .references(() => workspace.id, { onDelete: "cascade" }),
  /** Seconds before each retry after a failed attempt; null for the hub's default. */
  retrySchedule: jsonb("retry_schedule").$type<number[]>(),
  /** Hours of nothing but failures after which an endpoint is disabled; null for the default. */
  disableAfterHours: integer("disable_after_hours"),
  callbackSecret: text("callback_secret").notNull(),
  /** When `callbackSecret` was made: the settings' first use, or the last rotation. */
  callbackSecretRotatedAt: timestamp("callback_secret_rotated_at", { withTimezone: true, precision: 3 })
    .notNull()
    .defaultNow(),
  previousCallbackSecret: text("previous_callback_secret"),
  previousCallbackSecretExpiresAt: timestamp("previous_callback_secret_expires_at", {
    withTimezone: true,
    precision: 3,
  }),
  updatedAt: updatedAt(),
});

/**
 * Something that happened, exactly as it is sent: `payload` is the body of every request that
 * carries it, and the id is its `webhook-id`. Ad hoc callbacks (`type` `callback`) are events too.
 */
export const webhookEvent = pgTable(
  "webhook_event",
  {
    id: id(),
    workspaceId: workspaceId(),
    type: text("type").notNull(),
    /** Events sharing a key (a conversation's) reach each receiver in the order they happened. */
    orderingKey: text("ordering_key"),
    channelId: uuid("channel_id"),
    payload: jsonb("payload").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index("webhook_event_workspace_idx").on(t.workspaceId, t.id),
    index("webhook_event_type_idx").on(t.workspaceId, t.type, t.id),
  ],
);

export const deliveryStates = ["pending", "sending", "succeeded", "failed"] as const;
export const attemptTriggers = ["scheduled", "manual"] as const;

/** One event on its way to one receiver: an endpoint, or the URL of an ad hoc callback. */
export const webhookDelivery = pgTable(
  "webhook_delivery",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    workspaceId: workspaceId(),
    eventId: uuid("event_id")
      .notNull()
      .references(() => webhookEvent.id, { onDelete: "cascade" }),
    endpointId: uuid("endpoint_id").references(() => webhookEndpoint.id, { onDelete: "cascade" }),
    /** Where a callback goes; null for an endpoint's delivery (its URL may change meanwhile). */
    url: text("url"),
    /** Who receives it, for the concurrency limit: the endpoint's id or the callback URL. */
    target: text("target").notNull(),
    /** Deliveries of one stream go one at a time, in event order; null when order does not matter. */
    stream: text("stream"),
    state: text("state", { enum: deliveryStates }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    /** `manual` once a person asked for it again (replay, recovery); the attempts log says so. */
    trigger: text("trigger", { enum: attemptTriggers }).notNull().default("scheduled"),
    /** Null while its endpoint is paused or disabled: it waits, unscheduled, until it is enabled. */
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true, precision: 3 }).defaultNow(),
    /** While `sending`: when the worker's claim runs out and another worker may take it over. */
    leaseUntil: timestamp("lease_until", { withTimezone: true, precision: 3 }),
    lastError: text("last_error"),
    createdAt: createdAt(),
    finishedAt: timestamp("finished_at", { withTimezone: true, precision: 3 }),
  },
  (t) => [
    uniqueIndex("webhook_delivery_endpoint_key").on(t.eventId, t.endpointId),
    index("webhook_delivery_due_idx").on(t.nextAttemptAt).where(sql`state in ('pending', 'sending')`),
    index("webhook_delivery_stream_idx").on(t.stream, t.eventId).where(sql`state in ('pending', 'sending')`),
    index("webhook_delivery_target_idx").on(t.target).where(sql`state = 'sending'`),
    index("webhook_delivery_endpoint_idx").on(t.endpointId, t.state, t.eventId),
  ],
);

export const attemptOutcomes = ["succeeded", "failed"] as const;

/** One request of a delivery, as the receiver answered it: the log users read. */
export const webhookAttempt = pgTable(
  "webhook_attempt",
  {
    id: id(),
    workspaceId: workspaceId(),
    deliveryId: uuid("delivery_id")
      .notNull()
      .references(() => webhookDelivery.id, { onDelete: "cascade" }),
    eventId: uuid("event_id").notNull(),
    eventType: text("event_type").notNull(),
    endpointId: uuid("endpoint_id"),
    url: text("url").notNull(),
    attempt: integer("attempt").notNull(),
    trigger: text("trigger", { enum: attemptTriggers }).notNull(),
    outcome: text("outcome", { enum: attemptOutcomes }).notNull(),
    /** The HTTP status; null when no answer came (refused, timed out, blocked by the SSRF guard). */
    responseStatus: integer("response_status"),
    /** The first bytes of the answer's body. */
    responseBody: text("response_body"),
    durationMs: integer("duration_ms").notNull(),
    error: text("error"),
    attemptedAt: timestamp("attempted_at", { withTimezone: true, precision: 3 }).notNull(),
  },
  (t) => [
    index("webhook_attempt_endpoint_idx").on(t.endpointId, t.id),
    index("webhook_attempt_event_idx").on(t.eventId, t.id),
    // Deleting deliveries (retention, a deleted endpoint) deletes their attempts: without it,
    // each deleted delivery would scan every attempt.
    index("webhook_attempt_delivery_idx").on(t.deliveryId),
  ],
);

/**
 * A background job that re-sends the failed deliveries since a time of an endpoint, or of the
 * workspace's status callbacks.
 */
export const webhookRecovery = pgTable(
  "webhook_recovery",
  {
    id: id(),
    workspaceId: workspaceId(),
    /** Null: the workspace's status callbacks. */
    endpointId: uuid("endpoint_id").references(() => webhookEndpoint.id, { onDelete: "cascade" }),
    since: timestamp("since", { withTimezone: true, precision: 3 }).notNull(),
    until: timestamp("until", { withTimezone: true, precision: 3 }),
    state: text("state", { enum: ["running", "done"] })
      .notNull()
      .default("running"),
    /** Failed deliveries found in the window, and how many were queued again so far. */
    total: integer("total").notNull().default(0),
    queued: integer("queued").notNull().default(0),
    createdAt: createdAt(),
    finishedAt: timestamp("finished_at", { withTimezone: true, precision: 3 }),
  },
  (t) => [index("webhook_recovery_endpoint_idx").on(t.endpointId, t.id)],
);
