import type { InboundEvent, PlatformMessage } from "../../channels/events.ts";
import type { Db } from "../../store/database.ts";
import type { ChannelAccount } from "../../store/repositories/channel-accounts.ts";
import {
  linkLeadConversation,
  recordContactEvent,
  recordLead,
  setConsent,
} from "../../store/repositories/contact-activity.ts";
import { contactForIdentity, setIdentityCapabilities } from "../../store/repositories/contacts.ts";
import {
  commentThread,
  createConversation,
  openDirectConversation,
} from "../../store/repositories/conversations.ts";
import type { InboundOutcome } from "../../store/repositories/inbound-events.ts";
import {
  findMessageByExternalId,
  matchEcho,
  type NewMessage,
  recordEdit,
  recordMessage,
  sameAttachmentIdentity,
  setMessageDeleted,
} from "../../store/repositories/messages.ts";

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
 * Applies one inbound event to the store. Idempotent: applying the same event twice, or the same
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
      return "applied";
    }
    case "consent": {
      const who = await identify(ctx, event.userId);
      await setConsent(ctx.db, who.identityId, ctx.channel.id, event.state, ctx.receivedAt);
      await activity(ctx, who.contactId, "consent_changed", { state: event.state });
      return "applied";
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
  return recordDirect(ctx, who.contactId, message, {
    direction: "inbound",
    authorKind: "contact",
    authorRef: message.userId,
    status: "received",
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
  written: Pick<NewMessage, "direction" | "authorKind" | "authorRef" | "status" | "sendKey">,
) {
  const conversation = await openDirectConversation(
    ctx.db,
    ctx.channel.workspaceId,
    ctx.channel.id,
    contactId,
  );
  const { created } = await recordMessage(ctx.db, {
    ...messageRow(ctx, message),
    ...written,
    conversationId: conversation.id,
    contactId,
  });
  return created ? "applied" : "duplicate";
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
    } else {
      await setMessageDeleted(ctx.db, existing.id, event.action === "delete" ? ctx.receivedAt : null);
    }
    return "applied";
  }
  const who = comment.userId ? await identify(ctx, comment.userId) : null;
  const thread = await commentThread(ctx.db, {
    workspaceId: ctx.channel.workspaceId,
    channelAccountId: ctx.channel.id,
    publicationRef: publication.ref,
    contactId: who?.contactId ?? null,
  });
  const { created } = await recordMessage(ctx.db, {
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
  return created ? "applied" : "duplicate";
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
  // The answers as a message too, so an operator reads the lead where they read everything else.
  const lines = event.answers.map((a) => `${a.question || a.key}: ${a.answer}`);
  await recordMessage(ctx.db, {
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
  return "applied";
}

function identify(ctx: IntakeContext, userId: string) {
  return contactForIdentity(ctx.db, ctx.channel.workspaceId, {
    channelKind: ctx.channel.kind,
    externalId: userId,
  });
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
