import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AppError } from "../../errors/app-error.ts";
import { canReplyToComment, commentReplyParams, commentTargetOf } from "./comments.ts";

describe("comment replies", () => {
  it("answers wall posts, threaded under the comment", () => {
    assert.deepEqual(
      commentReplyParams(
        { kind: "wall", ownerId: -77, publicationId: 8, commentId: 3 },
        { message: "Thanks!", guid: "g" },
      ),
      { ownerId: -77, postId: 8, replyToComment: 3, message: "Thanks!", guid: "g" },
    );
  });

  it("refuses comments on anything but wall posts, pointing the admin to VK", () => {
    for (const kind of ["photo", "video", "board", "market"] as const) {
      assert.equal(canReplyToComment(kind), false);
      assert.throws(
        () => commentReplyParams({ kind, ownerId: -77, publicationId: 1 }, { message: "x" }),
        (error: unknown) =>
          error instanceof AppError &&
          error.code === "vk_comment_reply_unsupported" &&
          error.entry.class === "policy" &&
          error.render("ru").remedy.includes("во ВКонтакте"),
      );
    }
  });

  it("reads the publication refs inbound parsing writes", () => {
    assert.deepEqual(commentTargetOf("wall-123_45", 7), {
      kind: "wall",
      ownerId: -123,
      publicationId: 45,
      commentId: 7,
    });
    assert.deepEqual(commentTargetOf("topic-1_2"), { kind: "board", ownerId: -1, publicationId: 2 });
    assert.equal(commentTargetOf("video5_6")?.kind, "video");
    assert.equal(commentTargetOf("market-1_9")?.kind, "market");
    assert.equal(commentTargetOf("doc1_2"), undefined);
    assert.equal(commentTargetOf("wall-1"), undefined);
  });
});
