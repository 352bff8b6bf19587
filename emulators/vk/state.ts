/**
 * The in-memory store behind the API and the control API: creation of communities, tokens and
 * users, lookups, id sequences, conversations, media and the records of what communities did.
 * No HTTP and no events here; `actions.ts` and the API methods use it.
 */
import { randomBytes } from "node:crypto";
import {
  allScopes,
  type ClientInfo,
  type Comment,
  type Community,
  type Conversation,
  type DeletionRecord,
  type EditRecord,
  fullClientInfo,
  type Media,
  type MediaKind,
  type Message,
  type MessageEventRecord,
  type Scope,
  type Token,
  type Upload,
  type User,
  type WallPost,
} from "./model.ts";

/** A control API request the emulator cannot serve (unknown community, bad input). */
export class ControlError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
    this.name = "ControlError";
  }
}

export interface CommunityInput {
  id?: number;
  name?: string;
  screenName?: string;
  type?: "group" | "page" | "event";
  messagesEnabled?: boolean;
  botFeatures?: boolean;
  confirmationCode?: string;
  wallLinksForbidden?: boolean;
  /** Tokens to create; default one token with every right. */
  tokens?: { scopes?: Scope[]; value?: string }[];
  longPoll?: { enabled?: boolean; apiVersion?: string; events?: string[] };
}

export interface UserInput {
  id?: number;
  firstName?: string;
  lastName?: string;
  screenName?: string;
  clientInfo?: Partial<ClientInfo>;
  allowsMessages?: boolean;
  deactivated?: "deleted" | "banned";
}

export const hex = (bytes: number) => randomBytes(bytes).toString("hex");
export const nowSeconds = () => Math.floor(Date.now() / 1000);

export class VkState {
  readonly communities = new Map<number, Community>();
  readonly users = new Map<number, User>();
  readonly tokens = new Map<string, Token>();
  readonly conversations = new Map<string, Conversation>();
  /** `${ownerId}_${postId}` */
  readonly wallPosts = new Map<string, WallPost>();
  /** `${kind}:${groupId}:${id}` */
  readonly comments = new Map<string, Comment>();
  /** `${kind}${ownerId}_${id}` */
  readonly media = new Map<string, Media>();
  readonly uploads: Upload[] = [];
  readonly edits: EditRecord[] = [];
  readonly deletions: DeletionRecord[] = [];
  readonly messageEvents = new Map<string, MessageEventRecord>();
  #nextGroupId = 220_000_001;
  #nextUserId = 700_000_001;
  #nextMediaId = 457_239_017;
  #nextUploadId = 1;

  constructor(
    private readonly defaultApiVersion: string,
    private readonly firstObjectId = 1,
  ) {}

  reset() {
    for (const map of [
      this.communities,
      this.users,
      this.tokens,
      this.conversations,
      this.wallPosts,
      this.comments,
      this.media,
      this.messageEvents,
    ]) {
      map.clear();
    }
    this.uploads.length = 0;
    this.edits.length = 0;
    this.deletions.length = 0;
  }

  createCommunity(input: CommunityInput = {}): { community: Community; tokens: Token[] } {
    const id = input.id ?? this.#nextGroupId++;
    if (this.communities.has(id)) throw new ControlError(409, `community ${id} exists`);
    if (id >= this.#nextGroupId) this.#nextGroupId = id + 1;
    // Each sequence holds the last id it gave.
    const lastGiven = this.firstObjectId - 1;
    const community: Community = {
      id,
      name: input.name ?? `Community ${id}`,
      screenName: input.screenName ?? `club${id}`,
      type: input.type ?? "group",
      messagesEnabled: input.messagesEnabled ?? true,
      botFeatures: input.botFeatures ?? true,
      confirmationCode: input.confirmationCode ?? hex(4),
      wallLinksForbidden: input.wallLinksForbidden ?? false,
      longPoll: {
        enabled: input.longPoll?.enabled ?? false,
        apiVersion: input.longPoll?.apiVersion ?? this.defaultApiVersion,
        events: new Set(input.longPoll?.events ?? []),
      },
      servers: new Map(),
      nextServerId: 1,
      permissions: new Map(),
      members: new Set(),
      seq: { message: lastGiven, version: lastGiven, wall: lastGiven, comment: lastGiven, lead: lastGiven },
    };
    this.communities.set(id, community);
    const tokens = (input.tokens ?? [{}]).map((t) => this.addToken(id, t.scopes ?? allScopes, t.value));
    return { community, tokens };
  }

  community(id: number): Community {
    const community = this.communities.get(id);
    if (!community) throw new ControlError(404, `no community ${id}`);
    return community;
  }

  addToken(groupId: number, scopes: readonly Scope[], value?: string): Token {
    this.community(groupId);
    const token: Token = {
      value: value ?? `vk1.a.${randomBytes(60).toString("base64url")}`,
      groupId,
      scopes: new Set(scopes),
      revoked: false,
      createdAt: Date.now(),
    };
    if (this.tokens.has(token.value)) throw new ControlError(409, "token exists");
    this.tokens.set(token.value, token);
    return token;
  }

  tokensOf(groupId: number): Token[] {
    return [...this.tokens.values()].filter((t) => t.groupId === groupId);
  }

  createUser(input: UserInput = {}): User {
    const id = input.id ?? this.#nextUserId++;
    if (this.users.has(id)) throw new ControlError(409, `user ${id} exists`);
    if (id >= this.#nextUserId) this.#nextUserId = id + 1;
    const user: User = {
      id,
      firstName: input.firstName ?? "User",
      lastName: input.lastName ?? String(id),
      screenName: input.screenName ?? `id${id}`,
      clientInfo: { ...fullClientInfo(), ...input.clientInfo },
      allowsMessagesByDefault: input.allowsMessages ?? false,
      ...(input.deactivated ? { deactivated: input.deactivated } : {}),
    };
    this.users.set(id, user);
    return user;
  }

  user(id: number): User {
    const user = this.users.get(id);
    if (!user) throw new ControlError(404, `no user ${id}`);
    return user;
  }

  userByScreenName(name: string): User | undefined {
    return [...this.users.values()].find((u) => u.screenName === name);
  }

  /** May the community write to this user now? */
  canWrite(community: Community, userId: number): boolean {
    return community.permissions.get(userId) ?? this.users.get(userId)?.allowsMessagesByDefault ?? false;
  }

  conversation(groupId: number, peerId: number): Conversation {
    const key = `${groupId}:${peerId}`;
    let conversation = this.conversations.get(key);
    if (!conversation) {
      conversation = { groupId, peerId, messages: [], nextCmid: 1, inRead: 0, outRead: 0 };
      this.conversations.set(key, conversation);
    }
    return conversation;
  }

  conversationsOf(groupId: number): Conversation[] {
    return [...this.conversations.values()].filter((c) => c.groupId === groupId);
  }

  /** Adds a message to a conversation with the next id, conversation id and version. */
  appendMessage(
    community: Community,
    conversation: Conversation,
    fields: Pick<Message, "fromId" | "out" | "text" | "attachments" | "randomId"> &
      Partial<Pick<Message, "keyboard" | "template" | "payload" | "replyTo">>,
  ): Message {
    const message: Message = {
      ...fields,
      id: ++community.seq.message,
      cmid: conversation.nextCmid++,
      groupId: community.id,
      peerId: conversation.peerId,
      date: nowSeconds(),
      createdAtMs: Date.now(),
      version: ++community.seq.version,
    };
    conversation.messages.push(message);
    return message;
  }

  /** The message a message replies to, for `reply_message`. */
  replied(message: Message): Message | undefined {
    if (message.replyTo === undefined) return undefined;
    return this.findMessage(message.groupId, message.replyTo)?.message;
  }

  findMessage(groupId: number, messageId: number) {
    for (const conversation of this.conversationsOf(groupId)) {
      const message = conversation.messages.find((m) => m.id === messageId);
      if (message) return { conversation, message };
    }
    return undefined;
  }

  addMedia(kind: MediaKind, ownerId: number, build: (id: number, accessKey: string) => Media["object"]) {
    const id = this.#nextMediaId++;
    const accessKey = hex(9);
    const media: Media = { kind, id, ownerId, accessKey, object: build(id, accessKey) };
    this.media.set(`${kind}${ownerId}_${id}`, media);
    return media;
  }

  /** A saved photo, doc, audio message or graffiti by its attachment name parts. */
  findMedia(kinds: readonly MediaKind[], ownerId: number, id: number): Media | undefined {
    for (const kind of kinds) {
      const media = this.media.get(`${kind}${ownerId}_${id}`);
      if (media) return media;
    }
    return undefined;
  }

  mediaById(id: number): Media | undefined {
    return [...this.media.values()].find((m) => m.id === id);
  }

  newUpload(fields: Omit<Upload, "id" | "createdAt">): Upload {
    const upload: Upload = { ...fields, id: this.#nextUploadId++, createdAt: Date.now() };
    this.uploads.push(upload);
    return upload;
  }

  wallPost(ownerId: number, postId: number): WallPost | undefined {
    return this.wallPosts.get(`${ownerId}_${postId}`);
  }

  comment(kind: Comment["kind"], groupId: number, id: number): Comment | undefined {
    return this.comments.get(`${kind}:${groupId}:${id}`);
  }

  addComment(comment: Comment) {
    this.comments.set(`${comment.kind}:${comment.groupId}:${comment.id}`, comment);
  }
}
