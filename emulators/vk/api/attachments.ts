/**
 * The `attachment` parameter (reference §3.2): comma-separated `<type><owner_id>_<media_id>[_<key>]`,
 * parsed with vk-io's pattern. Photos, documents, audio messages, graffiti and wall posts are checked
 * against what the emulator knows (a voice message may be named `doc…` or `audio_message…`); types
 * the emulator does not model pass as stubs.
 */
import { VkApiError } from "../errors.ts";
import type { MediaKind, VkObject } from "../model.ts";
import { renderWallPost } from "../objects.ts";
import type { Runtime } from "../runtime.ts";

const pattern = /^([a-z_]+)(-?\d+)_(\d+)_?(\w+)?$/;
const maxAttachments = 10;

const mediaKinds: Record<string, readonly MediaKind[]> = {
  photo: ["photo"],
  doc: ["doc", "audio_message", "graffiti"],
  audio_message: ["audio_message"],
  graffiti: ["graffiti"],
};

export function resolveAttachments(raw: string | undefined, runtime: Runtime): VkObject[] {
  if (raw === undefined) return [];
  const items = raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (items.length > maxAttachments) throw new VkApiError(100, "attachment is invalid: too many attachments");
  const strict = runtime.options.messages.attachmentCheck === "strict";
  return items.map((item) => {
    const match = pattern.exec(item);
    if (!match) throw new VkApiError(100, `attachment is invalid: ${item}`);
    const [, type = "", owner = "0", id = "0", key] = match;
    const ownerId = Number(owner);
    const mediaId = Number(id);
    const kinds = mediaKinds[type];
    if (kinds) {
      const media = runtime.state.findMedia(kinds, ownerId, mediaId);
      if (media) return { type: media.kind, [media.kind]: media.object };
    } else if (type === "wall") {
      const post = runtime.state.wallPost(ownerId, mediaId);
      if (post) return { type, wall: renderWallPost(post, runtime.options.messages) };
    } else {
      return stub(type, ownerId, mediaId, key);
    }
    if (strict) throw new VkApiError(100, `attachment is invalid: ${item} not found`);
    return stub(type, ownerId, mediaId, key);
  });
}

const stub = (type: string, ownerId: number, id: number, key: string | undefined): VkObject => ({
  type,
  [type]: { id, owner_id: ownerId, ...(key ? { access_key: key } : {}) },
});
