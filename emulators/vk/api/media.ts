/**
 * The first and last of the three upload steps (reference §3.5): get an upload URL, then save what
 * the upload server answered. Photos: photos.getMessagesUploadServer → POST `photo` →
 * photos.saveMessagesPhoto(photo, server, hash). Documents, voice messages, graffiti:
 * docs.getMessagesUploadServer(type) → POST `file` → docs.save(file).
 */
import { VkApiError } from "../errors.ts";
import type { Media, Upload, UploadKind } from "../model.ts";
import { docType, photoObject } from "../objects.ts";
import { extensionOf } from "../uploads.ts";
import { type MethodContext, type MethodTable, requireScope } from "./context.ts";

const docTypes = new Set<UploadKind>(["doc", "audio_message", "graffiti"]);

/** An upload URL for a peer that refused the community's messages is 901 (schema). */
function peerOf(ctx: MethodContext): number | undefined {
  const peerId = ctx.params.int("peer_id");
  const { state } = ctx.runtime;
  if (peerId !== undefined && state.users.has(peerId) && !state.canWrite(ctx.community, peerId)) {
    throw new VkApiError(901);
  }
  return peerId;
}

function keep(media: Media, upload: Upload) {
  media.uploadId = upload.id;
  media.bytes = upload.bytes;
  media.contentType = upload.contentType;
  upload.mediaId = media.id;
  return media;
}

/** A coarse 128-point waveform (0–31) drawn from the bytes, so that it is stable per file. */
function waveform(bytes: Buffer): number[] {
  return Array.from({ length: 128 }, (_, i) => (bytes[Math.floor((i * bytes.length) / 128)] ?? 0) % 32);
}

function saveDoc(ctx: MethodContext, upload: Upload): Media {
  const { state } = ctx.runtime;
  const ownerId = -ctx.community.id;
  const found = upload.probe;
  const kind = upload.kind === "photo" ? "doc" : upload.kind;
  const url = (id: number) => `${ctx.runtime.baseUrl()}/media/${id}`;
  if (kind === "audio_message") {
    return state.addMedia("audio_message", ownerId, (id, accessKey) => ({
      id,
      owner_id: ownerId,
      duration: Math.max(1, Math.round(found.durationSec ?? upload.size / 2000)),
      waveform: waveform(upload.bytes),
      link_ogg: url(id),
      link_mp3: url(id),
      access_key: accessKey,
    }));
  }
  if (kind === "graffiti") {
    return state.addMedia("graffiti", ownerId, (id, accessKey) => ({
      id,
      owner_id: ownerId,
      url: url(id),
      width: found.width ?? 0,
      height: found.height ?? 0,
      access_key: accessKey,
    }));
  }
  const ext = extensionOf(upload.filename) || "dat";
  const tags = ctx.params.list("tags");
  return state.addMedia("doc", ownerId, (id, accessKey) => ({
    id,
    owner_id: ownerId,
    title: ctx.params.string("title") ?? (upload.filename || `file.${ext}`),
    size: upload.size,
    ext,
    url: url(id),
    date: Math.floor(Date.now() / 1000),
    type: docType(ext),
    access_key: accessKey,
    ...(tags.length > 0 ? { tags } : {}),
  }));
}

export const mediaMethods: MethodTable = {
  "photos.getMessagesUploadServer": (ctx) => {
    requireScope(ctx, "photos");
    const peerId = peerOf(ctx);
    const url = ctx.runtime.uploads.urlFor({
      kind: "photo",
      groupId: ctx.community.id,
      ...(peerId !== undefined ? { peerId } : {}),
    });
    return { album_id: -64, upload_url: url, user_id: 0, group_id: ctx.community.id };
  },

  "photos.saveMessagesPhoto": (ctx) => {
    requireScope(ctx, "photos");
    const upload = ctx.runtime.uploads.photoUpload(ctx.params.requiredString("photo"));
    if (!upload || upload.groupId !== ctx.community.id) throw new VkApiError(100, "photos_list is invalid");
    if (ctx.params.int("server") !== upload.server) throw new VkApiError(118);
    if (ctx.params.string("hash") !== upload.hash) throw new VkApiError(121);
    const saved = upload.mediaId === undefined ? undefined : ctx.runtime.state.mediaById(upload.mediaId);
    if (saved) return [saved.object];
    const found = upload.probe;
    const ownerId = -ctx.community.id;
    const media = ctx.runtime.state.addMedia("photo", ownerId, (id, accessKey) =>
      photoObject(
        id,
        ownerId,
        accessKey,
        { width: found.width ?? 1, height: found.height ?? 1 },
        `${ctx.runtime.baseUrl()}/media/${id}`,
      ),
    );
    return [keep(media, upload).object];
  },

  "docs.getMessagesUploadServer": (ctx) => {
    requireScope(ctx, "docs");
    const type = (ctx.params.string("type") ?? "doc") as UploadKind;
    if (!docTypes.has(type)) throw new VkApiError(100, "type is invalid");
    const peerId = peerOf(ctx);
    const url = ctx.runtime.uploads.urlFor({
      kind: type,
      groupId: ctx.community.id,
      ...(peerId !== undefined ? { peerId } : {}),
    });
    return { upload_url: url };
  },

  "docs.save": (ctx) => {
    requireScope(ctx, "docs");
    const upload = ctx.runtime.uploads.docUpload(ctx.params.requiredString("file"));
    if (!upload || upload.groupId !== ctx.community.id) throw new VkApiError(105);
    const saved = upload.mediaId === undefined ? undefined : ctx.runtime.state.mediaById(upload.mediaId);
    const media = saved ?? keep(saveDoc(ctx, upload), upload);
    return { type: media.kind, [media.kind]: media.object };
  },
};
