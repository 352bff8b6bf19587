/**
 * The public JSON of the hub's objects: what the API answers with and what events carry, one
 * shape for both, so a webhook receiver needs no second call to act on an event. Its OpenAPI
 * schemas sit beside the routes (src/http/resources/); the event schemas are built from them.
 */
import { iso } from "../core/iso.ts";
import type { Lead } from "../store/repositories/contact-activity.ts";
import type { ContactWithIdentities } from "../store/repositories/contacts.ts";
import type { Conversation } from "../store/repositories/conversations.ts";
import type { Message } from "../store/repositories/messages.ts";

export type ConversationJson = ReturnType<typeof presentConversation>;
export type MessageJson = ReturnType<typeof presentMessage>;
export type ContactJson = ReturnType<typeof presentContact>;
export type LeadJson = ReturnType<typeof presentLead>;

export const presentConversation = (v: Conversation) => ({
  id: v.id,
  channel_id: v.channelAccountId,
  contact_id: v.contactId,
  kind: v.kind,
  external_ref: v.externalRef,
  status: v.status,
  assignee: v.assignee,
  reply_window_ends_at: iso(v.replyWindowEndsAt),
  last_message_at: iso(v.lastMessageAt),
  created_at: iso(v.createdAt) as string,
  updated_at: iso(v.updatedAt) as string,
});

export const presentMessage = (m: Message) => ({
  id: m.id,
  conversation_id: m.conversationId,
  channel_id: m.channelAccountId,
  contact_id: m.contactId,
  direction: m.direction,
  author: { kind: m.authorKind, ref: m.authorRef },
  text: m.text,
  attachments: m.attachments as unknown as Record<string, unknown>[],
  external_id: m.externalId,
  link: m.link,
  status: m.status,
  error_code: m.errorCode,
  priority: m.priority,
  part: m.part,
  part_of: m.partOf,
  reply_to_message_id: m.replyToMessageId,
  deleted_at: iso(m.deletedAt),
  sent_at: iso(m.sentAt) as string,
  created_at: iso(m.createdAt) as string,
  updated_at: iso(m.updatedAt) as string,
});

export const presentContact = (c: ContactWithIdentities) => ({
  id: c.id,
  name: c.name,
  phone: c.phone,
  email: c.email,
  custom_fields: c.customFields,
  identities: c.identities.map((i) => ({
    id: i.id,
    channel_kind: i.channelKind,
    external_id: i.externalId,
    display_name: i.displayName,
    consent: i.consent.map((consent) => ({
      channel_id: consent.channelAccountId,
      state: consent.state,
      changed_at: iso(consent.changedAt) as string,
    })),
    created_at: iso(i.createdAt) as string,
  })),
  created_at: iso(c.createdAt) as string,
  updated_at: iso(c.updatedAt) as string,
});

export const presentLead = (l: Lead) => ({
  id: l.id,
  channel_id: l.channelAccountId,
  contact_id: l.contactId,
  conversation_id: l.conversationId,
  external_id: l.externalId,
  form_id: l.formId,
  form_name: l.formName,
  answers: l.answers,
  received_at: iso(l.receivedAt) as string,
});
