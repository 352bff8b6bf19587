import type { InboundEvent, PlatformMessage } from "../../channels/events.ts";
import type { Db } from "../../store/database.ts";
import type { ChannelAccount } from "../../store/repositories/channel-accounts.ts";
import {
  linkLeadConversation,
  recordContactEvent,
  recordLead,
  setConsent,
} from "../../store/repositories/contact-activity.ts";
import {
  contactsForIdentities,
  type IdentifiedUser,
  requireContact,
} from "../../store/repositories/contacts.ts";
import {
  type Conversation,
  commentThread,
  createConversation,
  openDirectConversations,
  reopenResolved,
} from "../../store/repositories/conversations.ts";
import type { InboundOutcome } from "../../store/repositories/inbound-events.ts";
import {
  findMessageByExternalId,
  isHubSendingText,
  matchEcho,
  recordEdit,
  recordMessage,
  requireMessage,
  sameAttachmentIdentity,
  setMessageDeleted,
} from "../../store/repositories/messages.ts";
import { markRead } from "../../store/repositories/outbound-queue.ts";
import { presentContact, presentConversation, presentLead, presentMessage } from "../objects.ts";
import { announceStatus } from "../send/status-events.ts";
import { contactEvent, conversationEvent, type EventInput, recordEvents } from "../webhooks/events.ts";
import { applyClientMessages, messageArrived } from "./apply-messages.ts";

/** What an event is applied in: one transaction, one channel, the stored event it came from. */
export interface IntakeContext {
  db: Db;
  channel: ChannelAccount;
  inboundEventId: string;
  receivedAt: Date;
}

/** The context while an event is applied: the events it causes gather here, recorded together at the end. */
interface Applying extends IntakeContext {
  emitted: EventInput[];
}

/**
 * The event refers to something not stored yet (an edit before its message): try again later.
 * If that never comes (it was written before the channel was connected), the event is set aside
 * as unsupported.
 */
export class NotYetApplicable extends Error {}

/**
 * Applies one inbound event to the store, recording the events it causes for webhooks in the same
 * transaction. Idempotent: applying the same event twice, or the same message arriving as two
 * events (two callback servers), changes nothing and records nothing the second time.
 */
export async function applyEvent(ctx: IntakeContext, event: InboundEvent): Promise<InboundOutcome> {
  const applying: Applying = { ...ctx, emitted: [] };
  const outcome = await apply(applying, event);
  await recordEvents(ctx.db, applying.emitted);
  return outcome;
}

async function apply(ctx: Applying, event: InboundEvent): Promise<InboundOutcome> {
  switch (event.type) {
    case "message": {
      const [outcome] = await applyClientMessages(ctx.db, ctx.channel, [event]);
      return outcome as InboundOutcome;
    }
    case "message_echo":
      return applyEcho(ctx, event.message, event.sendKey, event.adminId);
    case "message_edited": {
      const existing = await findMessageByExternalId(ctx.db, ctx.channel.id, event.externalId);
      if (!existing) throw new NotYetApplicable(`message ${event.externalId} is not stored yet`);
      // The same content in VK's own words (the echo of an edit the hub made) changes nothing.
      if (existing.text === event.text && sameAttachmentIdentity(existing.attachments, event.attachments))
        return "duplicate";
      await recordEdit(ctx.db, existing.id, {
        text: event.text,
        attachments: event.attachments,
        source: "platform",
        editedAt: event.editedAt,
      });
      await messageChanged(ctx, "message.edited", existing.id);
      return "applied";
    }
    case "consent": {
      const who = await identify(ctx, event.userId);
      await setConsent(ctx.db, who.identityId, ctx.channel.id, event.state, ctx.receivedAt);
      await activity(ctx, who.contactId, "consent_changed", { state: event.state });
      const contact = await requireContact(ctx.db, ctx.channel.workspaceId, who.contactId);
      emit(ctx, {
        type: "contact.consent_changed",
        workspaceId: contact.workspaceId,
        data: { contact: presentContact(contact), channel_id: ctx.channel.id, consent: event.state },
        orderingKey: contact.id,
        channelId: ctx.channel.id,
      });
      return "applied";
    }
    case "read": {
      const who = await identify(ctx, event.userId);
      const read = await markRead(ctx.db, ctx.channel.id, who.contactId, event.upToExternalId);
      for (const previous of new Set(read.map((row) => row.previous)))
        await announceStatus(
          ctx.db,
          read.filter((row) => row.previous === previous).map((row) => row.id),
          previous,
          ctx.channel.kind,
        );
      return read.length > 0 ? "applied" : "duplicate";
    }
    case "button": {
      const who = await identify(ctx, event.userId);
      await activity(ctx, who.contactId, "button_pressed", event.data);
      return "applied";
    }
    case "membership": {
      const who = await identify(ctx, event.userId);
      await activity(ctx, who.contactId, event.joined ? "joined_community" : "left_community", {
        detail: event.detail,
      });
      return "applied";
    }
    case "comment":
      return applyComment(ctx, event);
    case "lead":
      return applyLead(ctx, event);
    case "unsupported":
      return "unsupported";
  }
}

/**
 * A message the community sent: ours when it carries our send key, else one an admin wrote on
 * the platform, stored in the client's open conversation (opened if needed).
 */
async function applyEcho(
  ctx: Applying,
  message: PlatformMessage,
  sendKey: string | null,
  adminId: string | null,
) {
  if (sendKey && (await matchEcho(ctx.db, ctx.channel.id, sendKey, message.externalId))) return "duplicate";
  const { contactId } = await identify(ctx, message.userId);
  const opened = await openDirectConversations(ctx.db, ctx.channel.workspaceId, ctx.channel.id, [contactId]);
  const conversation = opened.byContact.get(contactId) as Conversation;
  if (opened.created.has(contactId)) emit(ctx, conversationEvent("conversation.created", conversation));
  const { message: stored, created } = await recordMessage(ctx.db, {
    workspaceId: ctx.channel.workspaceId,
    channelAccountId: ctx.channel.id,
    conversationId: conversation.id,
    contactId,
    direction: "outbound",
    authorKind: "platform_admin",
    authorRef: adminId,
    status: "sent",
    sendKey,
    text: message.text,
    attachments: message.attachments,
    externalId: message.externalId,
    sentAt: message.sentAt,
  });
  if (!created) return "duplicate";
  emit(ctx, messageArrived(stored));
  return "applied";
}

/** A stored message changed (edited, deleted, restored): its event, with the message as it is now. */
async function messageChanged(
  ctx: Applying,
  type: "message.edited" | "message.deleted" | "message.restored",
  id: string,
) {
  const row = await requireMessage(ctx.db, ctx.channel.workspaceId, id);
  emit(ctx, {
    type,
    workspaceId: row.workspaceId,
    data: { message: presentMessage(row) },
    orderingKey: row.conversationId ?? row.id,
    channelId: row.channelAccountId,
  });
}

async function applyComment(ctx: Applying, event: Extract<InboundEvent, { type: "comment" }>) {
  const { comment, publication } = event;
  if (event.action !== "new") {
    const existing = await findMessageByExternalId(ctx.db, ctx.channel.id, comment.externalId);
    // The Callback API posts each event on its own and retries some later, so a change can arrive
    // before the comment it changes: it waits for it.
    if (!existing) throw new NotYetApplicable(`comment ${comment.externalId} is not stored yet`);
    if (event.action === "edit") {
      await recordEdit(ctx.db, existing.id, {
        text: comment.text,
        attachments: comment.attachments,
        source: "platform",
      });
      await messageChanged(ctx, "message.edited", existing.id);
    } else {
      await setMessageDeleted(ctx.db, existing.id, event.action === "delete" ? ctx.receivedAt : null);
      await messageChanged(
        ctx,
        event.action === "delete" ? "message.deleted" : "message.restored",
        existing.id,
      );
    }
    return "applied";
  }
  const who = comment.userId ? await identify(ctx, comment.userId) : null;
  const { conversation: thread, created: opened } = await commentThread(ctx.db, {
    workspaceId: ctx.channel.workspaceId,
    channelAccountId: ctx.channel.id,
    publicationRef: publication.ref,
    contactId: who?.contactId ?? null,
  });
  // The community's own comment may be the echo of a reply the hub is still sending: Long Poll
  // can bring it before VK's answer to the send. It waits for the send's record, which carries
  // its platform id, instead of becoming a second copy announced as the community's.
  if (!who && comment.text && (await isHubSendingText(ctx.db, thread.id, comment.text)))
    throw new NotYetApplicable(`comment ${comment.externalId} may be the echo of a reply still being sent`);
  if (opened) emit(ctx, conversationEvent("conversation.created", thread));
  const { message: stored, created } = await recordMessage(ctx.db, {
    workspaceId: ctx.channel.workspaceId,
    channelAccountId: ctx.channel.id,
    conversationId: thread.id,
    contactId: who?.contactId ?? null,
    direction: who ? "inbound" : "outbound",
    authorKind: who ? "contact" : "platform_admin",
    authorRef: comment.userId,
    text: comment.text,
    attachments: comment.attachments,
    externalId: comment.externalId,
    link: comment.link,
    status: who ? "received" : "sent",
    sentAt: comment.sentAt,
  });
  if (!created) return "duplicate";
  // A publication keeps one thread, so a client's new comment reopens it once resolved, as a
  // client's message opens a new direct conversation; otherwise an inbox of open work misses it.
  const reopened = who ? await reopenResolved(ctx.db, thread.id) : undefined;
  if (reopened) emit(ctx, conversationEvent("conversation.updated", reopened));
  emit(
    ctx,
    who
      ? {
          type: "comment.received",
          workspaceId: stored.workspaceId,
          data: { message: presentMessage(stored), conversation: presentConversation(reopened ?? thread) },
          orderingKey: thread.id,
          channelId: ctx.channel.id,
        }
      : messageArrived(stored),
  );
  return "applied";
}

async function applyLead(ctx: Applying, event: Extract<InboundEvent, { type: "lead" }>) {
  const who = await identify(ctx, event.userId);
  const lead = await recordLead(ctx.db, {
    workspaceId: ctx.channel.workspaceId,
    channelAccountId: ctx.channel.id,
    contactId: who.contactId,
    externalId: event.leadId,
    formId: event.formId,
    formName: event.formName,
    answers: event.answers,
  });
  if (!lead) return "duplicate";
  const conversation = await createConversation(ctx.db, {
    workspaceId: ctx.channel.workspaceId,
    channelAccountId: ctx.channel.id,
    contactId: who.contactId,
    kind: "lead",
    externalRef: `lead${event.leadId}`,
  });
  await linkLeadConversation(ctx.db, lead.id, conversation.id);
  emit(ctx, conversationEvent("conversation.created", conversation));
  emit(ctx, {
    type: "lead.received",
    workspaceId: lead.workspaceId,
    data: { lead: presentLead({ ...lead, conversationId: conversation.id }) },
    orderingKey: conversation.id,
    channelId: ctx.channel.id,
  });
  // The answers as a message too, so an operator reads the lead where they read everything else.
  const lines = event.answers.map((a) => `${a.question || a.key}: ${a.answer}`);
  const { message: answers } = await recordMessage(ctx.db, {
    workspaceId: ctx.channel.workspaceId,
    channelAccountId: ctx.channel.id,
    conversationId: conversation.id,
    contactId: who.contactId,
    direction: "inbound",
    authorKind: "contact",
    authorRef: event.userId,
    text: [`Lead form: ${event.formName ?? event.formId}`, ...lines].join("\n"),
    externalId: `lead${event.leadId}`,
    status: "received",
    sentAt: ctx.receivedAt,
  });
  emit(ctx, messageArrived(answers));
  return "applied";
}

/** The contact behind a platform user; a new one is announced as `contact.created`. */
async function identify(ctx: Applying, userId: string) {
  const { users, created } = await contactsForIdentities(ctx.db, ctx.channel.workspaceId, ctx.channel.kind, [
    userId,
  ]);
  for (const contact of created) emit(ctx, contactEvent("contact.created", contact));
  return users.get(userId) as IdentifiedUser;
}

function emit(ctx: Applying, event: EventInput) {
  ctx.emitted.push(event);
}

function activity(
  ctx: Applying,
  contactId: string,
  kind: Parameters<typeof recordContactEvent>[1]["kind"],
  data: Record<string, unknown>,
) {
  return recordContactEvent(ctx.db, {
    workspaceId: ctx.channel.workspaceId,
    channelAccountId: ctx.channel.id,
    contactId,
    kind,
    data,
    inboundEventId: ctx.inboundEventId,
    occurredAt: ctx.receivedAt,
  });
}
