/**
 * Answering comments. A community token can comment only on wall posts (`wall.createComment` with
 * `from_group`); photos, videos, board topics and market items take comments only from a user's
 * token, so the hub cannot answer those: the admin answers them in VK itself (seed 003: Planfix
 * has the same rule). Such a reply is refused up front with `vk_comment_reply_unsupported`.
 */
import { AppError } from "../../errors/app-error.ts";
import type { VkAttachmentRef } from "./attachments.ts";

/** Where a comment was left, as the callback events name them (`wall_reply_new`, `photo_comment_new`, …). */
export type VkPublicationKind = "wall" | "photo" | "video" | "board" | "market";

export interface VkCommentTarget {
  kind: VkPublicationKind;
  /** The publication's owner: minus the community's id for its own posts. */
  ownerId: number;
  /** The post's id (for `wall`), else the photo's, video's, topic's or item's. */
  publicationId: number;
  /** The comment answered, to thread the reply under it. */
  commentId?: number;
}

const refPrefixes: Readonly<Record<string, VkPublicationKind>> = {
  wall: "wall",
  photo: "photo",
  video: "video",
  topic: "board",
  market: "market",
};

/**
 * The target of a reply from a publication's ref as inbound parsing writes it (`wall-123_45`,
 * `photo-123_67`, `video…`, `topic…`, `market…`) and the id of the comment answered; undefined
 * for a ref of another shape.
 */
export function commentTargetOf(publicationRef: string, commentId?: number): VkCommentTarget | undefined {
  const match = /^([a-z]+)(-?\d+)_(\d+)$/.exec(publicationRef);
  const kind = match?.[1] === undefined ? undefined : refPrefixes[match[1]];
  if (!match || kind === undefined) return undefined;
  return {
    kind,
    ownerId: Number(match[2]),
    publicationId: Number(match[3]),
    ...(commentId === undefined ? {} : { commentId }),
  };
}

/** The publication kinds the hub can answer through the API. */
export function canReplyToComment(kind: VkPublicationKind): boolean {
  return kind === "wall";
}

/** The `wall.createComment` parameters for a reply, or `vk_comment_reply_unsupported`. */
export function commentReplyParams(
  target: VkCommentTarget,
  reply: { message?: string; attachments?: readonly (string | VkAttachmentRef)[]; guid?: string },
) {
  if (!canReplyToComment(target.kind))
    throw new AppError("vk_comment_reply_unsupported", { kind: target.kind });
  return {
    ownerId: target.ownerId,
    postId: target.publicationId,
    ...(target.commentId === undefined ? {} : { replyToComment: target.commentId }),
    ...reply,
  };
}
