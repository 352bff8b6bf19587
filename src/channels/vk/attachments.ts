/**
 * VK attachment strings: `<type><owner_id>_<media_id>[_<access_key>]`, comma-separated in
 * `messages.send`'s `attachment` (e.g. `photo-123_456,doc100_200_ab12`). Pure.
 */
import { AppError } from "../../errors/app-error.ts";

export interface VkAttachmentRef {
  /** `photo`, `video`, `audio`, `doc`, `wall`, `market`, `poll`, `audio_message`, … */
  type: string;
  /** The owner: a user id, or minus a community id. */
  ownerId: number;
  id: number;
  accessKey?: string;
}

/** VK takes at most this many attachments in one message. */
export const maxVkAttachments = 10;

// The pattern vk-io parses with, anchored (reference §3.2).
const attachmentPattern = /^([a-z_]+)(-?\d+)_(\d+)(?:_(\w+))?$/;

export function formatAttachment(ref: VkAttachmentRef): string {
  const text = `${ref.type}${ref.ownerId}_${ref.id}${ref.accessKey ? `_${ref.accessKey}` : ""}`;
  if (!attachmentPattern.test(text) || !Number.isSafeInteger(ref.ownerId) || !Number.isSafeInteger(ref.id))
    throw new AppError("vk_attachment_invalid", { value: text });
  return text;
}

export function parseAttachment(text: string): VkAttachmentRef {
  const match = attachmentPattern.exec(text.trim());
  const [, type, owner, id, accessKey] = match ?? [];
  if (type === undefined || owner === undefined || id === undefined)
    throw new AppError("vk_attachment_invalid", { value: text.slice(0, 100) });
  return { type, ownerId: Number(owner), id: Number(id), ...(accessKey === undefined ? {} : { accessKey }) };
}

/**
 * The `attachment` parameter for a list of attachments (strings are checked, refs formatted), or
 * undefined for none. More than `maxVkAttachments` is refused: split them across messages first.
 */
export function attachmentParam(attachments: readonly (string | VkAttachmentRef)[]): string | undefined {
  if (attachments.length === 0) return undefined;
  if (attachments.length > maxVkAttachments)
    throw new AppError("vk_too_many_attachments", { count: attachments.length, limit: maxVkAttachments });
  return attachments
    .map((item) =>
      typeof item === "string" ? formatAttachment(parseAttachment(item)) : formatAttachment(item),
    )
    .join(",");
}
