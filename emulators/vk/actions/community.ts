/**
 * Acting as a user around the community: join and leave, wall posts, comments on posts, photos,
 * videos, board topics and market items (new, edit, delete, restore), lead forms; and
 * raw event injection, for types the hub should treat as unsupported (§1.7).
 */
import type { Comment, CommentKind, VkObject, WallPost } from "../model.ts";
import { renderComment, renderWallPost } from "../objects.ts";
import type { Runtime } from "../runtime.ts";
import { ControlError, nowSeconds } from "../state.ts";
import { commentView } from "./views.ts";

export interface WallPostInput {
  text?: string;
  /** Author: the community (default) or a user. */
  fromId?: number;
  commentsClosed?: boolean;
  linksForbidden?: boolean;
}

export interface CommentInput {
  userId: number;
  text?: string;
  attachments?: VkObject[];
  replyToComment?: number;
  /** The photo, video, topic or item commented on. */
  objectId?: number;
}

export interface LeadInput {
  userId: number;
  formId?: number;
  formName?: string;
  adId?: number;
  answers: { key: string; question?: string; answer: unknown }[];
}

/** Each kind's event names: `<prefix>_new`, `_edit`, `_delete`, `_restore`. */
const eventPrefix: Record<CommentKind, string> = {
  wall: "wall_reply",
  photo: "photo_comment",
  video: "video_comment",
  board: "board_post",
  market: "market_comment",
};

/**
 * The object of a `*_delete` event, which names the comment and its publication only. The
 * reference gives `wall_reply_delete`; the other kinds follow vksdk's `events/objects.go`, the
 * reference's source for it. The schema names the deleter `user_id` and vksdk `deleter_id`, so both
 * are sent; a board post's deletion names neither.
 */
function deletionObject(comment: Comment, deleterId: number): VkObject {
  const owner = -comment.groupId;
  if (comment.kind === "board") return { topic_owner_id: owner, topic_id: comment.objectId, id: comment.id };
  const publication = { wall: "post_id", photo: "photo_id", video: "video_id", market: "item_id" }[
    comment.kind
  ];
  return {
    owner_id: owner,
    id: comment.id,
    user_id: deleterId,
    deleter_id: deleterId,
    [publication]: comment.objectId,
  };
}

export function communityActions(runtime: Runtime) {
  const { state, bus, options } = runtime;
  const render = (comment: Comment) => renderComment(comment, options.messages);

  function existingComment(kind: CommentKind, groupId: number, commentId: number): Comment {
    const comment = state.comment(kind, groupId, commentId);
    if (!comment) throw new ControlError(404, `no ${kind} comment ${commentId} in community ${groupId}`);
    return comment;
  }
  const emit = (comment: Comment, action: "new" | "edit" | "restore") => ({
    comment: commentView(comment),
    event: bus.emit(comment.groupId, `${eventPrefix[comment.kind]}_${action}`, render(comment)),
  });

  function newComment(kind: CommentKind, groupId: number, objectId: number, input: CommentInput): Comment {
    const community = state.community(groupId);
    state.user(input.userId);
    let parent: Comment | undefined;
    if (input.replyToComment !== undefined) {
      parent = state.comment(kind, groupId, input.replyToComment);
      if (!parent) throw new ControlError(404, `no comment ${input.replyToComment}`);
    }
    const comment: Comment = {
      kind,
      id: kind === "wall" ? ++community.seq.wall : ++community.seq.comment,
      groupId,
      objectId,
      fromId: input.userId,
      date: nowSeconds(),
      createdAtMs: Date.now(),
      text: input.text ?? "",
      attachments: input.attachments ?? [],
      parentsStack: parent ? [parent.parentsStack[0] ?? parent.id] : [],
      deleted: false,
      ...(parent ? { replyToComment: parent.id, replyToUser: parent.fromId } : {}),
    };
    state.addComment(comment);
    return comment;
  }

  return {
    join(groupId: number, userId: number, joinType = "join") {
      state.user(userId);
      state.community(groupId).members.add(userId);
      return { event: bus.emit(groupId, "group_join", { user_id: userId, join_type: joinType }) };
    },

    leave(groupId: number, userId: number, self = true) {
      state.user(userId);
      state.community(groupId).members.delete(userId);
      return { event: bus.emit(groupId, "group_leave", { user_id: userId, self: self ? 1 : 0 }) };
    },

    createWallPost(groupId: number, input: WallPostInput = {}) {
      const community = state.community(groupId);
      const post: WallPost = {
        id: ++community.seq.wall,
        ownerId: -groupId,
        fromId: input.fromId ?? -groupId,
        date: nowSeconds(),
        text: input.text ?? "",
        commentsClosed: input.commentsClosed ?? false,
        linksForbidden: input.linksForbidden ?? false,
      };
      state.wallPosts.set(`${post.ownerId}_${post.id}`, post);
      return {
        post: { id: post.id, ownerId: post.ownerId },
        event: bus.emit(groupId, "wall_post_new", renderWallPost(post, options.messages)),
      };
    },

    commentWallPost(groupId: number, postId: number, input: CommentInput) {
      if (!state.wallPost(-groupId, postId))
        throw new ControlError(404, `no post ${postId} on wall -${groupId}`);
      return emit(newComment("wall", groupId, postId, input), "new");
    },

    /** photo_comment_new, video_comment_new, board_post_new, market_comment_new. */
    comment(kind: Exclude<CommentKind, "wall">, groupId: number, input: CommentInput) {
      return emit(newComment(kind, groupId, input.objectId ?? 1, input), "new");
    },

    editComment(
      kind: CommentKind,
      groupId: number,
      commentId: number,
      input: { text?: string; attachments?: VkObject[] },
    ) {
      const comment = existingComment(kind, groupId, commentId);
      if (input.text !== undefined) comment.text = input.text;
      if (input.attachments !== undefined) comment.attachments = input.attachments;
      return emit(comment, "edit");
    },

    deleteComment(kind: CommentKind, groupId: number, commentId: number, deleterId?: number) {
      const comment = existingComment(kind, groupId, commentId);
      const deleter = deleterId ?? comment.fromId;
      comment.deleted = true;
      comment.deleterId = deleter;
      return {
        comment: commentView(comment),
        event: bus.emit(groupId, `${eventPrefix[kind]}_delete`, deletionObject(comment, deleter)),
      };
    },

    restoreComment(kind: CommentKind, groupId: number, commentId: number) {
      const comment = existingComment(kind, groupId, commentId);
      comment.deleted = false;
      delete comment.deleterId;
      return emit(comment, "restore");
    },

    submitLeadForm(groupId: number, input: LeadInput) {
      const community = state.community(groupId);
      state.user(input.userId);
      const object = {
        lead_id: ++community.seq.lead,
        group_id: groupId,
        user_id: input.userId,
        form_id: input.formId ?? 1,
        form_name: input.formName ?? "Form",
        ad_id: input.adId ?? 0,
        answers: input.answers.map((a) => ({ key: a.key, question: a.question ?? a.key, answer: a.answer })),
      };
      return { event: bus.emit(groupId, "lead_forms_new", object) };
    },

    /** Any event, known or made up (e.g. to test the hub's `unsupported` path). */
    injectEvent(groupId: number, type: string, object: VkObject = {}) {
      state.community(groupId);
      return { event: bus.emit(groupId, type, object) };
    },
  };
}
