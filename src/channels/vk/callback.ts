import { createHash, timingSafeEqual } from "node:crypto";
import type { Attachment } from "../../store/schema.ts";
import type { InboundEvent, PlatformComment, PlatformMessage, Publication } from "../events.ts";

/**
 * VK's Callback API and Bots Long Poll envelopes (`type`, `group_id`, `event_id`, `v`, `secret`,
 * `object`), turned into the hub's inbound events. Anything not understood becomes `unsupported`,
 * never an exception (shared/reference/vk-protocol.md §1).
 */

export interface VkEnvelope {
  type: string;
  group_id: number;
  event_id?: string;
  v?: string;
  secret?: string;
  object?: unknown;
}

export function isEnvelope(value: unknown): value is VkEnvelope {
  const v = value as VkEnvelope;
  return typeof v === "object" && v !== null && typeof v.type === "string" && typeof v.group_id === "number";
}

/** The event's own id; old envelopes have none, so the body's hash stands in. */
export function eventIdOf(envelope: VkEnvelope, body: string): string {
  return envelope.event_id || `sha256:${createHash("sha256").update(body).digest("hex")}`;
}

export function secretMatches(expected: string | undefined, given: string | undefined): boolean {
  if (!expected) return true;
  if (typeof given !== "string") return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

type Obj = Record<string, unknown>;

export function parseVkEvent(envelope: VkEnvelope): InboundEvent {
  const object = (envelope.object ?? {}) as Obj;
  const unsupported = (reason: string): InboundEvent => ({
    type: "unsupported",
    platformType: envelope.type,
    reason,
  });
  switch (envelope.type) {
    case "message_new": {
      const message = object.message as Obj | undefined;
      if (!message) return unsupported("message_new without a message");
      if (isChat(message)) return unsupported("messages in group chats are not supported");
      const clientInfo = object.client_info as Obj | undefined;
      const locale = vkLocales[Number(clientInfo?.lang_id)];
      return {
        type: "message",
        message: toMessage(message, "from"),
        capabilities: clientInfo,
        ...(locale ? { locale } : {}),
      };
    }
    case "message_reply": {
      if (isChat(object)) return unsupported("messages in group chats are not supported");
      const randomId = Number(object.random_id ?? 0);
      return {
        type: "message_echo",
        message: toMessage(object, "peer"),
        sendKey: randomId ? sendKeyFor(String(object.peer_id), randomId) : null,
        adminId: object.admin_author_id ? String(object.admin_author_id) : null,
      };
    }
    case "message_edit": {
      if (isChat(object)) return unsupported("messages in group chats are not supported");
      const message = toMessage(object, "peer");
      return {
        type: "message_edited",
        externalId: message.externalId,
        userId: message.userId,
        text: message.text,
        attachments: message.attachments,
        editedAt: object.update_time ? new Date(Number(object.update_time) * 1000) : new Date(),
      };
    }
    case "message_read":
      if (isChat(object)) return unsupported("messages in group chats are not supported");
      return {
        type: "read",
        userId: String(object.from_id ?? object.peer_id),
        upToExternalId: String(object.read_message_id),
      };
    case "message_allow":
      return { type: "consent", userId: String(object.user_id), state: "allowed" };
    case "message_deny":
      return { type: "consent", userId: String(object.user_id), state: "denied" };
    case "message_event":
      return {
        type: "button",
        userId: String(object.user_id),
        data: {
          event_id: object.event_id,
          peer_id: object.peer_id,
          payload: object.payload ?? null,
          conversation_message_id: object.conversation_message_id ?? null,
        },
      };
    case "wall_reply_new":
    case "wall_reply_edit":
    case "wall_reply_restore":
    case "wall_reply_delete":
    case "photo_comment_new":
    case "photo_comment_edit":
    case "photo_comment_restore":
    case "photo_comment_delete":
    case "video_comment_new":
    case "video_comment_edit":
    case "video_comment_restore":
    case "video_comment_delete":
    case "board_post_new":
    case "board_post_edit":
    case "board_post_restore":
    case "board_post_delete":
    case "market_comment_new":
    case "market_comment_edit":
    case "market_comment_restore":
    case "market_comment_delete":
      return parseComment(envelope.type, object);
    case "lead_forms_new":
      return {
        type: "lead",
        leadId: String(object.lead_id),
        formId: String(object.form_id),
        formName: typeof object.form_name === "string" ? object.form_name : null,
        userId: String(object.user_id),
        answers: Array.isArray(object.answers)
          ? (object.answers as Obj[]).map((a) => ({
              key: String(a.key ?? ""),
              question: String(a.question ?? ""),
              answer: String(a.answer ?? ""),
            }))
          : [],
      };
    case "group_join":
      return {
        type: "membership",
        userId: String(object.user_id),
        joined: true,
        detail: (object.join_type as string) ?? null,
      };
    case "group_leave":
      return {
        type: "membership",
        userId: String(object.user_id),
        joined: false,
        detail: object.self ? "self" : "removed",
      };
    default:
      return unsupported("the hub does not handle this event type");
  }
}

/** Ties a send to its echo: VK deduplicates `random_id` per peer, so the pair identifies it. */
export function sendKeyFor(peerId: string, randomId: number): string {
  return `${peerId}:${randomId}`;
}

function isChat(message: Obj): boolean {
  return Number(message.peer_id) >= 2_000_000_000;
}

function toMessage(m: Obj, user: "from" | "peer"): PlatformMessage {
  const id = Number(m.id ?? 0);
  return {
    // Community messages have a message id; the per-peer id stands in when it is 0.
    externalId: id ? String(id) : `${m.peer_id}:${m.conversation_message_id}`,
    userId: String(user === "from" ? m.from_id : m.peer_id),
    text: unescapeText(m.text),
    attachments: toAttachments(m.attachments),
    sentAt: new Date(Number(m.date ?? 0) * 1000),
    payload: parsePayload(m.payload),
    replyToExternalId: replyIdOf(m),
  };
}

/** The id of the message a VK message quotes (`reply_message`), in the form `toMessage` stores. */
function replyIdOf(m: Obj): string | null {
  const reply = m.reply_message;
  if (typeof reply !== "object" || reply === null) return null;
  const quoted = reply as Obj;
  const id = Number(quoted.id ?? 0);
  if (id) return String(id);
  return quoted.conversation_message_id
    ? `${quoted.peer_id ?? m.peer_id}:${quoted.conversation_message_id}`
    : null;
}

function parseComment(type: string, c: Obj): InboundEvent {
  const publication = publicationOf(type, c);
  const action = type.endsWith("_edit")
    ? "edit"
    : type.endsWith("_delete")
      ? "delete"
      : type.endsWith("_restore")
        ? "restore"
        : "new";
  const fromId = Number(c.from_id ?? c.deleter_id ?? c.user_id ?? 0);
  const comment: PlatformComment = {
    externalId: `${publication.ref}:c${c.id}`,
    userId: fromId > 0 ? String(fromId) : null,
    text: action === "delete" ? null : unescapeText(c.text),
    attachments: toAttachments(c.attachments),
    sentAt: c.date ? new Date(Number(c.date) * 1000) : new Date(),
    link: commentLink(type, publication, String(c.id)),
    replyToCommentId: c.reply_to_comment ? String(c.reply_to_comment) : null,
  };
  return { type: "comment", action, publication, comment };
}

/**
 * A comment's publication. A deletion names it by the publication's `owner_id` (and, on the
 * wall, `post_id`; on a product, `item_id`) where the other events have `photo_owner_id`,
 * `video_owner_id` and `market_owner_id` (vksdk's `events/objects.go`).
 */
function publicationOf(type: string, c: Obj): Publication {
  const [prefix, ownerId, id] = type.startsWith("wall_reply")
    ? ["wall", c.post_owner_id ?? c.owner_id, c.post_id]
    : type.startsWith("photo_comment")
      ? ["photo", c.photo_owner_id ?? c.owner_id, c.photo_id]
      : type.startsWith("video_comment")
        ? ["video", c.video_owner_id ?? c.owner_id, c.video_id]
        : type.startsWith("board_post")
          ? ["topic", c.topic_owner_id, c.topic_id]
          : ["market", c.market_owner_id ?? c.owner_id, c.item_id ?? c.photo_id];
  const ref = `${prefix}${ownerId}_${id}`;
  if (prefix === "market") return { ref, link: `https://vk.com/market${ownerId}?w=product${ownerId}_${id}` };
  return { ref, link: `https://vk.com/${ref}` };
}

function commentLink(type: string, publication: Publication, id: string): string {
  if (type.startsWith("wall_reply")) return `${publication.link}?reply=${id}`;
  if (type.startsWith("board_post")) return `${publication.link}?post=${id}`;
  return publication.link;
}

/** `client_info.lang_id` as VK numbers the languages (VK ID SDK's `Languages`). */
const vkLocales: Readonly<Record<number, string>> = {
  0: "ru",
  1: "uk",
  3: "en",
  4: "es",
  6: "de",
  15: "pl",
  16: "fr",
  65: "uz",
  82: "tr",
  97: "kk",
  114: "be",
};

/** VK escapes message text as HTML (vk-io unescapes the same entities). */
function unescapeText(text: unknown): string | null {
  if (typeof text !== "string" || text === "") return null;
  return text
    .replace(/<br>/g, "\n")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, "&");
}

function parsePayload(payload: unknown): unknown {
  if (typeof payload !== "string") return payload ?? null;
  try {
    return JSON.parse(payload);
  } catch {
    return payload;
  }
}

function toAttachments(list: unknown): Attachment[] {
  if (!Array.isArray(list)) return [];
  return (list as Obj[]).map((item) => {
    const kind = String(item.type);
    const media = (item[kind] ?? {}) as Obj;
    const key = media.access_key ? `_${media.access_key}` : "";
    const attachment: Attachment = { kind, externalId: `${kind}${media.owner_id}_${media.id}${key}` };
    const url = mediaUrl(kind, media);
    if (url) attachment.url = url;
    if (typeof media.title === "string") attachment.name = media.title;
    if (typeof media.size === "number") attachment.size = media.size;
    return attachment;
  });
}

function mediaUrl(kind: string, media: Obj): string | undefined {
  if (kind === "photo" && Array.isArray(media.sizes)) {
    const sizes = media.sizes as { url?: string; width?: number }[];
    return [...sizes].sort((a, b) => (b.width ?? 0) - (a.width ?? 0))[0]?.url;
  }
  if (kind === "audio_message") return (media.link_ogg as string) ?? (media.link_mp3 as string);
  return typeof media.url === "string" ? media.url : undefined;
}
