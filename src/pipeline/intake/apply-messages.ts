import { isDeepStrictEqual } from "node:util";
import { v7 as uuidv7 } from "uuid";
import type { PlatformMessage } from "../../channels/events.ts";
import type { Db } from "../../store/database.ts";
import type { ChannelAccount } from "../../store/repositories/channel-accounts.ts";
import {
  contactsForIdentities,
  type IdentifiedUser,
  setIdentitiesCapabilities,
} from "../../store/repositories/contacts.ts";
import { openDirectConversations } from "../../store/repositories/conversations.ts";
import type { InboundOutcome } from "../../store/repositories/inbound-events.ts";
import {
  type ArrivedMessage,
  type Message,
  messagesByExternalIds,
  recordMessages,
} from "../../store/repositories/messages.ts";
import { presentMessage } from "../objects.ts";
import { contactEvent, conversationEvent, type EventInput, recordEvents } from "../webhooks/events.ts";

/** A client's direct message, as one stored event of a run. */
export interface ClientMessage {
  message: PlatformMessage;
  capabilities?: Record<string, unknown> | undefined;
}

/**
 * Applies client messages of one channel (most of what intake sees) together, in the same
 * handful of statements however many there are: who wrote (a new user becomes a contact), their
 * open conversations (opened when missing), the messages, and the events all this causes,
 * recorded in the order applying the messages one by one would record them. A message already
 * stored (a repeat, or the same message delivered through two callback servers) is `duplicate`.
 * Returns each message's outcome, in order. Call it inside a transaction.
 */
export async function applyClientMessages(
  db: Db,
  channel: ChannelAccount,
  items: readonly ClientMessage[],
): Promise<InboundOutcome[]> {
  const { users, created: newContacts } = await contactsForIdentities(
    db,
    channel.workspaceId,
    channel.kind,
    items.map((item) => item.message.userId),
  );
  const userOf = (item: ClientMessage) => users.get(item.message.userId) as IdentifiedUser;
  // VK sends them with every message; they change rarely.
  const capabilities = new Map<string, Record<string, unknown>>();
  for (const item of items) {
    const user = userOf(item);
    const latest = capabilities.get(user.identityId) ?? user.capabilities;
    if (item.capabilities && !isDeepStrictEqual(latest, item.capabilities))
      capabilities.set(user.identityId, item.capabilities);
  }
  await setIdentitiesCapabilities(db, capabilities);
  // A reply quoting a message the hub sent names it (as Devino's `message_tag`).
  const quoted = await messagesByExternalIds(
    db,
    channel.id,
    items.flatMap((item) => (item.message.replyToExternalId ? [item.message.replyToExternalId] : [])),
  );
  const conversations = await openDirectConversations(
    db,
    channel.workspaceId,
    channel.id,
    items.map((item) => userOf(item).contactId),
  );
  const rows = items.map((item): ArrivedMessage => {
    const { contactId } = userOf(item);
    const repliesTo = item.message.replyToExternalId ? quoted.get(item.message.replyToExternalId) : undefined;
    return {
      id: uuidv7(),
      workspaceId: channel.workspaceId,
      channelAccountId: channel.id,
      conversationId: conversations.byContact.get(contactId)?.id as string,
      contactId,
      direction: "inbound",
      authorKind: "contact",
      authorRef: item.message.userId,
      status: "received",
      text: item.message.text,
      attachments: item.message.attachments,
      externalId: item.message.externalId,
      sentAt: item.message.sentAt,
      replyToMessageId: repliesTo?.direction === "outbound" ? repliesTo.id : null,
    };
  });
  const stored = new Map((await recordMessages(db, rows)).map((row) => [row.id, row]));

  const events: EventInput[] = [];
  const announced = new Set<string>();
  const announceOnce = (key: string, event: () => EventInput) => {
    if (announced.has(key)) return;
    announced.add(key);
    events.push(event());
  };
  const outcomes = rows.map((row): InboundOutcome => {
    const contactId = row.contactId as string;
    const newContact = newContacts.find((c) => c.id === contactId);
    if (newContact) announceOnce(contactId, () => contactEvent("contact.created", newContact));
    const conversation = conversations.byContact.get(contactId);
    if (conversation && conversations.created.has(contactId))
      announceOnce(conversation.id, () => conversationEvent("conversation.created", conversation));
    const message = stored.get(row.id);
    if (!message) return "duplicate";
    events.push(messageArrived(message));
    return "applied";
  });
  await recordEvents(db, events);
  return outcomes;
}

/**
 * The event of a message that arrived: a client's message, or one the community wrote on the
 * platform (not through the hub), which the hub reports as sent.
 */
export function messageArrived(stored: Message): EventInput {
  const base = {
    workspaceId: stored.workspaceId,
    orderingKey: stored.conversationId,
    channelId: stored.channelAccountId,
  };
  if (stored.direction === "outbound")
    return { ...base, type: "message.sent", data: { message: presentMessage(stored) } };
  return {
    ...base,
    type: "message.received",
    data: { message: presentMessage(stored), in_reply_to_message_id: stored.replyToMessageId },
  };
}
