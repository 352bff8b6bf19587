/**
 * The emulator's world: communities with their tokens, callback servers and Long Poll settings;
 * users; conversations and their messages; wall posts and comments; uploaded media; and the
 * records of everything a community did, which the control API reads back.
 */
import type { Probe } from "./media-probe.ts";

/** Community token rights (dev.vk.com access rights; `wall` as observed in getTokenPermissions). */
export const scopeBits = {
  stories: 1,
  photos: 4,
  app_widget: 64,
  messages: 4096,
  wall: 8192,
  docs: 131072,
  manage: 262144,
} as const;
export type Scope = keyof typeof scopeBits;
export const allScopes = Object.keys(scopeBits) as Scope[];

export interface Token {
  value: string;
  groupId: number;
  scopes: Set<Scope>;
  /** A deleted key: its calls fail with `accessErrors.revokedToken`. */
  revoked: boolean;
  createdAt: number;
}

export interface ClientInfo {
  button_actions: string[];
  keyboard: boolean;
  inline_keyboard: boolean;
  carousel: boolean;
  lang_id: number;
}

export const fullClientInfo = (): ClientInfo => ({
  button_actions: ["text", "vkpay", "open_app", "location", "open_link", "callback"],
  keyboard: true,
  inline_keyboard: true,
  carousel: true,
  lang_id: 0,
});

export interface User {
  id: number;
  firstName: string;
  lastName: string;
  screenName: string;
  clientInfo: ClientInfo;
  /**
   * Whether a community may write before the user wrote or allowed messages. VK's rule is no
   * (901), hence the default false; writing or message_allow lets the community answer.
   */
  allowsMessagesByDefault: boolean;
  deactivated?: "deleted" | "banned";
}

export type ServerStatus = "unconfigured" | "failed" | "wait" | "ok";

export interface CallbackServer {
  id: number;
  groupId: number;
  title: string;
  url: string;
  secretKey: string;
  status: ServerStatus;
  creatorId: number;
  apiVersion: string;
  events: Set<string>;
  /** The code this server's handshake expects; absent means the community's code. */
  confirmationCode?: string;
  consecutiveFailures: number;
}

export interface LongPollSettings {
  enabled: boolean;
  apiVersion: string;
  events: Set<string>;
}

export interface Community {
  id: number;
  name: string;
  screenName: string;
  type: "group" | "page" | "event";
  messagesEnabled: boolean;
  botFeatures: boolean;
  confirmationCode: string;
  /** Links in community comments give 222. */
  wallLinksForbidden: boolean;
  longPoll: LongPollSettings;
  servers: Map<number, CallbackServer>;
  nextServerId: number;
  /** user id → may the community write to them (message_allow / message_deny / first message). */
  permissions: Map<number, boolean>;
  members: Set<number>;
  seq: { message: number; version: number; wall: number; comment: number; lead: number };
}

export type VkObject = Record<string, unknown>;

export interface Message {
  id: number;
  cmid: number;
  groupId: number;
  peerId: number;
  fromId: number;
  out: 0 | 1;
  /** Unix seconds, as in the API. */
  date: number;
  createdAtMs: number;
  updateTime?: number;
  /** Raw text; escaping happens when rendered. */
  text: string;
  /** Rendered VK attachments `{type, [type]: {...}}`. */
  attachments: VkObject[];
  keyboard?: VkObject;
  template?: VkObject;
  /** Kept as a decimal string: vk-io's random ids exceed 2^53. */
  randomId: string;
  payload?: string;
  replyTo?: number;
  version: number;
  deleted?: { forAll: boolean; at: number };
}

export interface Conversation {
  groupId: number;
  peerId: number;
  messages: Message[];
  nextCmid: number;
  inRead: number;
  outRead: number;
}

export interface WallPost {
  id: number;
  ownerId: number;
  fromId: number;
  date: number;
  text: string;
  commentsClosed: boolean;
  linksForbidden: boolean;
}

export type CommentKind = "wall" | "photo" | "video" | "board" | "market";

export interface Comment {
  kind: CommentKind;
  id: number;
  groupId: number;
  /** post, photo, video, topic or item id. */
  objectId: number;
  fromId: number;
  date: number;
  createdAtMs: number;
  text: string;
  attachments: VkObject[];
  replyToComment?: number;
  replyToUser?: number;
  parentsStack: number[];
  deleted: boolean;
  deleterId?: number;
  /** wall.createComment's `guid`: a repeat returns the first comment. */
  guid?: string;
}

export type MediaKind = "photo" | "doc" | "audio_message" | "graffiti";

export interface Media {
  kind: MediaKind;
  id: number;
  ownerId: number;
  accessKey: string;
  /** The object as the API renders it (photo, doc, audio_message, graffiti). */
  object: VkObject;
  uploadId?: number;
  bytes?: Buffer;
  contentType?: string;
}

export type UploadKind = "photo" | "doc" | "audio_message" | "graffiti";

export interface Upload {
  id: number;
  kind: UploadKind;
  groupId: number;
  peerId?: number;
  field: string;
  filename: string;
  contentType: string;
  size: number;
  bytes: Buffer;
  createdAt: number;
  accepted: boolean;
  rejectReason?: string;
  /** What the bytes look like: container, codec, channels, sample rate, dimensions. */
  probe: Probe;
  /** photo: the `photo` string of the upload answer; docs: the `file` string. */
  handle?: string;
  server?: number;
  hash?: string;
  mediaId?: number;
}

export interface EditRecord {
  groupId: number;
  messageId: number;
  peerId: number;
  at: number;
  before: { text: string; attachments: VkObject[]; keyboard?: VkObject };
  after: { text: string; attachments: VkObject[]; keyboard?: VkObject };
}

export interface DeletionRecord {
  groupId: number;
  messageId: number;
  peerId: number;
  cmid: number;
  forAll: boolean;
  spam: boolean;
  at: number;
}

export interface MessageEventRecord {
  eventId: string;
  groupId: number;
  userId: number;
  peerId: number;
  cmid?: number;
  payload: unknown;
  createdAt: number;
  answer?: { eventData: unknown; at: number };
}
