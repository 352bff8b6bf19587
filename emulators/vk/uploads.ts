/**
 * The upload server (reference §3.5): the URLs that photos.getMessagesUploadServer and
 * docs.getMessagesUploadServer hand out, the multipart POST they accept (field `photo` or `file`
 * for photos, `file` for documents), and the media files served back. Every upload is recorded
 * with its bytes, file name, content type and a probe of its format.
 */
import { createHash } from "node:crypto";
import { Hono } from "hono";
import { enact } from "./faults.ts";
import { probe } from "./media-probe.ts";
import type { Upload, UploadKind } from "./model.ts";
import type { Runtime } from "./runtime.ts";
import { hex } from "./state.ts";

interface Ticket {
  kind: UploadKind;
  groupId: number;
  peerId?: number;
}

/** The upload server's number, as `server` in photo answers and inside doc `file` strings. */
export const uploadServerNumber = 874331;

/** A 1×1 transparent PNG for avatars and media the emulator made up. */
export const placeholderPng = Buffer.from(
  "89504e470d0a1a0a0000000d4948445200000001000000010806000000" +
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082",
  "hex",
);

export class UploadServer {
  readonly #tickets = new Map<string, Ticket>();
  readonly #secret = hex(16);

  constructor(private readonly runtime: Pick<Runtime, "state" | "options" | "faults" | "baseUrl">) {}

  /** A fresh upload URL bound to a community (and the peer, when given). */
  urlFor(ticket: Ticket): string {
    const token = hex(16);
    this.#tickets.set(token, ticket);
    const type = ticket.kind === "photo" ? "" : `?type=${ticket.kind}`;
    return `${this.runtime.baseUrl()}/upload/${token}${type}`;
  }

  hashOf(handle: string): string {
    return createHash("md5").update(`${handle}:${this.#secret}`).digest("hex");
  }

  /** The photo upload named by the `photo` string of an upload answer. */
  photoUpload(photo: string): Upload | undefined {
    let key: unknown;
    try {
      const list = JSON.parse(photo) as unknown;
      key = Array.isArray(list) ? (list[0] as { photo?: unknown } | undefined)?.photo : undefined;
    } catch {
      return undefined;
    }
    return this.runtime.state.uploads.find((u) => u.kind === "photo" && u.accepted && u.handle === key);
  }

  /** The document upload named by the `file` string of an upload answer. */
  docUpload(file: string): Upload | undefined {
    return this.runtime.state.uploads.find((u) => u.kind !== "photo" && u.accepted && u.handle === file);
  }

  routes() {
    const app = new Hono();
    app.post("/upload/:token", async (c) => {
      const ticket = this.#tickets.get(c.req.param("token"));
      if (!ticket) return c.json({ error: "invalid upload url" });
      const fault = this.runtime.faults.take("upload", { groupId: ticket.groupId });
      if (fault) {
        const early = await enact(c, fault, this.runtime.baseUrl());
        if (early) return early;
      }
      const body = await c.req.parseBody({ all: true });
      const fields = ticket.kind === "photo" ? ["photo", "file", "photo1", "file1"] : ["file"];
      const field = fields.find((name) => body[name] instanceof File);
      const file = field ? (body[field] as File) : undefined;
      const bytes = file ? Buffer.from(await file.arrayBuffer()) : Buffer.alloc(0);
      const upload = this.runtime.state.newUpload({
        kind: ticket.kind,
        groupId: ticket.groupId,
        ...(ticket.peerId !== undefined ? { peerId: ticket.peerId } : {}),
        field: field ?? "",
        filename: file?.name ?? "",
        contentType: file?.type ?? "",
        size: bytes.length,
        bytes,
        accepted: false,
        probe: probe(bytes),
      });
      const refusal = file ? this.#refusal(upload) : `no file in field ${fields.join(" or ")}`;
      if (ticket.kind === "photo") {
        upload.server = uploadServerNumber;
        if (refusal) {
          upload.rejectReason = refusal;
          return c.json({ server: upload.server, photo: "[]", hash: this.hashOf("[]") });
        }
        upload.accepted = true;
        upload.handle = `${hex(5)}:x`;
        upload.hash = this.hashOf(upload.handle);
        const photo = JSON.stringify([{ photo: upload.handle, sizes: [], kid: hex(16) }]);
        return c.json({ server: upload.server, photo, hash: upload.hash });
      }
      if (refusal) {
        upload.rejectReason = refusal;
        return c.json({ error: refusal });
      }
      upload.accepted = true;
      upload.handle = this.#fileString(upload);
      return c.json({ file: upload.handle });
    });
    app.get("/media/placeholder.png", (c) => c.body(placeholderPng, 200, { "Content-Type": "image/png" }));
    app.get("/media/:id", (c) => {
      const media = this.runtime.state.mediaById(Number(c.req.param("id")));
      if (!media?.bytes) return c.body(placeholderPng, 200, { "Content-Type": "image/png" });
      return c.body(new Uint8Array(media.bytes), 200, {
        "Content-Type": media.contentType || "application/octet-stream",
      });
    });
    return app;
  }

  /** Why VK would refuse these bytes, or undefined. */
  #refusal(upload: Upload): string | undefined {
    const { uploads } = this.runtime.options;
    const found = upload.probe;
    const ext = extensionOf(upload.filename);
    if (upload.kind === "photo") {
      if (upload.size > uploads.photoMaxBytes) return "photo is too big";
      if (!uploads.checkPhotoFormat) return undefined;
      if (!["jpeg", "png", "gif"].includes(found.container)) return "photo must be JPG, PNG or GIF";
      const { width = 0, height = 0 } = found;
      if (width <= 0 || height <= 0) return "photo size is unknown";
      if (width + height > 14000) return "photo width plus height exceeds 14000 px";
      if (Math.min(width, height) / Math.max(width, height) < 1 / 20)
        return "photo aspect ratio exceeds 1:20";
      return undefined;
    }
    if (upload.size > uploads.docMaxBytes) return "file is too big";
    if (upload.kind === "doc") {
      if (found.container === "mp3" || ext === "mp3") return "mp3 files are not accepted as documents";
      if (found.container === "exe" || ["exe", "bat", "cmd", "msi", "com", "scr"].includes(ext)) {
        return "executable files are not accepted";
      }
      return undefined;
    }
    if (upload.kind === "graffiti") return found.container === "png" ? undefined : "graffiti must be PNG";
    const formats: readonly string[] = uploads.audioMessageFormats;
    if (!formats.includes("any") && !formats.includes(found.container)) {
      return "audio message must be OGG/Opus";
    }
    if ((found.durationSec ?? 0) > 300) return "audio message is longer than 5 minutes";
    return undefined;
  }

  /** `owner|0|peer|server|hash|ext|size|name|token`, as in the documented examples. */
  #fileString(upload: Upload): string {
    const ext = upload.kind === "audio_message" ? "ogg" : extensionOf(upload.filename) || "dat";
    const name = upload.filename.replace(/\|/g, "_") || `file.${ext}`;
    const token = Buffer.from(JSON.stringify({ upload: upload.id })).toString("base64");
    const peer = upload.peerId ?? 0;
    return [-upload.groupId, 0, peer, uploadServerNumber, hex(5), ext, upload.size, name, token].join("|");
  }
}

export const extensionOf = (filename: string) => /\.([A-Za-z0-9]+)$/.exec(filename)?.[1]?.toLowerCase() ?? "";
