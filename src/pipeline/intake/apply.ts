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
  contactForIdentity,
  requireContact,
  setIdentityCapabilities,
} from "../../store/repositories/contacts.ts";
import {
  commentThread,
  createConversation,
  openDirectConversation,
} from "../../store/repositories/conversations.ts";
import type { InboundOutcome } from "../../store/repositories/inbound-events.ts";
import {
  findMessageByExternalId,
  type Message,
  matchEcho,
  type NewMessage,
  recordEdit,
  recordMessage,
  requireMessage,
  sameAttachmentIdentity,
  setMessageDeleted,
} from "../../store/repositories/messages.ts";
import { markRead } from "../../store/repositories/outbound-queue.ts";
import { presentContact, presentConversation, presentLead, presentMessage } from "../objects.ts";
import { announceStatus } from "../send/status-events.ts";
import { contactEvent, conversationEvent, type EventInput, recordEvent } from "../webhooks/events.ts";

/** What an event is applied in: one transaction, one channel, the stored event it came from. */
export interface IntakeContext {
  db: Db;
  channel: ChannelAccount;
  inboundEventId: string;
  receivedAt: Date;
}

/** The event refers to something not stored yet (an edit before its message): try again later. */
export class NotYetApplicable extends Error {}

/**
 * Applies one inbound event to the store, recording the events it causes for webhooks in the same
 * transaction (an event applied twice changes nothing and records nothing the second time).
 * Idempotent: applying the same event twice, or the same
 * message arriving as two events (two callback servers), changes nothing the second time.
 */
export async function applyEvent(ctx: IntakeContext, event: InboundEvent): Promise<InboundOutcome> {
  switch (event.type) {
    case "message":
      return applyMessage(ctx, event.message, event.capabilities);
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
      await emit(ctx, {
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
      for (const { id, previous } of read) await announceStatus(ctx.db, id, previous, ctx.channel.kind);
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

async function applyMessage(
  ctx: IntakeContext,
  message: PlatformMessage,
  capabilities?: Record<string, unknown>,
) {
  const who = await identify(ctx, message.userId);
  if (capabilities) await setIdentityCapabilities(ctx.db, who.identityId, capabilities);
  // A reply quoting a message the hub sent names it (as Devino's `message_tag`).
  const quoted = message.replyToExternalId
    ? await findMessageByExternalId(ctx.db, ctx.channel.id, message.replyToExternalId)
    : undefined;
  const repliesTo = quoted?.direction === "outbound" ? quoted.id : null;
  return recordDirect(ctx, who.contactId, message, {
    direction: "inbound",
    authorKind: "contact",
    authorRef: message.userId,
    status: "received",
    replyToMessageId: repliesTo,
  });
}

/** A message the community sent: ours when it carries our send key, else written on the platform. */
async function applyEcho(
  ctx: IntakeContext,
  message: PlatformMessage,
  sendKey: string | null,
  adminId: string | null,
) {
  if (sendKey && (await matchEcho(ctx.db, ctx.channel.id, sendKey, message.externalId))) return "duplicate";
  const who = await identify(ctx, message.userId);
  return recordDirect(ctx, who.contactId, message, {
    direction: "outbound",
    authorKind: "platform_admin",
    authorRef: adminId,
    status: "sent",
    sendKey,
  });
}

/** Stores a direct message in the client's open conversation, opening it if needed. */
async function recordDirect(
  ctx: IntakeContext,
  contactId: string,
  message: PlatformMessage,
  written: Pick<
    NewMessage,
    "direction" | "authorKind" | "authorRef" | "status" | "sendKey" | "replyToMessageId"
  >,
) {
  const opened = await openDirectConversation(ctx.db, ctx.channel.workspaceId, ctx.channel.id, contactId);
  if (opened.created) await emit(ctx, conversationEvent("conversation.created", opened.conversation));
  const { message: stored, created } = await recordMessage(ctx.db, {
    ...messageRow(ctx, message),
    ...written,
    conversationId: opened.conversation.id,
    contactId,
  });
  if (!created) return "duplicate";
  await emit(ctx, messageArrived(stored));
  return "applied";
}

/**
 * The event of a message that arrived: a client's message, or one the community wrote on the
 * platform (not through the hub), which the hub reports as sent.
 */
function messageArrived(stored: Message): EventInput {
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

/** A stored message changed (edited, deleted, restored): its event, with the message as it is now. */
async function messageChanged(ctx: IntakeContext, type: "message.edited" | "message.deleted", id: string) {
  const row = await requireMessage(ctx.db, ctx.channel.workspaceId, id);
  await emit(ctx, {
    type,
    workspaceId: row.workspaceId,
    data: { message: presentMessage(row) },
    orderingKey: row.conversationId ?? row.id,
    channelId: row.channelAccountId,
  });
}

async function applyComment(ctx: IntakeContext, event: Extract<InboundEvent, { type: "comment" }>) {
  const { comment, publication } = event;
  if (event.action !== "new") {
    const existing = await findMessageByExternalId(ctx.db, ctx.channel.id, comment.externalId);
    if (!existing) {
      // An edit or deletion of a comment written before the channel was connected: nothing to change.
      if (event.action !== "edit") return "duplicate";
      throw new NotYetApplicable(`comment ${comment.externalId} is not stored yet`);
    }
    if (event.action === "edit") {
      await recordEdit(ctx.db, existing.id, {
        text: comment.text,
        attachments: comment.attachments,
        source: "platform",
      });
      await messageChanged(ctx, "message.edited", existing.id);
    } else {
      await setMessageDeleted(ctx.db, existing.id, event.action === "delete" ? ctx.receivedAt : null);
      await messageChanged(ctx, "message.deleted", existing.id);
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
  if (opened) await emit(ctx, conversationEvent("conversation.created", thread));
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
  await emit(
    ctx,
    who
      ? {
          type: "comment.received",
          workspaceId: stored.workspaceId,
          data: { message: presentMessage(stored), conversation: presentConversation(thread) },
          orderingKey: thread.id,
          channelId: ctx.channel.id,
        }
      : messageArrived(stored),
  );
  return "applied";
}

async function applyLead(ctx: IntakeContext, event: Extract<InboundEvent, { type: "lead" }>) {
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
  await emit(ctx, conversationEvent("conversation.created", conversation));
  await emit(ctx, {
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
  await emit(ctx, messageArrived(answers));
  return "applied";
}

/** The contact behind a platform user; a new one is announced as `contact.created`. */
async function identify(ctx: IntakeContext, userId: string) {
  const who = await contactForIdentity(ctx.db, ctx.channel.workspaceId, {
    channelKind: ctx.channel.kind,
    externalId: userId,
  });
  if (who.created) {
    const contact = await requireContact(ctx.db, ctx.channel.workspaceId, who.contactId);
    await emit(ctx, contactEvent("contact.created", contact));
  }
  return who;
}

function emit(ctx: IntakeContext, event: EventInput) {
  return recordEvent(ctx.db, event);
}

function activity(
  ctx: IntakeContext,
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

function messageRow(ctx: IntakeContext, message: PlatformMessage) {
  return {
    workspaceId: ctx.channel.workspaceId,
    channelAccountId: ctx.channel.id,
    text: message.text,
    attachments: message.attachments,
    externalId: message.externalId,
    sentAt: message.sentAt,
  };
}
