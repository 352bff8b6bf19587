import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { emulatorWithCommunity, type Json } from "./test-support.ts";

type Env = Awaited<ReturnType<typeof emulatorWithCommunity>>;

/** A PNG header is all the probe reads. */
function png(width: number, height: number): Buffer {
  const header = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");
  const size = Buffer.alloc(8);
  size.writeUInt32BE(width, 0);
  size.writeUInt32BE(height, 4);
  return Buffer.concat([header, size, Buffer.alloc(16)]);
}

function oggPage(granule: bigint, data: Buffer): Buffer {
  const head = Buffer.alloc(27);
  head.write("OggS", 0, "latin1");
  head.writeBigInt64LE(granule, 6);
  head[26] = 1;
  return Buffer.concat([head, Buffer.from([data.length]), data]);
}

/** OGG/Opus, mono, 16 kHz input, 3 s (pre-skip 312). */
function opus(): Buffer {
  const head = Buffer.alloc(19);
  head.write("OpusHead", 0, "latin1");
  head[8] = 1;
  head[9] = 1;
  head.writeUInt16LE(312, 10);
  head.writeUInt32LE(16000, 12);
  const tags = Buffer.from("OpusTags\x08\x00\x00\x00emulator\x00\x00\x00\x00", "latin1");
  return Buffer.concat([
    oggPage(0n, head),
    oggPage(0n, tags),
    oggPage(48000n * 3n + 312n, Buffer.alloc(40, 7)),
  ]);
}

const mp3 = () => Buffer.concat([Buffer.from([0xff, 0xfb, 0x90, 0xc4]), Buffer.alloc(400)]);

async function upload(
  url: string,
  field: string,
  bytes: Buffer,
  filename: string,
  type: string,
): Promise<Json> {
  const form = new FormData();
  form.set(field, new Blob([new Uint8Array(bytes)], { type }), filename);
  const response = await fetch(url, { method: "POST", body: form });
  assert.equal(response.status, 200);
  return (await response.json()) as Json;
}

/** The way vk-io streams a file of unknown length: multipart, chunked. */
function uploadChunked(url: string, field: string, bytes: Buffer, filename: string): Promise<Json> {
  const boundary = "----emulator";
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\n`,
    ),
    Buffer.from("Content-Type: audio/ogg\r\n\r\n"),
    bytes,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: "POST",
      headers: { "Content-Type": `multipart/form-data; boundary=${boundary}` },
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(JSON.parse(Buffer.concat(chunks).toString()) as Json));
    });
    req.on("error", reject);
    req.write(body.subarray(0, 50));
    req.end(body.subarray(50));
  });
}

describe("VK emulator: uploads", () => {
  let env: Env;
  before(async () => {
    env = await emulatorWithCommunity({ rateLimit: { enabled: false } });
  });
  after(() => env.vk.close());

  it("photo: upload server, POST field photo, saveMessagesPhoto, then send it", async () => {
    const server = await env.call("photos.getMessagesUploadServer", { peer_id: env.user.id });
    assert.equal(server.response.album_id, -64);
    assert.equal(server.response.group_id, env.community.id);
    const uploaded = await upload(server.response.upload_url, "photo", png(640, 480), "cat.png", "image/png");
    assert.equal(typeof uploaded.server, "number");
    assert.equal(typeof uploaded.photo, "string");
    assert.match(uploaded.hash, /^[0-9a-f]{32}$/);
    const saved = await env.call("photos.saveMessagesPhoto", uploaded);
    const [photo] = saved.response;
    assert.equal(photo.owner_id, -env.community.id);
    assert.equal(photo.sizes.at(-1).width, 640);
    const sent = await env.call("messages.send", {
      peer_id: env.user.id,
      random_id: 1,
      attachment: `photo${photo.owner_id}_${photo.id}_${photo.access_key}`,
    });
    assert.ok(sent.response, JSON.stringify(sent));
    const [reply] = env.vk.control.events({ type: "message_reply" });
    assert.deepEqual(reply?.object.attachments, [{ type: "photo", photo }]);
    const served = await fetch(photo.sizes[0].url);
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), png(640, 480));
  });

  it("photo: accepts field file, refuses bad images with photo [] and wrong server or hash", async () => {
    const { response } = await env.call("photos.getMessagesUploadServer", {});
    const viaFile = await upload(response.upload_url, "file", png(10, 10), "a.png", "image/png");
    assert.equal(
      await env.call("photos.saveMessagesPhoto", { ...viaFile, hash: "0" }).then((a) => a.error.error_code),
      121,
    );
    assert.equal(
      await env.call("photos.saveMessagesPhoto", { ...viaFile, server: 1 }).then((a) => a.error.error_code),
      118,
    );
    assert.ok((await env.call("photos.saveMessagesPhoto", viaFile)).response);
    const thin = await upload(response.upload_url, "photo", png(10, 300), "thin.png", "image/png");
    assert.equal(thin.photo, "[]");
    const refused = await env.call("photos.saveMessagesPhoto", thin);
    assert.equal(refused.error.error_code, 100);
    const text = await upload(response.upload_url, "photo", Buffer.from("hello"), "a.txt", "text/plain");
    assert.equal(text.photo, "[]");
    assert.match(env.vk.control.uploads({ kind: "photo" }).at(-1)?.rejectReason ?? "", /JPG, PNG or GIF/);
  });

  it("audio message: the three steps keep the bytes, and the result is sendable as audio_message or doc", async () => {
    const server = await env.call("docs.getMessagesUploadServer", {
      type: "audio_message",
      peer_id: env.user.id,
    });
    const bytes = opus();
    const uploaded = await uploadChunked(server.response.upload_url, "file", bytes, "voice.ogg");
    assert.match(uploaded.file, /\|ogg\|/);
    const saved = await env.call("docs.save", { file: uploaded.file });
    assert.equal(saved.response.type, "audio_message");
    const voice = saved.response.audio_message;
    assert.equal(voice.owner_id, -env.community.id);
    assert.equal(voice.duration, 3);
    assert.equal(voice.waveform.length, 128);
    for (const attachment of [
      `audio_message${voice.owner_id}_${voice.id}_${voice.access_key}`,
      `doc${voice.owner_id}_${voice.id}`,
    ]) {
      const sent = await env.call("messages.send", {
        peer_id: env.user.id,
        random_id: attachment.length,
        attachment,
      });
      assert.ok(sent.response, JSON.stringify(sent));
    }
    const last = env.vk.control.outbox(env.community.id).messages.at(-1);
    assert.deepEqual(last?.attachments, [{ type: "audio_message", audio_message: voice }]);
    const record = env.vk.control.uploads({ kind: "audio_message" }).at(-1);
    assert.equal(record?.filename, "voice.ogg");
    assert.equal(record?.contentType, "audio/ogg");
    assert.deepEqual(record?.probe, {
      container: "ogg",
      codec: "opus",
      channels: 1,
      sampleRate: 16000,
      durationSec: 3,
    });
    const raw = await fetch(`${env.vk.url}/_control/uploads/${record?.id}/bytes`);
    assert.deepEqual(Buffer.from(await raw.arrayBuffer()), bytes);
  });

  it("documents: MP3 is refused as doc, accepted as audio_message; a made-up file is 105", async () => {
    const doc = await env.call("docs.getMessagesUploadServer", { type: "doc" });
    const refused = await upload(doc.response.upload_url, "file", mp3(), "song.mp3", "audio/mpeg");
    assert.match(refused.error, /mp3/);
    const pdf = await upload(
      doc.response.upload_url,
      "file",
      Buffer.from("%PDF-1.4"),
      "offer.pdf",
      "application/pdf",
    );
    const saved = await env.call("docs.save", { file: pdf.file, title: "Offer" });
    assert.equal(saved.response.type, "doc");
    assert.equal(saved.response.doc.title, "Offer");
    assert.equal(saved.response.doc.ext, "pdf");
    const voice = await env.call("docs.getMessagesUploadServer", { type: "audio_message" });
    const fromMp3 = await upload(voice.response.upload_url, "file", mp3(), "note.mp3", "audio/mpeg");
    assert.match(fromMp3.file, /\|ogg\|/, "transcoded, as observed");
    assert.deepEqual(env.vk.control.uploads({ kind: "audio_message" }).at(-1)?.probe, {
      container: "mp3",
      codec: "mp3",
      channels: 1,
      sampleRate: 44100,
      durationSec: 0.03,
    });
    const wav = Buffer.concat([Buffer.from("RIFF\0\0\0\0WAVE", "latin1"), Buffer.alloc(40)]);
    assert.match((await upload(voice.response.upload_url, "file", wav, "a.wav", "audio/wav")).error, /OGG/);
    assert.equal((await env.call("docs.save", { file: "1|2|3" })).error.error_msg, "Couldn't save file");
    assert.equal((await env.call("docs.getMessagesUploadServer", { type: "video" })).error.error_code, 100);
  });

  it("lets faults hit the upload server", async () => {
    const { response } = await env.call("photos.getMessagesUploadServer", {});
    env.vk.control.addFault({ target: "upload", groupId: env.community.id, status: 502 });
    const form = new FormData();
    form.set("photo", new Blob([new Uint8Array(png(5, 5))]), "a.png");
    assert.equal((await fetch(response.upload_url, { method: "POST", body: form })).status, 502);
    assert.equal(
      typeof (await upload(response.upload_url, "photo", png(5, 5), "a.png", "image/png")).hash,
      "string",
    );
  });

  it("refuses an upload URL for a user who denied messages (901)", async () => {
    env.vk.control.denyMessages(env.community.id, env.user.id);
    const denied = await env.call("photos.getMessagesUploadServer", { peer_id: env.user.id });
    assert.equal(denied.error.error_code, 901);
    env.vk.control.allowMessages(env.community.id, env.user.id);
  });
});
