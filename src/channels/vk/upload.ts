/**
 * Photos, documents and voice messages for VK messages, through vk-io's `Upload`: VK's three steps
 * (`*.getMessagesUploadServer` → multipart POST to the URL it returns → `*.save*`), so an emulator
 * that hands out its own upload URLs is exercised exactly like VK. Each upload uses one token for
 * all three steps; failures are catalogued (`vk_upload_failed` when the upload server refuses).
 */
import { AudioMessageAttachment, type DocumentAttachment, type PhotoAttachment } from "vk-io";
import { AppError } from "../../errors/app-error.ts";
import { transcodeVoice, type VoiceOptions } from "../../media/ffmpeg.ts";
import type { VkClient } from "./api.ts";
import { formatAttachment, type VkAttachmentRef } from "./attachments.ts";

export interface UploadedVkMedia {
  /** The `attachment` string for `messages.send`, e.g. `photo-123_456_ab12`. */
  attachment: string;
  ref: VkAttachmentRef;
  /** A voice message's length in seconds, as VK reports it (or as we measured it). */
  durationSeconds?: number;
}

export interface UploadFile {
  /** The conversation the file is for (VK binds message uploads to a peer). */
  peerId: number;
  data: Buffer;
  filename?: string;
  contentType?: string;
}

const imageExtensions: Readonly<Record<string, string>> = {
  "image/jpeg": "jpg",
  "image/png": "png",
  "image/gif": "gif",
  "image/webp": "webp",
};

/** A photo for a message: JPG, PNG or GIF, at most 50 MB, width + height ≤ 14000 px. */
export async function uploadMessagePhoto(client: VkClient, file: UploadFile): Promise<UploadedVkMedia> {
  const extension = (file.contentType ? imageExtensions[file.contentType] : undefined) ?? "jpg";
  const photo: PhotoAttachment = await client.withUpload("photos.saveMessagesPhoto", (upload) =>
    upload.messagePhoto({
      peer_id: file.peerId,
      source: { value: file.data, filename: file.filename ?? `photo.${extension}`, ...contentType(file) },
    }),
  );
  return uploaded("photo", photo);
}

/** A document for a message: any file up to 200 MB except MP3 and executables (VK's rule). */
export async function uploadMessageDocument(
  client: VkClient,
  file: UploadFile & { title?: string },
): Promise<UploadedVkMedia> {
  const filename = file.filename ?? "file.bin";
  const doc: DocumentAttachment = await client.withUpload("docs.save", (upload) =>
    upload.messageDocument({
      peer_id: file.peerId,
      title: file.title ?? filename,
      source: { value: file.data, filename, ...contentType(file) },
    }),
  );
  return uploaded("doc", doc);
}

/**
 * A voice message: the audio (a Buffer or a file path, any format ffmpeg reads) is transcoded to
 * OGG/Opus mono 16 kHz ~16 kbps and uploaded as `audio_message`. Longer than 5 minutes is
 * `media_voice_too_long`; no ffmpeg is `ffmpeg_missing`. The attachment is written `doc…`, as in
 * VK's own bot example (`audio_message…`, vk-io's spelling, is accepted too).
 */
export async function uploadVoiceMessage(
  client: VkClient,
  voice: { peerId: number; audio: Buffer | string; options?: VoiceOptions },
): Promise<UploadedVkMedia> {
  const ogg = await transcodeVoice(voice.audio, voice.options);
  const attachment = await client.withUpload("docs.save", (upload) =>
    upload.audioMessage({
      peer_id: voice.peerId,
      source: { value: ogg.data, filename: "voice.ogg", contentType: "audio/ogg" },
    }),
  );
  const reported = attachment instanceof AudioMessageAttachment ? attachment.duration : undefined;
  return { ...uploaded("doc", attachment), durationSeconds: reported ?? Math.round(ogg.durationSeconds) };
}

function contentType(file: UploadFile): { contentType?: string } {
  return file.contentType ? { contentType: file.contentType } : {};
}

function uploaded(
  type: string,
  attachment: { ownerId: number; id: number; accessKey?: string },
): UploadedVkMedia {
  if (!Number.isSafeInteger(attachment.ownerId) || !Number.isSafeInteger(attachment.id))
    throw new AppError("vk_upload_failed", { reason: "VK saved the file but returned no id for it" });
  const ref: VkAttachmentRef = {
    type,
    ownerId: attachment.ownerId,
    id: attachment.id,
    ...(attachment.accessKey ? { accessKey: attachment.accessKey } : {}),
  };
  return { attachment: formatAttachment(ref), ref };
}
