/**
 * VK objects as the API and the events render them (vk-api-schema 5.199, reference §1.7):
 * messages, users, communities, wall posts, comments of every kind, and uploaded media.
 */
import type { VkEmulatorOptions } from "./config.ts";
import type { Comment, Community, Message, User, VkObject, WallPost } from "./model.ts";

type TextOptions = Pick<VkEmulatorOptions["messages"], "htmlEscape" | "newlineAsBr">;

/** "text arrives HTML-escaped" (§1.7); vk-io undoes `&lt; &gt; &amp; &quot; <br>`. */
export function escapeText(text: string, options: TextOptions): string {
  let out = text;
  if (options.htmlEscape) {
    out = out.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }
  if (options.newlineAsBr) out = out.replace(/\n/g, "<br>");
  return out;
}

/** A random id as JSON can carry it (precision beyond 2^53 is lost only in the rendering). */
const randomIdNumber = (value: string) => Number(value);

/** messages_message; `reply_message` one level deep, as VK nests it. */
export function renderMessage(message: Message, options: TextOptions, replied?: Message): VkObject {
  const object: VkObject = {
    date: message.date,
    from_id: message.fromId,
    id: message.id,
    out: message.out,
    version: message.version,
    attachments: message.attachments,
    conversation_message_id: message.cmid,
    fwd_messages: [],
    important: false,
    is_hidden: false,
    peer_id: message.peerId,
    random_id: randomIdNumber(message.randomId),
    text: escapeText(message.text, options),
  };
  if (message.updateTime !== undefined) object.update_time = message.updateTime;
  if (message.payload !== undefined) object.payload = message.payload;
  if (message.keyboard !== undefined) object.keyboard = message.keyboard;
  if (message.template !== undefined) object.template = message.template;
  if (replied) {
    object.reply_message = {
      date: replied.date,
      from_id: replied.fromId,
      text: escapeText(replied.text, options),
      attachments: replied.attachments,
      conversation_message_id: replied.cmid,
      id: replied.id,
      peer_id: replied.peerId,
    };
  }
  return object;
}

export function renderUser(user: User, fields: readonly string[], baseUrl: string): VkObject {
  const object: VkObject = {
    id: user.id,
    first_name: user.firstName,
    last_name: user.lastName,
    can_access_closed: true,
    is_closed: false,
  };
  if (user.deactivated) object.deactivated = user.deactivated;
  for (const field of fields) {
    if (field === "screen_name" || field === "domain") object[field] = user.screenName;
    if (/^photo_(50|100|200)$/.test(field)) object[field] = `${baseUrl}/media/placeholder.png`;
  }
  return object;
}

/** A numeric id nobody knows: VK answers a "DELETED" stub rather than an error. */
export const deletedUser = (id: number): VkObject => ({
  id,
  first_name: "DELETED",
  last_name: "",
  deactivated: "deleted",
});

export function renderGroup(community: Community, fields: readonly string[], baseUrl: string): VkObject {
  const photo = `${baseUrl}/media/placeholder.png`;
  const object: VkObject = {
    id: community.id,
    name: community.name,
    screen_name: community.screenName,
    is_closed: 0,
    type: community.type,
    photo_50: photo,
    photo_100: photo,
    photo_200: photo,
  };
  if (fields.includes("members_count")) object.members_count = community.members.size;
  return object;
}

export function renderWallPost(post: WallPost, options: TextOptions): VkObject {
  return {
    id: post.id,
    owner_id: post.ownerId,
    from_id: post.fromId,
    created_by: post.fromId < 0 ? undefined : post.fromId,
    date: post.date,
    text: escapeText(post.text, options),
    post_type: "post",
    attachments: [],
    comments: { count: 0, can_post: post.commentsClosed ? 0 : 1, groups_can_post: true },
    marked_as_ads: 0,
  };
}

/**
 * A comment as its `*_new / *_edit / *_restore` event carries it: wall comments with thread and
 * parents, photo/video comments with their object's ids, board posts, market comments (§1.7).
 */
export function renderComment(comment: Comment, options: TextOptions): VkObject {
  const owner = -comment.groupId;
  const base: VkObject = {
    id: comment.id,
    from_id: comment.fromId,
    date: comment.date,
    text: escapeText(comment.text, options),
  };
  if (comment.kind === "board") {
    return { ...base, attachments: comment.attachments, topic_id: comment.objectId, topic_owner_id: owner };
  }
  if (comment.kind === "market") {
    return { ...base, market_owner_id: owner, item_id: comment.objectId };
  }
  const wall: VkObject = {
    ...base,
    owner_id: owner,
    parents_stack: comment.parentsStack,
    thread: { count: 0, items: [], can_post: true, show_reply_button: true, groups_can_post: true },
    attachments: comment.attachments,
  };
  if (comment.replyToComment !== undefined) wall.reply_to_comment = comment.replyToComment;
  if (comment.replyToUser !== undefined) wall.reply_to_user = comment.replyToUser;
  if (comment.kind === "wall") return { ...wall, post_id: comment.objectId };
  if (comment.kind === "photo") return { ...wall, photo_id: comment.objectId, photo_owner_id: owner };
  return { ...wall, video_id: comment.objectId, video_owner_id: owner };
}

/** photos_photo as photos.saveMessagesPhoto returns it (album -64, user_id 100 for communities). */
export function photoObject(
  id: number,
  ownerId: number,
  accessKey: string,
  size: { width: number; height: number },
  url: string,
): VkObject {
  const sizes = [
    { type: "s", width: Math.min(75, size.width), height: Math.min(75, size.height) },
    { type: "m", width: Math.min(130, size.width), height: Math.min(130, size.height) },
    { type: "x", width: Math.min(604, size.width), height: Math.min(604, size.height) },
    { type: "base", width: size.width, height: size.height },
  ].map((s) => ({ ...s, url }));
  return {
    id,
    album_id: -64,
    owner_id: ownerId,
    user_id: 100,
    date: Math.floor(Date.now() / 1000),
    sizes,
    text: "",
    has_tags: false,
    access_key: accessKey,
  };
}

/** docs_doc `type`: 1 text, 2 archive, 3 gif, 4 image, 5 audio, 6 video, 7 ebook, 8 unknown. */
export function docType(ext: string): number {
  const groups: [number, string[]][] = [
    [1, ["txt", "doc", "docx", "pdf", "rtf", "odt", "csv", "xls", "xlsx"]],
    [2, ["zip", "rar", "7z", "gz", "tar"]],
    [3, ["gif"]],
    [4, ["jpg", "jpeg", "png", "bmp", "webp", "tif", "tiff"]],
    [5, ["mp3", "ogg", "opus", "wav", "m4a", "flac"]],
    [6, ["mp4", "avi", "mov", "mkv", "webm"]],
    [7, ["epub", "fb2", "djvu"]],
  ];
  return groups.find(([, exts]) => exts.includes(ext))?.[0] ?? 8;
}
