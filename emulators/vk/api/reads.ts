/**
 * Reading back: users.get, and the messages.* readers an adapter may use for diagnostics
 * (getConversationsById's `can_write`) or to fill a message (vk-io's loadMessagePayload uses
 * getById and getByConversationMessageId).
 */
import { VkApiError } from "../errors.ts";
import type { Conversation, Message } from "../model.ts";
import { deletedUser, renderUser } from "../objects.ts";
import type { MethodContext, MethodTable } from "./context.ts";
import { messaging, renderStored } from "./messages.ts";

function profiles(ctx: MethodContext, ids: readonly number[]) {
  const fields = ctx.params.list("fields");
  return ids
    .map((id) => ctx.runtime.state.users.get(id))
    .filter((user) => user !== undefined)
    .map((user) => renderUser(user, fields, ctx.runtime.baseUrl()));
}

/** Readable messages: not deleted for everybody. */
const visible = (messages: readonly (Message | undefined)[]) =>
  messages.filter((m): m is Message => m !== undefined && !m.deleted?.forAll);

function list(ctx: MethodContext, messages: readonly (Message | undefined)[]) {
  const items = visible(messages).map((m) => renderStored(ctx, m));
  const answer: Record<string, unknown> = { count: items.length, items };
  if (ctx.params.bool("extended")) {
    answer.profiles = profiles(
      ctx,
      items.map((m) => Number(m.peer_id)),
    );
    answer.groups = [];
  }
  return answer;
}

function conversationOf(ctx: MethodContext, peerId: number): Conversation | undefined {
  return ctx.runtime.state.conversations.get(`${ctx.community.id}:${peerId}`);
}

export const readMethods: MethodTable = {
  "users.get": (ctx) => {
    const { state } = ctx.runtime;
    const fields = ctx.params.list("fields");
    return ctx.params.list("user_ids", { max: 1000 }).map((id) => {
      if (/^\d+$/.test(id)) {
        const user = state.users.get(Number(id));
        return user ? renderUser(user, fields, ctx.runtime.baseUrl()) : deletedUser(Number(id));
      }
      const user = state.userByScreenName(id);
      if (!user) throw new VkApiError(113);
      return renderUser(user, fields, ctx.runtime.baseUrl());
    });
  },

  "messages.getConversationsById": (ctx) => {
    messaging(ctx);
    const { state } = ctx.runtime;
    const peers = ctx.params.ints("peer_ids", { max: 100 });
    if (peers.length === 0) throw new VkApiError(100, "peer_ids is undefined");
    const items = peers
      .filter((peerId) => state.users.has(peerId))
      .map((peerId) => {
        const conversation = conversationOf(ctx, peerId);
        const last = conversation?.messages.at(-1);
        const allowed = state.canWrite(ctx.community, peerId);
        const keyboard = conversation?.messages.findLast(
          (m) => m.out === 1 && m.keyboard && !m.keyboard.inline,
        );
        return {
          peer: { id: peerId, type: "user", local_id: peerId },
          last_message_id: last?.id ?? 0,
          last_conversation_message_id: last?.cmid ?? 0,
          in_read: conversation?.inRead ?? 0,
          out_read: conversation?.outRead ?? 0,
          sort_id: { major_id: 0, minor_id: last?.id ?? 0 },
          is_marked_unread: false,
          important: false,
          can_write: allowed ? { allowed: true } : { allowed: false, reason: 901 },
          ...(keyboard?.keyboard ? { current_keyboard: keyboard.keyboard } : {}),
          version: last?.version ?? 0,
        };
      });
    const answer: Record<string, unknown> = { count: items.length, items };
    if (ctx.params.bool("extended")) answer.profiles = profiles(ctx, peers);
    return answer;
  },

  "messages.getById": (ctx) => {
    messaging(ctx);
    const ids = ctx.params.ints("message_ids", { max: 100 });
    const cmids = ctx.params.ints("cmids", { max: 100 });
    if (cmids.length > 0) {
      const conversation = conversationOf(ctx, ctx.params.requiredInt("peer_id"));
      return list(
        ctx,
        cmids.map((cmid) => conversation?.messages.find((m) => m.cmid === cmid)),
      );
    }
    if (ids.length === 0) throw new VkApiError(100, "message_ids is undefined");
    return list(
      ctx,
      ids.map((id) => ctx.runtime.state.findMessage(ctx.community.id, id)?.message),
    );
  },

  "messages.getByConversationMessageId": (ctx) => {
    messaging(ctx);
    const conversation = conversationOf(ctx, ctx.params.requiredInt("peer_id"));
    const cmids = ctx.params.ints("conversation_message_ids", { max: 100 });
    if (cmids.length === 0) throw new VkApiError(100, "conversation_message_ids is undefined");
    return list(
      ctx,
      cmids.map((cmid) => conversation?.messages.find((m) => m.cmid === cmid)),
    );
  },
};
