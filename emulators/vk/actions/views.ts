/**
 * How the control API shows the emulator's state: plain JSON with raw (unescaped) texts and
 * random ids as exact strings, so a test compares what the hub sent with what it meant to send.
 */
import type { CallbackServer, Comment, Community, Message, Token, Upload, User } from "../model.ts";

export const tokenView = (token: Token) => ({
  value: token.value,
  groupId: token.groupId,
  scopes: [...token.scopes],
  revoked: token.revoked,
});

export const serverView = (server: CallbackServer) => ({
  id: server.id,
  title: server.title,
  url: server.url,
  secretKey: server.secretKey,
  status: server.status,
  apiVersion: server.apiVersion,
  events: [...server.events],
  consecutiveFailures: server.consecutiveFailures,
  ...(server.confirmationCode ? { confirmationCode: server.confirmationCode } : {}),
});

export const communityView = (community: Community, tokens: readonly Token[]) => ({
  id: community.id,
  name: community.name,
  screenName: community.screenName,
  type: community.type,
  messagesEnabled: community.messagesEnabled,
  botFeatures: community.botFeatures,
  confirmationCode: community.confirmationCode,
  wallLinksForbidden: community.wallLinksForbidden,
  longPoll: {
    enabled: community.longPoll.enabled,
    apiVersion: community.longPoll.apiVersion,
    events: [...community.longPoll.events],
  },
  servers: [...community.servers.values()].map(serverView),
  tokens: tokens.map(tokenView),
  members: [...community.members],
  permissions: Object.fromEntries(community.permissions),
});
export type CommunityView = ReturnType<typeof communityView>;

export const userView = (user: User) => ({
  id: user.id,
  firstName: user.firstName,
  lastName: user.lastName,
  screenName: user.screenName,
  clientInfo: user.clientInfo,
  allowsMessages: user.allowsMessagesByDefault,
  ...(user.deactivated ? { deactivated: user.deactivated } : {}),
});
export type UserView = ReturnType<typeof userView>;

export const messageView = (message: Message) => ({
  id: message.id,
  conversationMessageId: message.cmid,
  peerId: message.peerId,
  fromId: message.fromId,
  out: message.out,
  date: message.date,
  text: message.text,
  attachments: message.attachments,
  randomId: message.randomId,
  ...(message.keyboard ? { keyboard: message.keyboard } : {}),
  ...(message.template ? { template: message.template } : {}),
  ...(message.payload !== undefined ? { payload: message.payload } : {}),
  ...(message.replyTo !== undefined ? { replyTo: message.replyTo } : {}),
  ...(message.updateTime !== undefined ? { updateTime: message.updateTime } : {}),
  ...(message.deleted ? { deleted: message.deleted } : {}),
});
export type MessageView = ReturnType<typeof messageView>;

export const commentView = (comment: Comment) => ({
  kind: comment.kind,
  id: comment.id,
  groupId: comment.groupId,
  objectId: comment.objectId,
  fromId: comment.fromId,
  date: comment.date,
  text: comment.text,
  attachments: comment.attachments,
  parentsStack: comment.parentsStack,
  deleted: comment.deleted,
  ...(comment.replyToComment !== undefined ? { replyToComment: comment.replyToComment } : {}),
  ...(comment.replyToUser !== undefined ? { replyToUser: comment.replyToUser } : {}),
  ...(comment.deleterId !== undefined ? { deleterId: comment.deleterId } : {}),
  ...(comment.guid !== undefined ? { guid: comment.guid } : {}),
});

/** An upload without its bytes (those are served apart). */
export const uploadView = (upload: Upload) => ({
  id: upload.id,
  kind: upload.kind,
  groupId: upload.groupId,
  ...(upload.peerId !== undefined ? { peerId: upload.peerId } : {}),
  field: upload.field,
  filename: upload.filename,
  contentType: upload.contentType,
  size: upload.size,
  accepted: upload.accepted,
  ...(upload.rejectReason ? { rejectReason: upload.rejectReason } : {}),
  probe: upload.probe,
  ...(upload.mediaId !== undefined ? { mediaId: upload.mediaId } : {}),
  createdAt: upload.createdAt,
});
export type UploadView = ReturnType<typeof uploadView>;
