/**
 * messages.send, messages.edit and messages.delete (reference §3.2–3.4). A send goes to one peer
 * (`peer_id`, `user_id`, `domain`, `chat_id`: the answer is the message id) or to several
 * (`peer_ids`: an array with a per-peer `error`); `random_id` is checked against the conversation's
 * last hour and last 100 messages; each message sent becomes a `message_reply` event.
 */

import { messageError, VkApiError } from "../errors.ts";
import type { Message, MessageEventRecord, VkObject } from "../model.ts";
import { renderMessage } from "../objects.ts";
import { nowSeconds } from "../state.ts";
import { resolveAttachments } from "./attachments.ts";
import { type MethodContext, type MethodTable, optionalOwnGroup, requireScope } from "./context.ts";
import { parseKeyboard, parseTemplate } from "./keyboard.ts";

const chatOffset = 2_000_000_000;

const intents = new Set([
  "default",
  "promo_newsletter",
  "bot_ad_invite",
  "bot_ad_promo",
  "confirmed_notification",
  "non_promo_newsletter",
  "account_update",
  "purchase_update",
  "game_notification",
  "customer_support",
  "moderated_newsletter",
  "finance_notification",
]);

/** Messages need the `messages` right and community messages switched on. */
export function messaging(ctx: MethodContext) {
  requireScope(ctx, "messages");
  optionalOwnGroup(ctx);
  if (!ctx.community.messagesEnabled) {
    throw new VkApiError(
      ctx.runtime.options.accessErrors.messagesDisabled,
      "community messages are disabled",
    );
  }
}

export const renderStored = (ctx: Pick<MethodContext, "runtime">, message: Message) =>
  renderMessage(message, ctx.runtime.options.messages, ctx.runtime.state.replied(message));

/** The checked content of a send or an edit: text, keyboard, template, attachments. */
function content(ctx: MethodContext) {
  const { params, community, runtime } = ctx;
  const options = runtime.options.messages;
  const text = params.string("message") ?? "";
  if ([...text].length > options.textLimit) throw new VkApiError(914);
  const keyboardRaw = params.string("keyboard");
  const templateRaw = params.string("template");
  const needsBot =
    keyboardRaw !== undefined || templateRaw !== undefined || options.botFeaturesRequiredFor === "all";
  if (needsBot && !community.botFeatures) throw new VkApiError(912);
  const keyboard =
    keyboardRaw === undefined ? undefined : parseKeyboard(keyboardRaw, community.id, options.keyboard);
  const template = templateRaw === undefined ? undefined : parseTemplate(templateRaw, options.keyboard);
  const attachments = params.has("attachment")
    ? resolveAttachments(params.string("attachment"), runtime)
    : undefined;
  return { text, keyboard, template, attachments };
}

function recipient(ctx: MethodContext): number {
  const { params, runtime } = ctx;
  const peer = params.int("peer_id") ?? params.int("user_id");
  if (peer !== undefined) return peer;
  const domain = params.string("domain");
  if (domain !== undefined) {
    const user = runtime.state.userByScreenName(domain);
    if (!user) throw new VkApiError(100, "domain is invalid");
    return user.id;
  }
  const chat = params.int("chat_id", { min: 1 });
  if (chat !== undefined) return chatOffset + chat;
  throw new VkApiError(100, "peer_id is undefined");
}

/** Refusals that concern one recipient; with `peer_ids` they become that item's `error`. */
function checkPeer(ctx: MethodContext, peerId: number) {
  const { state } = ctx.runtime;
  if (peerId >= chatOffset) throw new VkApiError(917);
  if (peerId < 0) throw new VkApiError(932);
  if (peerId === 0) throw new VkApiError(100, "peer_id is invalid");
  const user = state.users.get(peerId);
  if (!user) throw new VkApiError(936);
  if (user.deactivated) throw new VkApiError(18);
  if (!state.canWrite(ctx.community, peerId)) throw new VkApiError(901);
}

/** The earlier message this random_id repeats, within the last hour and the last 100 messages. */
function duplicateOf(
  ctx: MethodContext,
  messages: readonly Message[],
  randomId: string,
): Message | undefined {
  const { dedupe, windowMs, lastMessages } = ctx.runtime.options.messages.randomId;
  if (!dedupe || randomId === "0") return undefined;
  const since = Date.now() - windowMs;
  return messages.slice(-lastMessages).find((m) => m.randomId === randomId && m.createdAtMs >= since);
}

function send(ctx: MethodContext) {
  messaging(ctx);
  const { params, community, runtime } = ctx;
  const multi = params.has("peer_ids");
  const peers = multi ? params.ints("peer_ids", { max: 100 }) : [recipient(ctx)];
  const randomId = params.int64("random_id");
  if (randomId === undefined) throw new VkApiError(100, "random_id is a required parameter");
  const { text, keyboard, template, attachments = [] } = content(ctx);
  const payload = params.string("payload", { maxLength: 1000 });
  if (payload !== undefined && !isJson(payload)) throw new VkApiError(100, "payload is invalid");
  const intent = params.string("intent");
  if (intent !== undefined && !intents.has(intent)) throw new VkApiError(100, "intent is invalid");
  const sticker = params.int("sticker_id", { min: 0 });
  if (sticker !== undefined)
    attachments.push({ type: "sticker", sticker: { sticker_id: sticker, product_id: 0 } });
  const forwards = params.has("forward_messages") || params.has("forward");
  if (text === "" && attachments.length === 0 && !forwards) {
    throw new VkApiError(100, "message is empty or invalid");
  }
  const replyTo = params.int("reply_to");

  const results = peers.map((peerId) => {
    try {
      checkPeer(ctx, peerId);
      const conversation = runtime.state.conversation(community.id, peerId);
      if (replyTo !== undefined && !conversation.messages.some((m) => m.id === replyTo)) {
        throw new VkApiError(100, "reply_to is invalid");
      }
      const earlier = duplicateOf(ctx, conversation.messages, randomId);
      if (earlier) return { peer_id: peerId, ...duplicateAnswer(ctx, earlier) };
      const message = runtime.state.appendMessage(community, conversation, {
        fromId: -community.id,
        out: 1,
        text,
        attachments,
        randomId,
        ...(keyboard ? { keyboard } : {}),
        ...(template ? { template } : {}),
        ...(payload !== undefined ? { payload } : {}),
        ...(replyTo !== undefined ? { replyTo } : {}),
      });
      runtime.bus.emit(community.id, "message_reply", renderStored(ctx, message));
      return { peer_id: peerId, message_id: message.id, conversation_message_id: message.cmid };
    } catch (error) {
      if (!multi || !(error instanceof VkApiError)) throw error;
      return { peer_id: peerId, message_id: 0, conversation_message_id: 0, error: messageError(error) };
    }
  });
  return multi ? results : (results[0]?.message_id ?? 0);
}

/** VK drops a duplicate silently; which id it reports is UNCERTAIN (§7.4), hence the setting. */
function duplicateAnswer(ctx: MethodContext, earlier: Message) {
  switch (ctx.runtime.options.messages.randomId.onDuplicate) {
    case "original":
      return { message_id: earlier.id, conversation_message_id: earlier.cmid };
    case "zero":
      return { message_id: 0, conversation_message_id: 0 };
    case "new":
      return { message_id: ++ctx.community.seq.message, conversation_message_id: 0 };
  }
}

/**
 * The message named by `message_id`, or by `cmid` (5.199) or `conversation_message_id` (what
 * vk-io's `context.editMessage()` sends), within `peer_id`.
 */
function target(ctx: MethodContext, peerId: number): Message {
  const { params, runtime, community } = ctx;
  const id = params.int("message_id");
  const cmid = params.int("cmid") ?? params.int("conversation_message_id");
  if (id === undefined && cmid === undefined) throw new VkApiError(100, "message_id is undefined");
  const conversation = runtime.state.conversations.get(`${community.id}:${peerId}`);
  const message = conversation?.messages.find((m) => (id !== undefined ? m.id === id : m.cmid === cmid));
  if (!message || message.deleted?.forAll) throw new VkApiError(100, "message_id is invalid");
  return message;
}

function edit(ctx: MethodContext) {
  messaging(ctx);
  const { params, runtime, community } = ctx;
  const message = target(ctx, params.requiredInt("peer_id"));
  if (message.out !== 1) throw new VkApiError(920);
  if (Date.now() - message.createdAtMs > runtime.options.messages.editWindowMs) throw new VkApiError(909);
  const { text, keyboard, template, attachments } = content(ctx);
  const after = { text, attachments: attachments ?? [], keyboard: keyboard ?? message.keyboard };
  if (after.text === "" && after.attachments.length === 0)
    throw new VkApiError(100, "message is empty or invalid");
  runtime.state.edits.push({
    groupId: community.id,
    messageId: message.id,
    peerId: message.peerId,
    at: Date.now(),
    before: { text: message.text, attachments: message.attachments, ...keyboardField(message.keyboard) },
    after: { text: after.text, attachments: after.attachments, ...keyboardField(after.keyboard) },
  });
  message.text = after.text;
  message.attachments = after.attachments;
  if (keyboard) message.keyboard = keyboard;
  if (template) message.template = template;
  message.updateTime = nowSeconds();
  message.version = ++community.seq.version;
  runtime.bus.emit(community.id, "message_edit", renderStored(ctx, message));
  return 1;
}

const keyboardField = (keyboard: VkObject | undefined) => (keyboard ? { keyboard } : {});

/** 5.199 answers one item per message; older versions a `{"<id>":1}` map (setting). */
function remove(ctx: MethodContext) {
  messaging(ctx);
  const { params, runtime, community } = ctx;
  const options = runtime.options.messages;
  const forAll = params.bool("delete_for_all") ?? false;
  const spam = params.bool("spam") ?? false;
  const ids = params.ints("message_ids", { max: 1000 });
  const cmids = params.ints("cmids", { max: 100 });
  const peerId = cmids.length > 0 ? params.requiredInt("peer_id") : undefined;
  if (ids.length === 0 && cmids.length === 0) throw new VkApiError(100, "message_ids is undefined");
  const found: { requested: number; message?: Message }[] =
    peerId !== undefined
      ? cmids.map((cmid) => ({
          requested: cmid,
          message: runtime.state.conversations
            .get(`${community.id}:${peerId}`)
            ?.messages.find((m) => m.cmid === cmid),
        }))
      : ids.map((id) => ({ requested: id, message: runtime.state.findMessage(community.id, id)?.message }));
  const map = options.deleteResponse === "map";
  const items = found.map(({ requested, message }) => {
    const refusal = !message
      ? new VkApiError(104)
      : forAll && (message.out !== 1 || Date.now() - message.createdAtMs > options.deleteForAllWindowMs)
        ? new VkApiError(924)
        : undefined;
    if (refusal && map) throw refusal;
    const base = {
      peer_id: message?.peerId ?? peerId ?? 0,
      message_id: message?.id ?? (peerId === undefined ? requested : 0),
      conversation_message_id: message?.cmid ?? (peerId === undefined ? 0 : requested),
    };
    if (refusal || !message)
      return { ...base, response: 0, ...(refusal ? { error: messageError(refusal) } : {}) };
    message.deleted = { forAll, at: Date.now() };
    runtime.state.deletions.push({
      groupId: community.id,
      messageId: message.id,
      peerId: message.peerId,
      cmid: message.cmid,
      forAll,
      spam,
      at: Date.now(),
    });
    return { ...base, response: 1 };
  });
  return map ? Object.fromEntries(items.map((item) => [String(item.message_id), item.response])) : items;
}

/** messages.sendMessageEventAnswer: once per event, within `messageEventTtlMs` (§3.3). */
function answerEvent(ctx: MethodContext) {
  messaging(ctx);
  const { params, runtime, community } = ctx;
  if (!community.botFeatures) throw new VkApiError(912);
  const eventId = params.requiredString("event_id");
  const userId = params.requiredInt("user_id");
  const peerId = params.requiredInt("peer_id");
  const raw = params.string("event_data", { maxLength: 1000 });
  const record: MessageEventRecord | undefined = runtime.state.messageEvents.get(eventId);
  if (!record || record.groupId !== community.id || record.userId !== userId || record.peerId !== peerId) {
    throw new VkApiError(100, "event_id is invalid");
  }
  if (record.answer || Date.now() - record.createdAt > runtime.options.messages.messageEventTtlMs) {
    throw new VkApiError(100, "event_id is expired");
  }
  const eventData = raw === undefined ? undefined : parseEventData(raw);
  record.answer = { eventData, at: Date.now() };
  return 1;
}

function parseEventData(raw: string): unknown {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    throw new VkApiError(100, "event_data is invalid");
  }
  const action = data as Record<string, unknown> | null;
  const valid =
    typeof action === "object" &&
    action !== null &&
    ((action.type === "show_snackbar" && typeof action.text === "string" && [...action.text].length <= 90) ||
      (action.type === "open_link" && typeof action.link === "string") ||
      (action.type === "open_app" && action.app_id !== undefined));
  if (!valid) throw new VkApiError(100, "event_data is invalid");
  return data;
}

const isJson = (value: string) => {
  try {
    JSON.parse(value);
    return true;
  } catch {
    return false;
  }
};

export const messageMethods: MethodTable = {
  "messages.send": send,
  "messages.edit": edit,
  "messages.delete": remove,
  "messages.sendMessageEventAnswer": answerEvent,
};
