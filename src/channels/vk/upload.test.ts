import assert from "node:assert/strict";
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { AppError } from "../../errors/app-error.ts";
import { generateAudio } from "../../testing/media.ts";
import { VkClient } from "./api.ts";
import { RawAnswer, type StubRequest, startVkStub, type VkStub, vkError } from "./test-stub.ts";
import { uploadMessageDocument, uploadMessagePhoto, uploadVoiceMessage } from "./upload.ts";

const cleanup: (() => unknown)[] = [];
after(async () => {
  for (const step of cleanup.reverse()) await step();
});

/** A stub VK with upload servers at its own URLs, as the emulator and VK hand them out. */
async function setup(uploadAnswer: (request: StubRequest) => unknown = () => undefined) {
  let stub: VkStub | undefined;
  stub = await startVkStub((request) => {
    const origin = stub?.origin ?? "";
    const method = request.path.replace(/^\/method\//, "");
    if (request.path.startsWith("/upload/")) {
      const custom = uploadAnswer(request);
      if (custom !== undefined) return custom;
      return request.path === "/upload/photo"
        ? { server: 831, photo: '[{"photo":"abc"}]', hash: "h4sh" }
        : { file: `743784474|0|0|${request.params.type}|e24cd4aa3c` };
    }
    switch (method) {
      case "photos.getMessagesUploadServer":
        return {
          response: {
            upload_url: `${origin}/upload/photo?peer=${request.params.peer_id}`,
            album_id: -3,
            user_id: 0,
            group_id: 77,
          },
        };
      case "photos.saveMessagesPhoto":
        return {
          response: [{ id: 457239017, owner_id: -77, access_key: "ak1", album_id: -3, date: 1, sizes: [] }],
        };
      case "docs.getMessagesUploadServer":
        return { response: { upload_url: `${origin}/upload/doc?type=${request.params.type}` } };
      case "docs.save":
        return String(request.params.file).includes("audio_message")
          ? {
              response: {
                type: "audio_message",
                audio_message: {
                  id: 12,
                  owner_id: -77,
                  duration: 2,
                  waveform: [],
                  link_ogg: "x",
                  link_mp3: "y",
                  access_key: "vk",
                },
              },
            }
          : {
              response: {
                type: "doc",
                doc: { id: 34, owner_id: -77, title: request.params.title, ext: "pdf", size: 3 },
              },
            };
      default:
        return vkError(3, "Unknown method passed");
    }
  });
  const client = new VkClient({ tokens: ["t1", "t2"], groupId: 77, apiBaseUrl: stub.apiBaseUrl });
  cleanup.push(
    () => stub?.close(),
    () => client.close(),
  );
  return { stub, client };
}

function multipartField(request: StubRequest): string | undefined {
  return /name="([^"]+)"; filename="([^"]+)"/.exec(request.body.toString("latin1"))?.slice(1).join(":");
}

describe("VK uploads", () => {
  it("uploads a photo in three steps against the URL the API returns", async () => {
    const { stub, client } = await setup();
    const photo = await uploadMessagePhoto(client, {
      peerId: 5,
      data: Buffer.from("png bytes"),
      contentType: "image/png",
    });
    assert.deepEqual(photo, {
      attachment: "photo-77_457239017_ak1",
      ref: { type: "photo", ownerId: -77, id: 457239017, accessKey: "ak1" },
    });
    const paths = stub.requests.map((r) => r.path);
    assert.deepEqual(paths, [
      "/method/photos.getMessagesUploadServer",
      "/upload/photo",
      "/method/photos.saveMessagesPhoto",
    ]);
    assert.equal(stub.requests[0]?.params.peer_id, "5");
    assert.equal(multipartField(stub.requests[1] as StubRequest), "photo:photo.png");
    const save = stub.requests[2]?.params ?? {};
    assert.deepEqual([save.server, save.photo, save.hash], ["831", '[{"photo":"abc"}]', "h4sh"]);
    // One token for all three steps.
    assert.deepEqual(new Set(stub.calls().map((c) => c.params.access_token)).size, 1);
  });

  it("uploads a document with its title", async () => {
    const { stub, client } = await setup();
    const doc = await uploadMessageDocument(client, {
      peerId: 5,
      data: Buffer.from("%PDF"),
      filename: "offer.pdf",
    });
    assert.equal(doc.attachment, "doc-77_34");
    assert.equal(stub.requests[0]?.params.type, "doc");
    assert.equal(multipartField(stub.requests[1] as StubRequest), "file:offer.pdf");
    assert.equal(stub.requests[2]?.params.title, "offer.pdf");
  });

  it("converts audio to a voice message and uploads it as audio_message", async () => {
    const mp3 = join(tmpdir(), `switchboard-voice-test-${process.pid}.mp3`);
    cleanup.push(() => rm(mp3, { force: true }));
    await generateAudio(mp3, { seconds: 2 });
    const { stub, client } = await setup();
    const voice = await uploadVoiceMessage(client, { peerId: 5, audio: await readFile(mp3) });
    assert.deepEqual(voice, {
      attachment: "doc-77_12_vk",
      ref: { type: "doc", ownerId: -77, id: 12, accessKey: "vk" },
      durationSeconds: 2,
    });
    assert.equal(stub.requests[0]?.params.type, "audio_message");
    const body = stub.requests[1]?.body ?? Buffer.alloc(0);
    assert.equal(multipartField(stub.requests[1] as StubRequest), "file:voice.ogg");
    assert.ok(body.includes("OggS") && body.includes("OpusHead"), "the uploaded file is Ogg/Opus");
  });

  it("names what the upload server refused, never saving it, and its failing status", async () => {
    const { stub, client } = await setup(() => ({
      error: "ERR_UPLOAD_BAD_IMAGE_SIZE: market photo min size 400x400",
    }));
    await assert.rejects(
      uploadMessagePhoto(client, { peerId: 5, data: Buffer.from("x") }),
      (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, "vk_file_refused");
        assert.equal(error.entry.class, "invalid_input", "the same bytes are refused again: not retried");
        assert.match(String(error.params.reason), /ERR_UPLOAD_BAD_IMAGE_SIZE/);
        return true;
      },
    );
    assert.ok(!stub.requests.some((r) => r.path.includes("save")), "a refused file is not saved");
    const { client: keptNone } = await setup((request) =>
      request.path === "/upload/photo" ? { server: 831, photo: "[]", hash: "h" } : undefined,
    );
    await assert.rejects(
      uploadMessagePhoto(keptNone, { peerId: 5, data: Buffer.from("not an image") }),
      (error: unknown) =>
        error instanceof AppError &&
        error.code === "vk_file_refused" &&
        /kept no photo/.test(String(error.params.reason)),
    );
    const { client: failing } = await setup(() => new RawAnswer(500, "oops"));
    await assert.rejects(
      uploadMessageDocument(failing, { peerId: 5, data: Buffer.from("x") }),
      (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, "vk_upload_failed");
        assert.match(String(error.params.reason), /upload server answered Internal Server Error/);
        return true;
      },
    );
  });

  it("maps an API error of the upload steps like any call", async () => {
    const denied = new VkClient({ tokens: ["t"], apiBaseUrl: (await startDenying()).apiBaseUrl });
    cleanup.push(() => denied.close());
    await assert.rejects(
      uploadMessagePhoto(denied, { peerId: 5, data: Buffer.from("x") }),
      (e: unknown) => e instanceof AppError && e.code === "vk_bot_features_disabled",
    );
  });
});

async function startDenying(): Promise<VkStub> {
  const stub = await startVkStub(() =>
    vkError(912, "This is a chat bot feature, change this status in settings"),
  );
  cleanup.push(() => stub.close());
  return stub;
}
