import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AppError } from "../../errors/app-error.ts";
import { attachmentParam, formatAttachment, parseAttachment } from "./attachments.ts";

describe("attachment strings", () => {
  it("formats with and without an access key", () => {
    assert.equal(formatAttachment({ type: "photo", ownerId: -123, id: 456 }), "photo-123_456");
    assert.equal(
      formatAttachment({ type: "doc", ownerId: 100, id: 200, accessKey: "ab12" }),
      "doc100_200_ab12",
    );
    assert.equal(
      formatAttachment({ type: "audio_message", ownerId: 1, id: 2, accessKey: "k" }),
      "audio_message1_2_k",
    );
  });

  it("parses what it formats", () => {
    for (const text of ["photo-123_456", "doc100_200_ab12", "audio_message1_2_k", "wall-1_2"])
      assert.equal(formatAttachment(parseAttachment(text)), text);
    assert.deepEqual(parseAttachment("photo100172_166443618"), {
      type: "photo",
      ownerId: 100172,
      id: 166443618,
    });
  });

  it("refuses what is not an attachment", () => {
    for (const text of [
      "",
      "photo",
      "photo123",
      "Photo1_2",
      "photo1_2_",
      "photo1_2_k-y",
      "https://vk.com/photo1_2",
    ])
      assert.throws(
        () => parseAttachment(text),
        (e: unknown) => e instanceof AppError && e.code === "vk_attachment_invalid",
        text,
      );
    assert.throws(() => formatAttachment({ type: "photo", ownerId: 1.5, id: 2 }), AppError);
  });

  it("joins up to ten, refuses more", () => {
    assert.equal(attachmentParam([]), undefined);
    assert.equal(attachmentParam(["photo1_2", { type: "doc", ownerId: -3, id: 4 }]), "photo1_2,doc-3_4");
    const eleven = Array.from({ length: 11 }, (_, i) => `photo1_${i}`);
    assert.throws(
      () => attachmentParam(eleven),
      (e: unknown) => e instanceof AppError && e.code === "vk_too_many_attachments" && e.params.count === 11,
    );
  });
});
