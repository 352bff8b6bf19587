/**
 * The event catalogue and how events are recorded. An event is recorded in the same
 * transaction as the change it describes (pass that transaction's `db`), so a change is never
 * without its event nor an event without its change; the deliveries to every endpoint that
 * wants it are stored with it, and a crash after the commit loses none of them.
 */
import { v7 as uuidv7 } from "uuid";
import { presentChannel } from "../../channels/present.ts";
import { iso } from "../../core/iso.ts";
import { withoutCredentials } from "../../net/egress.ts";
import type { Db } from "../../store/database.ts";
import { idTime } from "../../store/id-time.ts";
import type { ChannelAccount, ChannelStateChanged } from "../../store/repositories/channel-accounts.ts";
import type { ContactWithIdentities } from "../../store/repositories/contacts.ts";
import type { Conversation } from "../../store/repositories/conversations.ts";
import type { Message } from "../../store/repositories/messages.ts";
import type { WebhookEndpoint } from "../../store/repositories/webhooks.ts";
import {
  disableEndpoint,
  insertCallbackDeliveries,
  insertEvents,
} from "../../store/repositories/webhooks.ts";
import type { ContactJson, ConversationJson, LeadJson, MessageJson } from "../objects.ts";
import { presentContact, presentConversation, presentMessage } from "../objects.ts";

/** What each event type carries in `data`: the whole object, as the API shows it. */
export interface EventData {
  /** A client wrote a direct message (or a lead form's answers, as a message). */
  "message.received": {
    message: MessageJson;
    /** The hub's message this one replies to (quotes), when it is one the hub sent. */
    in_reply_to_message_id: string | null;
  };
  "message.sent": { message: MessageJson };
  "message.status_changed": { message: MessageJson; previous_status: MessageJson["status"] };
  "message.edited": { message: MessageJson };
  "message.deleted": { message: MessageJson };
  "message.restored": { message: MessageJson };
  "comment.received": { message: MessageJson; conversation: ConversationJson };
  "conversation.created": { conversation: ConversationJson };
  "conversation.updated": { conversation: ConversationJson };
  "conversation.resolved": { conversation: ConversationJson };
  "lead.received": { lead: LeadJson };
  "contact.created": { contact: ContactJson };
  "contact.updated": { contact: ContactJson; merged?: MergedContact };
  "contact.consent_changed": {
    contact: ContactJson;
    channel_id: string;
    consent: "allowed" | "denied";
  };
  "channel.status_changed": {
    channel: { id: string; kind: string; name: string; state: string; state_reason: string | null } & Record<
      string,
      unknown
    >;
    previous_state: string;
  };
  "webhook.endpoint_disabled": { endpoint: EndpointInEventJson; reason: string };
  "webhook.test": { endpoint_id: string; message: string };
}

export type EventType = keyof EventData;

/** Every event type with what it means, in the order the documentation lists them. */
export const eventCatalogue: Record<EventType, string> = {
  "message.received": "A client wrote a direct message to a channel (a lead form's answers come as one too).",
  "message.sent": "An outgoing message was accepted by the platform.",
  "message.status_changed": "An outgoing message moved to another status (delivered, read, failed...).",
  "message.edited": "A message was edited, on the platform or through the hub.",
  "message.deleted": "A message was deleted, on the platform (a comment) or through the hub.",
  "message.restored": "A deleted comment was restored on the platform.",
  "comment.received": "A comment was written under a publication (one conversation per publication).",
  "conversation.created":
    "A conversation was opened: a client's first message, a publication's first comment, a lead, the hub's first message to a contact on a channel.",
  "conversation.updated": "A conversation's status or assignee changed.",
  "conversation.resolved": "A conversation was resolved (sent besides `conversation.updated`).",
  "lead.received": "A client filled in a lead form.",
  "contact.created": "A contact was created: through the API, or a new client wrote.",
  "contact.updated": "A contact's fields or identities changed.",
  "contact.consent_changed": "A client allowed or denied messages from a channel.",
  "channel.status_changed": "A channel's connection state changed (online, failing, disabled...).",
  "webhook.endpoint_disabled":
    "An endpoint was disabled: it answered 410, or failed every attempt for too long.",
  "webhook.test": "Sent by `POST /v1/webhooks/{id}/test` to that endpoint only.",
};

export const eventTypes = Object.keys(eventCatalogue) as EventType[];

/** The body of every request that carries an event. */
export interface EventEnvelope<T extends EventType = EventType> {
  id: string;
  type: T;
  timestamp: string;
  workspace_id: string;
  data: EventData[T];
}

export type EventInput = {
  [T in EventType]: {
    type: T;
    workspaceId: string;
    data: EventData[T];
    /** Events with one key reach a receiver in order: a conversation's id, else the object's. */
    orderingKey: string | null;
    /** The channel it happened on, for endpoints that filter by channel. */
    channelId: string | null;
  };
}[EventType];

export interface RecordOptions {
  /** Deliver to this endpoint only (a test event), whatever it subscribed to. */
  onlyEndpointId?: string;
  /** Deliver to every endpoint that wants it but this one (the notice of its own disabling). */
  exceptEndpointId?: string;
}

/**
 * Records an event and queues it for every endpoint that wants it. Call it inside the
 * transaction that makes the change. Returns the event's id (its `webhook-id`).
 */
export async function recordEvent(db: Db, input: EventInput, options: RecordOptions = {}): Promise<string> {
  const [id] = await recordEvents(db, [input], options);
  return id as string;
}

/** `recordEvent` for many events at once, in a handful of statements. Returns their ids, in order. */
export async function recordEvents(
  db: Db,
  inputs: readonly EventInput[],
  options: RecordOptions = {},
): Promise<string[]> {
  const events = inputs.map((input) => {
    const { id, createdAt } = newEventIdentity();
    return {
      id,
      createdAt,
      workspaceId: input.workspaceId,
      type: input.type,
      orderingKey: input.orderingKey,
      channelId: input.channelId,
      payload: {
        id,
        type: input.type,
        timestamp: createdAt.toISOString(),
        workspace_id: input.workspaceId,
        data: input.data,
      },
    };
  });
  await insertEvents(db, events, options);
  return events.map((event) => event.id);
}

/** An event's id and its time, one and the same: the time is the id's. */
function newEventIdentity(): { id: string; createdAt: Date } {
  const id = uuidv7();
  return { id, createdAt: idTime(id) };
}

/**
 * The event of a message (for the send pipeline: `message.sent`, `.edited`, `.deleted`), keyed
 * by its conversation so a receiver sees a conversation's events in order.
 */
export function messageEvent(type: "message.sent" | "message.edited" | "message.deleted", row: Message) {
  return {
    type,
    workspaceId: row.workspaceId,
    data: { message: presentMessage(row) },
    orderingKey: row.conversationId ?? row.id,
    channelId: row.channelAccountId,
  } satisfies EventInput;
}

/** `message.status_changed`, with the status the message had before. */
export function statusChangedEvent(row: Message, previousStatus: Message["status"]) {
  return {
    type: "message.status_changed",
    workspaceId: row.workspaceId,
    data: { message: presentMessage(row), previous_status: previousStatus },
    orderingKey: row.conversationId ?? row.id,
    channelId: row.channelAccountId,
  } satisfies EventInput;
}

/** A conversation's event, keyed by the conversation itself. */
export function conversationEvent(
  type: "conversation.created" | "conversation.updated" | "conversation.resolved",
  row: Conversation,
) {
  return {
    type,
    workspaceId: row.workspaceId,
    data: { conversation: presentConversation(row) },
    orderingKey: row.id,
    channelId: row.channelAccountId,
  } satisfies EventInput;
}

/** On a merge's `contact.updated`: the contact merged in (now deleted), and its joined conversations. */
export interface MergedContact {
  contact_id: string;
  conversations: { id: string; into: string }[];
}

/** A contact's event, keyed by the contact. */
export function contactEvent(
  type: "contact.created" | "contact.updated",
  row: ContactWithIdentities,
  merged?: MergedContact,
) {
  return {
    type,
    workspaceId: row.workspaceId,
    data: { contact: presentContact(row), ...(merged ? { merged } : {}) },
    orderingKey: row.id,
    channelId: null,
  } satisfies EventInput;
}

/** `channel.status_changed`: the channel as it is now, and the state it left. */
export function channelStatusEvent(channel: ChannelAccount, previousState: string) {
  return {
    type: "channel.status_changed",
    workspaceId: channel.workspaceId,
    data: { channel: presentChannel(channel), previous_state: previousState },
    orderingKey: channel.id,
    channelId: channel.id,
  } satisfies EventInput;
}

/** For the channel runners: records each state change they make, in its transaction. */
export const recordChannelStatus: ChannelStateChanged = (db, previousState, channel) =>
  recordEvent(db, channelStatusEvent(channel, previousState));

export interface CallbackInput {
  workspaceId: string;
  /** Where to POST; checked against the SSRF policy on every attempt. */
  url: string;
  /** Any JSON value: the request's body exactly. */
  body: unknown;
  /** Callbacks with one key reach the URL in order (a message's id); null when order does not matter. */
  orderingKey: string | null;
}

/**
 * Queues signed POSTs of each `body` to its ad hoc URL (a message's `status_url`), delivered,
 * retried, logged and replayable like events: each is stored as an event of type `callback`, whose
 * id is the request's `webhook-id`. Signed with the workspace's callback secret
 * (`POST /v1/webhook-settings/callback-secret`). Call it inside the change's transaction; three
 * statements however many. Returns the ids, in order.
 */
export async function enqueueCallbacks(db: Db, inputs: readonly CallbackInput[]): Promise<string[]> {
  const callbacks = inputs.map((input) => ({
    url: input.url,
    event: {
      ...newEventIdentity(),
      workspaceId: input.workspaceId,
      type: "callback",
      orderingKey: input.orderingKey,
      channelId: null,
      payload: input.body,
    },
  }));
  await insertCallbackDeliveries(db, callbacks);
  return callbacks.map((callback) => callback.event.id);
}

export type EndpointInEventJson = ReturnType<typeof presentEndpointInEvent>;

/**
 * An endpoint as the API shows it: never its secrets, nor a user name and password in its URL.
 * Migration 0016 moved those of older endpoints into an Authorization header and the API refuses
 * new ones; this covers a row an older hub process writes during a rolling upgrade.
 */
export function presentEndpoint(e: WebhookEndpoint) {
  return {
    id: e.id,
    url: withoutCredentials(e.url),
    description: e.description,
    event_types: e.eventTypes,
    channel_ids: e.channelIds,
    headers: e.headers,
    enabled: e.enabled,
    disabled_reason: e.disabledReason,
    disabled_at: iso(e.disabledAt),
    failing_since: iso(e.failingSince),
    previous_secret_expires_at: iso(e.previousSecretExpiresAt),
    created_at: iso(e.createdAt) as string,
    updated_at: iso(e.updatedAt) as string,
  };
}

/**
 * An endpoint as an event tells of it: without its headers. They may hold the receiver's own
 * credentials, and the event goes to the workspace's other endpoints.
 */
export function presentEndpointInEvent(e: WebhookEndpoint) {
  const { headers, ...shown } = presentEndpoint(e);
  return shown;
}

/**
 * Disables an endpoint for `reason` and tells the workspace's other endpoints
 * (`webhook.endpoint_disabled`), once however many callers find it failing. Returns the endpoint
 * as disabled when this call did it.
 */
export async function disableEndpointAndTell(
  db: Db,
  endpoint: WebhookEndpoint,
  reason: string,
  at: Date,
): Promise<WebhookEndpoint | undefined> {
  const disabled = await disableEndpoint(db, endpoint.id, reason, at);
  if (!disabled) return undefined;
  await recordEvent(
    db,
    {
      type: "webhook.endpoint_disabled",
      workspaceId: endpoint.workspaceId,
      data: { endpoint: presentEndpointInEvent(disabled), reason },
      orderingKey: null,
      channelId: null,
    },
    { exceptEndpointId: endpoint.id },
  );
  return disabled;
}
