/**
 * The outbound half of the VK adapter: the hub's `OutboundAdapter` port over `VkClient`. Small on
 * purpose: it turns the neutral model into VK calls (`messages.send` with `random_id` derived from
 * the message id, `messages.edit`, `messages.delete`, `wall.createComment`, the three-step uploads,
 * `messages.sendMessageEventAnswer`) and VK's answers back; every failure leaves as a catalogued
 * AppError (the client classifies them). Retries, queues and bookkeeping live in the send
 * pipeline that wraps it.
 */
import { AppError } from "../../errors/app-error.ts";
import {
  type ButtonAnswer,
  type OutboundAdapter,
  type OutboundCapabilities,
  outboundAttachmentKinds,
} from "../adapter.ts";
import type { VkEventAnswer } from "./api.ts";
import { maxVkAttachments } from "./attachments.ts";
import { sendKeyFor } from "./callback.ts";
import { type VkClients, vkSettings } from "./channel.ts";
import { canReplyToComment, commentReplyParams, commentTargetOf } from "./comments.ts";
import { isFinalForRoute } from "./errors.ts";
import { buildVkKeyboard } from "./keyboard.ts";
import { commentGuidFor, randomIdFor } from "./random-id.ts";
import { messageParts } from "./text.ts";
import { uploadMessageDocument, uploadMessagePhoto, uploadVoiceMessage } from "./upload.ts";

/** VK's notification limits for a community (Devino's VK notes, seed 002). */
const vkNotificationsPerSecond = 50;
const vkNotificationsPerRecipientPerDay = 5;

export function createVkOutbound(clients: VkClients): OutboundAdapter {
  return {
    capabilities(channel): OutboundCapabilities {
      return {
        textLimit: vkSettings(channel).textLimit,
        attachmentKinds: outboundAttachmentKinds,
        maxAttachments: maxVkAttachments,
        keyboards: { inline: true, standard: true },
        edit: true,
        delete: true,
        commentReplies: true,
        buttonAnswers: true,
      };
    },

    sendLimits(channel) {
      const live = clients.for(channel).tokens.filter((token) => !token.dead).length;
      return {
        perSecond: vkSettings(channel).apiLimit * Math.max(1, live),
        notificationsPerSecond: vkNotificationsPerSecond,
        perRecipientPerDay: vkNotificationsPerRecipientPerDay,
        minIntervalMs: 0,
        jitterMs: 0,
      };
    },

    isFinalForRoute,

    splitText(channel, text, split) {
      return messageParts(text, { limit: vkSettings(channel).textLimit, allowSplit: split });
    },

    checkKeyboard(_channel, keyboard) {
      buildVkKeyboard(keyboard);
    },

    checkCommentReply(_channel, publicationRef) {
      const target = commentTargetOf(publicationRef);
      if (!target || !canReplyToComment(target.kind))
        throw new AppError("vk_comment_reply_unsupported", {
          kind: target?.kind ?? publicationRef.replace(/[-\d_]+$/, ""),
        });
    },

    checkUserId(userId) {
      // Users are positive ids below the range VK gives chats (2e9 and up); communities are negative.
      if (!/^[1-9]\d{0,9}$/.test(userId) || Number(userId) >= 2_000_000_000)
        throw new AppError("vk_user_id_invalid", { id: userId });
    },

    sendKey(_channel, peer, messageId, part) {
      return sendKeyFor(peer, randomIdFor(messageId, part));
    },

    async upload(channel, peer, file) {
      const client = clients.for(channel);
      const peerId = peerNumber(peer);
      const options = {
        peerId,
        data: file.data,
        ...(file.filename ? { filename: file.filename } : {}),
        ...(file.contentType ? { contentType: file.contentType } : {}),
      };
      switch (file.kind) {
        case "photo":
          return (await uploadMessagePhoto(client, options)).attachment;
        case "document":
          return (await uploadMessageDocument(client, options)).attachment;
        case "voice":
          return (await uploadVoiceMessage(client, { peerId, audio: file.data })).attachment;
      }
    },

    async send(channel, message) {
      const sent = await clients.for(channel).sendMessage({
        peerId: peerNumber(message.peer),
        randomId: randomIdFor(message.messageId, message.part),
        ...(message.text ? { message: message.text } : {}),
        ...(message.attachments.length > 0 ? { attachment: message.attachments } : {}),
        ...(message.keyboard ? { keyboard: message.keyboard } : {}),
        ...(message.replyTo && /^\d+$/.test(message.replyTo) ? { replyTo: Number(message.replyTo) } : {}),
      });
      return { externalId: sent.messageId === undefined ? null : String(sent.messageId) };
    },

    async edit(channel, target, content) {
      await clients.for(channel).editMessage({
        peerId: peerNumber(target.peer),
        ...messageRef(target.externalId),
        message: content.text ?? "",
        attachment: content.attachments,
        ...(content.keyboard ? { keyboard: content.keyboard } : {}),
        keepForwardMessages: true,
        keepSnippets: true,
      });
    },

    async delete(channel, target) {
      const ids = target.externalIds.map((id) => messageRef(id).messageId);
      if (ids.some((id) => id === undefined))
        throw new AppError("vk_unexpected_response", { reason: "a message to delete has no VK message id" });
      const results = await clients.for(channel).deleteMessages({
        peerId: peerNumber(target.peer),
        messageIds: ids as number[],
        deleteForAll: true,
      });
      return target.externalIds.map((externalId, index) => {
        const result =
          results.find((r) => r.messageId !== undefined && String(r.messageId) === externalId) ??
          results[index];
        return {
          externalId,
          deleted: result?.deleted === true,
          ...(result?.error ? { error: result.error } : {}),
        };
      });
    },

    async replyToComment(channel, reply) {
      const replyTo = reply.replyTo === null ? undefined : commentIdOf(reply.replyTo);
      const target = commentTargetOf(reply.publicationRef, replyTo);
      if (!target) throw new AppError("vk_comment_reply_unsupported", { kind: reply.publicationRef });
      const params = commentReplyParams(target, {
        message: reply.text,
        guid: commentGuidFor(reply.messageId, reply.part),
      });
      const { commentId } = await clients.for(channel).createWallComment(params);
      // The same id and link inbound parsing gives the comment's echo (`wall_reply_new`).
      return {
        externalId: `${reply.publicationRef}:c${commentId}`,
        link: `https://vk.com/${reply.publicationRef}?reply=${commentId}`,
      };
    },

    async answerButton(channel, press, answer) {
      const eventId = press.event.event_id;
      if (typeof eventId !== "string" || eventId === "")
        throw new AppError("vk_button_event_expired", { vkMessage: "the press has no event_id" });
      const peerId = Number(press.event.peer_id ?? press.peer);
      try {
        await clients.for(channel).answerMessageEvent({
          eventId,
          userId: peerNumber(press.peer),
          peerId: Number.isSafeInteger(peerId) ? peerId : peerNumber(press.peer),
          ...vkAnswer(answer),
        });
      } catch (error) {
        // VK answers 100 "event_id is invalid / expired" once the minute is over or it was answered.
        if (
          error instanceof AppError &&
          error.code === "vk_invalid_parameter" &&
          /event_id/i.test(String(error.params.vkMessage ?? ""))
        )
          throw new AppError("vk_button_event_expired", { vkMessage: String(error.params.vkMessage) });
        throw error;
      }
    },
  };
}

function vkAnswer(answer: ButtonAnswer): { answer?: VkEventAnswer } {
  switch (answer.type) {
    case "snackbar":
      return { answer: { type: "show_snackbar", text: answer.text } };
    case "link":
      return { answer: { type: "open_link", link: answer.url } };
    case "none":
      return {};
  }
}

function peerNumber(peer: string): number {
  const id = Number(peer);
  if (!Number.isSafeInteger(id) || id === 0) throw new AppError("vk_invalid_user_id", { vkCode: 113 });
  return id;
}

/** A stored VK message id: the message id, or `peer:cmid` when VK gave none (see callback.ts). */
function messageRef(externalId: string): { messageId?: number; conversationMessageId?: number } {
  if (/^\d+$/.test(externalId)) return { messageId: Number(externalId) };
  const cmid = /^-?\d+:(\d+)$/.exec(externalId)?.[1];
  return cmid === undefined ? {} : { conversationMessageId: Number(cmid) };
}

/** `wall-123_45:c7` → 7 (a comment's id as inbound parsing stores it). */
function commentIdOf(externalId: string): number | undefined {
  const id = /:c(\d+)$/.exec(externalId)?.[1];
  return id === undefined ? undefined : Number(id);
}
