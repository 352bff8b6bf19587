/**
 * wall.createComment (reference §3.4): a community answers under a post of its own wall, possibly
 * to a comment (`reply_to_comment`). Refusals: 212 for a wall the token cannot reach, 213 when the
 * post's comments are closed, 222 for links where links are forbidden, 223 when the community
 * comments too often on one post. A repeated `guid` returns the first comment.
 */
import { VkApiError } from "../errors.ts";
import type { Comment } from "../model.ts";
import { renderComment } from "../objects.ts";
import { nowSeconds } from "../state.ts";
import { resolveAttachments } from "./attachments.ts";
import { type MethodTable, requireScope } from "./context.ts";

const link = /(https?:\/\/|www\.|\b[\p{L}\d-]+\.(ru|com|net|org|рф|me|io|su|info|ly|cc)\b)/iu;

export const wallMethods: MethodTable = {
  "wall.createComment": (ctx) => {
    requireScope(ctx, "wall");
    const { params, community, runtime } = ctx;
    const { state } = runtime;
    const ownerId = params.int("owner_id") ?? -community.id;
    const postId = params.requiredInt("post_id", { min: 0 });
    if (ownerId !== -community.id) throw new VkApiError(212);
    const post = state.wallPost(ownerId, postId);
    if (!post) throw new VkApiError(100, "post_id is invalid");
    if (post.commentsClosed) throw new VkApiError(213);

    const guid = params.string("guid");
    const mine = [...state.comments.values()].filter(
      (c) =>
        c.kind === "wall" &&
        c.groupId === community.id &&
        c.objectId === postId &&
        c.fromId === -community.id,
    );
    const repeated = guid === undefined ? undefined : mine.find((c) => c.guid === guid);
    if (repeated) return { comment_id: repeated.id, parents_stack: repeated.parentsStack };

    const text = params.string("message") ?? "";
    const attachments = resolveAttachments(params.list("attachments").join(","), runtime);
    const sticker = params.int("sticker_id", { min: 0 });
    if (sticker !== undefined)
      attachments.push({ type: "sticker", sticker: { sticker_id: sticker, product_id: 0 } });
    if (text === "" && attachments.length === 0) throw new VkApiError(100, "message is undefined");
    if ((post.linksForbidden || community.wallLinksForbidden) && link.test(text)) throw new VkApiError(222);
    const { max, windowMs } = runtime.options.wall.replyFlood;
    if (mine.filter((c) => c.createdAtMs > Date.now() - windowMs).length >= max) throw new VkApiError(223);

    const replyTo = params.int("reply_to_comment");
    let parent: Comment | undefined;
    if (replyTo !== undefined) {
      parent = state.comment("wall", community.id, replyTo);
      if (!parent || parent.objectId !== postId || parent.deleted) {
        throw new VkApiError(100, "reply_to_comment is invalid");
      }
    }
    const comment: Comment = {
      kind: "wall",
      id: ++community.seq.wall,
      groupId: community.id,
      objectId: postId,
      fromId: -community.id,
      date: nowSeconds(),
      createdAtMs: Date.now(),
      text,
      attachments,
      parentsStack: parent ? [parent.parentsStack[0] ?? parent.id] : [],
      deleted: false,
      ...(parent ? { replyToComment: parent.id, replyToUser: parent.fromId } : {}),
      ...(guid !== undefined ? { guid } : {}),
    };
    state.addComment(comment);
    runtime.bus.emit(community.id, "wall_reply_new", renderComment(comment, runtime.options.messages));
    return { comment_id: comment.id, parents_stack: comment.parentsStack };
  },
};
