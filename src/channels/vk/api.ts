/**
 * The VK API client of the hub: a small wrapper around vk-io's `API` and `Upload`, one instance
 * per community token, with the hub's rules on top:
 *
 * - Base URL, version and limits come from the channel's settings (`apiBaseUrl`, default
 *   https://api.vk.ru/method, so an emulator is only a different URL); the HTTP agent matches the
 *   URL's protocol (vk-io's default `https.globalAgent` refuses `http://`).
 * - Calls go round-robin over the community's tokens, so VK's 20 requests per second per token
 *   add up, skipping tokens VK has declared dead (errors 5 and 27; reported through
 *   `onTokenInvalid`) and, for a second, a token VK just answered 6 ("too many requests").
 * - Nothing is retried behind the caller's back: vk-io's network retries are off
 *   (`apiRetryLimit: 0`), and its endless requeue on error 6 is replaced by surfacing the error
 *   (see `SurfacingWorker`). The one exception is a dead token: VK did not run the call, so it is
 *   run once more with the next live token, which is what keeps a community with one revoked
 *   token of three answering.
 * - Every failure leaves as a catalogued AppError (`classifyVkError`).
 *
 * Pacing here is per process and per token (vk-io spaces one token's calls ⌈1133/apiLimit⌉ ms
 * apart); limits across hub processes belong to the dispatcher that wraps this client.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import https from "node:https";
import { API, type APIError, type APIRequest, SequentialWorker, Upload, UploadError } from "vk-io";
import { AppError } from "../../errors/app-error.ts";
import { attachmentParam, type VkAttachmentRef } from "./attachments.ts";
import { classifyVkError, fromVkCode, invalidatesToken, vkFileRefused } from "./errors.ts";
import { buildVkKeyboard, type Keyboard, type VkKeyboard } from "./keyboard.ts";
import { maxRandomId } from "./random-id.ts";

export const vkApiDefaults = {
  apiBaseUrl: "https://api.vk.ru/method",
  apiVersion: "5.199",
  /** VK allows a community token 20 requests per second. */
  apiLimit: 20,
  timeoutMs: 10_000,
  uploadTimeoutMs: 20_000,
  /** How long a token rests after VK answered 6 (vk-io's own pause, `MINIMUM_TIME_INTERVAL_API`). */
  tooManyRequestsPauseMs: 1133,
  /** `users.get` takes at most this many ids per call. */
  usersPerCall: 1000,
} as const;

export interface VkClientOptions {
  /** The community's access tokens; at least one. */
  tokens: readonly string[];
  /** The community's id; needed by the callback, long poll and wall methods. */
  groupId?: number;
  apiBaseUrl?: string;
  apiVersion?: string;
  /** Requests per second per token. */
  apiLimit?: number;
  timeoutMs?: number;
  uploadTimeoutMs?: number;
  /** Fingerprints (`VkTokenRef.fingerprint`) of tokens already known to be dead: never used. */
  deadTokens?: Iterable<string>;
  /** Told once when VK declares a token dead, so the channel can record it and warn the admin. */
  onTokenInvalid?: (token: VkTokenRef, error: AppError) => void;
}

/** A token as it may be logged and stored: its position and a hash, never the token itself. */
export interface VkTokenRef {
  index: number;
  fingerprint: string;
}

/** A parameter value as the hub passes it: booleans become 1/0, lists are comma-joined. */
export type VkParamValue = string | number | boolean | readonly (string | number)[] | undefined;
export type VkParams = Record<string, VkParamValue>;

export interface VkGroup {
  id: number;
  name: string;
  screenName?: string;
  photo?: string;
}

export interface VkTokenPermissions {
  mask: number;
  /** Permission names, e.g. `messages`, `photos`, `docs`, `manage`, `wall`. */
  permissions: string[];
}

export interface VkCallbackServer {
  id: number;
  title: string;
  url: string;
  secretKey?: string;
  status: "unconfigured" | "failed" | "wait" | "ok" | string;
  creatorId?: number;
}

/** Event switches of `setCallbackSettings` / `setLongPollSettings`, e.g. `{message_new: true}`. */
export type VkEventFlags = Readonly<Record<string, boolean>>;

export interface VkLongPollServer {
  server: string;
  key: string;
  ts: string;
}

export interface VkUser {
  id: number;
  first_name: string;
  last_name: string;
  deactivated?: string;
  [field: string]: unknown;
}

export type VkIntent =
  | "default"
  | "promo_newsletter"
  | "bot_ad_invite"
  | "bot_ad_promo"
  | "confirmed_notification"
  | "non_promo_newsletter"
  | "account_update"
  | "purchase_update"
  | "game_notification"
  | "customer_support"
  | "moderated_newsletter"
  | "finance_notification";

export interface VkSendParams {
  peerId: number;
  /** From `randomIdFor(messageId, part)`: the same for every attempt of one part. */
  randomId: number;
  message?: string;
  /** The neutral model (checked against VK's limits), VK's own object, or ready JSON. */
  keyboard?: Keyboard | VkKeyboard | string;
  attachment?: readonly (string | VkAttachmentRef)[];
  intent?: VkIntent;
  replyTo?: number;
  /** JSON-serialisable; VK returns it with the message. */
  payload?: unknown;
  dontParseLinks?: boolean;
  disableMentions?: boolean;
}

export interface VkSentMessage {
  peerId: number;
  /** The message's id in the community's dialogs (VK may give 0 or none in chats). */
  messageId?: number;
  /** The message's number within its conversation. */
  conversationMessageId?: number;
}

export interface VkEditParams {
  peerId: number;
  messageId?: number;
  conversationMessageId?: number;
  message?: string;
  keyboard?: Keyboard | VkKeyboard | string;
  attachment?: readonly (string | VkAttachmentRef)[];
  keepForwardMessages?: boolean;
  keepSnippets?: boolean;
  dontParseLinks?: boolean;
}

export interface VkDeleteParams {
  peerId: number;
  messageIds?: readonly number[];
  conversationMessageIds?: readonly number[];
  deleteForAll?: boolean;
  spam?: boolean;
}

export interface VkDeleteResult {
  messageId?: number;
  conversationMessageId?: number;
  deleted: boolean;
  error?: AppError;
}

/** What a callback button's press is answered with (`messages.sendMessageEventAnswer`). */
export type VkEventAnswer =
  | { type: "show_snackbar"; text: string }
  | { type: "open_link"; link: string }
  | { type: "open_app"; app_id: number; owner_id?: number; hash?: string };

export interface VkCommentParams {
  /** The wall's owner; minus the community's id by default. */
  ownerId?: number;
  postId: number;
  message?: string;
  replyToComment?: number;
  attachments?: readonly (string | VkAttachmentRef)[];
  /** VK's duplicate guard for comments: `commentGuidFor(messageId, part)`. */
  guid?: string;
}

interface TokenSlot extends VkTokenRef {
  api: API;
  upload: Upload;
  dead: boolean;
  restUntil: number;
}

export class VkClient {
  readonly groupId: number | undefined;
  readonly apiBaseUrl: string;
  readonly apiVersion: string;
  readonly timeoutMs: number;
  readonly #slots: TokenSlot[];
  readonly #agents: { http: http.Agent; https: https.Agent };
  readonly #onTokenInvalid: VkClientOptions["onTokenInvalid"];
  #cursor = 0;

  constructor(options: VkClientOptions) {
    this.groupId = options.groupId;
    this.apiBaseUrl = (options.apiBaseUrl ?? vkApiDefaults.apiBaseUrl).replace(/\/+$/, "");
    this.apiVersion = options.apiVersion ?? vkApiDefaults.apiVersion;
    this.timeoutMs = options.timeoutMs ?? vkApiDefaults.timeoutMs;
    this.#onTokenInvalid = options.onTokenInvalid;
    const protocol = new URL(this.apiBaseUrl).protocol;
    if (protocol !== "http:" && protocol !== "https:")
      throw new RangeError(`apiBaseUrl must be an http or https URL, got ${this.apiBaseUrl}`);
    this.#agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
    // Upload URLs come from VK's answers and may differ in protocol from the API's; node-fetch
    // (under vk-io) accepts a function choosing the agent per URL.
    const agentFor = (url: URL) => (url.protocol === "http:" ? this.#agents.http : this.#agents.https);
    const dead = new Set(options.deadTokens ?? []);
    this.#slots = options.tokens.map((token, index) => {
      const api = new API({
        token,
        apiBaseUrl: this.apiBaseUrl,
        apiVersion: this.apiVersion,
        apiLimit: options.apiLimit ?? vkApiDefaults.apiLimit,
        apiMode: "sequential",
        apiRequestMode: "sequential",
        apiRetryLimit: 0,
        apiTimeout: this.timeoutMs,
        // vk-io types the agent as https.Agent; an http.Agent is what an http:// base URL needs.
        agent: (protocol === "http:" ? this.#agents.http : this.#agents.https) as https.Agent,
      });
      installSurfacingWorker(api);
      const upload = new CheckedUpload({
        api,
        agent: agentFor as unknown as https.Agent,
        uploadTimeout: options.uploadTimeoutMs ?? vkApiDefaults.uploadTimeoutMs,
      });
      const fingerprint = tokenFingerprint(token);
      return { index, fingerprint, api, upload, dead: dead.has(fingerprint), restUntil: 0 };
    });
  }

  /** The tokens and whether each is still usable. */
  get tokens(): (VkTokenRef & { dead: boolean })[] {
    return this.#slots.map(({ index, fingerprint, dead }) => ({ index, fingerprint, dead }));
  }

  /** Calls any VK method with the next token. Prefer the typed methods below. */
  call<T>(method: string, params: VkParams = {}): Promise<T> {
    return this.#withToken(method, "call", (slot) => slot.api.call(method, toVkParams(params)) as Promise<T>);
  }

  /**
   * Runs an upload (get URL, POST, save) with one token; for `upload.ts`. Failures are classified
   * like calls, and unknown ones become `vk_upload_failed`.
   */
  withUpload<T>(what: string, run: (upload: Upload) => Promise<T>): Promise<T> {
    return this.#withToken(what, "upload", (slot) => run(slot.upload));
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.#agents.http.destroy();
    this.#agents.https.destroy();
  }

  // ── Community and token ────────────────────────────────────────────────────

  /** The community the token belongs to (or `groupId`'s): the check when a channel is connected. */
  async getGroup(): Promise<VkGroup> {
    const response = await this.call<unknown>("groups.getById", { group_id: this.groupId });
    // 5.199: {groups: [...], profiles: [...]}; older versions: [...].
    const list = Array.isArray(response) ? response : (response as { groups?: unknown } | null)?.groups;
    const group = Array.isArray(list) ? (list[0] as Record<string, unknown> | undefined) : undefined;
    if (!group || typeof group.id !== "number")
      throw new AppError("vk_unexpected_response", { reason: "groups.getById returned no group" });
    return {
      id: group.id,
      name: typeof group.name === "string" ? group.name : "",
      ...(typeof group.screen_name === "string" ? { screenName: group.screen_name } : {}),
      ...(typeof group.photo_100 === "string" ? { photo: group.photo_100 } : {}),
    };
  }

  /** The rights of the token in use (`groups.getTokenPermissions`). */
  async getTokenPermissions(): Promise<VkTokenPermissions> {
    const response = await this.call<{ mask?: number; permissions?: { name?: string }[] }>(
      "groups.getTokenPermissions",
    );
    return {
      mask: response.mask ?? 0,
      permissions: (response.permissions ?? []).flatMap((p) => (typeof p.name === "string" ? [p.name] : [])),
    };
  }

  // ── Callback API servers ───────────────────────────────────────────────────

  async getCallbackServers(serverIds?: readonly number[]): Promise<VkCallbackServer[]> {
    const response = await this.call<{ items?: Record<string, unknown>[] }>("groups.getCallbackServers", {
      group_id: this.#requireGroupId(),
      server_ids: serverIds,
    });
    return (response.items ?? []).map((item) => ({
      id: Number(item.id),
      title: String(item.title ?? ""),
      url: String(item.url ?? ""),
      status: String(item.status ?? ""),
      ...(typeof item.secret_key === "string" && item.secret_key !== ""
        ? { secretKey: item.secret_key }
        : {}),
      ...(typeof item.creator_id === "number" ? { creatorId: item.creator_id } : {}),
    }));
  }

  /** Adds a server; VK answers 2000 when the community has 10 already. Title: at most 14 chars. */
  async addCallbackServer(server: { url: string; title: string; secretKey?: string }): Promise<number> {
    const response = await this.call<{ server_id?: number }>("groups.addCallbackServer", {
      group_id: this.#requireGroupId(),
      url: server.url,
      title: server.title,
      secret_key: server.secretKey,
    });
    if (typeof response.server_id !== "number")
      throw new AppError("vk_unexpected_response", {
        reason: "groups.addCallbackServer returned no server_id",
      });
    return response.server_id;
  }

  async editCallbackServer(server: { serverId: number; url: string; title: string; secretKey?: string }) {
    await this.call("groups.editCallbackServer", {
      group_id: this.#requireGroupId(),
      server_id: server.serverId,
      url: server.url,
      title: server.title,
      secret_key: server.secretKey,
    });
  }

  async deleteCallbackServer(serverId: number): Promise<void> {
    await this.call("groups.deleteCallbackServer", { group_id: this.#requireGroupId(), server_id: serverId });
  }

  /** Chooses the events (and API version) a server receives. */
  async setCallbackSettings(serverId: number, settings: { apiVersion?: string; events: VkEventFlags }) {
    await this.call("groups.setCallbackSettings", {
      group_id: this.#requireGroupId(),
      server_id: serverId,
      api_version: settings.apiVersion ?? this.apiVersion,
      ...settings.events,
    });
  }

  /** The string the hub must answer VK's `confirmation` event with; it changes over time. */
  async getCallbackConfirmationCode(): Promise<string> {
    const response = await this.call<{ code?: unknown }>("groups.getCallbackConfirmationCode", {
      group_id: this.#requireGroupId(),
    });
    if (typeof response.code !== "string" || response.code === "")
      throw new AppError("vk_unexpected_response", {
        reason: "groups.getCallbackConfirmationCode returned no code",
      });
    return response.code;
  }

  // ── Bots Long Poll ─────────────────────────────────────────────────────────

  async setLongPollSettings(settings: { enabled: boolean; apiVersion?: string; events?: VkEventFlags }) {
    await this.call("groups.setLongPollSettings", {
      group_id: this.#requireGroupId(),
      enabled: settings.enabled,
      api_version: settings.apiVersion ?? this.apiVersion,
      ...settings.events,
    });
  }

  async getLongPollServer(): Promise<VkLongPollServer> {
    const response = await this.call<Record<string, unknown>>("groups.getLongPollServer", {
      group_id: this.#requireGroupId(),
    });
    if (typeof response.server !== "string" || typeof response.key !== "string" || response.ts === undefined)
      throw new AppError("vk_unexpected_response", { reason: "groups.getLongPollServer returned no server" });
    return { server: response.server, key: response.key, ts: String(response.ts) };
  }

  // ── Users ──────────────────────────────────────────────────────────────────

  /** Names (and `fields`) of users, in batches of 1000 ids per call. */
  async getUsers(userIds: readonly number[], fields: readonly string[] = []): Promise<VkUser[]> {
    const users: VkUser[] = [];
    for (let i = 0; i < userIds.length; i += vkApiDefaults.usersPerCall) {
      const batch = userIds.slice(i, i + vkApiDefaults.usersPerCall);
      const response = await this.call<VkUser[]>("users.get", {
        user_ids: batch,
        fields: fields.length > 0 ? fields : undefined,
      });
      if (!Array.isArray(response))
        throw new AppError("vk_unexpected_response", { reason: "users.get returned no list" });
      users.push(...response);
    }
    return users;
  }

  // ── Messages ───────────────────────────────────────────────────────────────

  /**
   * Sends one message. `randomId` must come from the message's id (`randomIdFor`), so a repeat
   * after a crash is dropped by VK as a duplicate. Sent with `peer_ids` (as vk-io does for
   * communities) to learn the conversation message id too; a per-peer error is thrown like a
   * top-level one.
   */
  async sendMessage(params: VkSendParams): Promise<VkSentMessage> {
    if (!Number.isInteger(params.randomId) || params.randomId < 0 || params.randomId > maxRandomId)
      throw new RangeError(`randomId must be an int32 ≥ 0, got ${params.randomId}`);
    const method = "messages.send";
    const response = await this.call<unknown>(method, {
      peer_ids: [params.peerId],
      random_id: params.randomId,
      message: params.message,
      keyboard: keyboardParam(params.keyboard),
      attachment: params.attachment ? attachmentParam(params.attachment) : undefined,
      intent: params.intent,
      reply_to: params.replyTo,
      payload: params.payload === undefined ? undefined : JSON.stringify(params.payload),
      dont_parse_links: params.dontParseLinks,
      disable_mentions: params.disableMentions,
      group_id: this.groupId,
    });
    if (typeof response === "number") return { peerId: params.peerId, messageId: response };
    const item = Array.isArray(response) ? (response[0] as Record<string, unknown> | undefined) : undefined;
    if (!item)
      throw new AppError("vk_unexpected_response", { reason: `${method} returned no message`, method });
    const error = item.error as { code?: unknown; description?: unknown } | undefined;
    if (error && typeof error.code === "number")
      throw fromVkCode(error.code, String(error.description ?? ""), { method });
    return {
      peerId: typeof item.peer_id === "number" ? item.peer_id : params.peerId,
      ...(typeof item.message_id === "number" && item.message_id > 0 ? { messageId: item.message_id } : {}),
      ...(typeof item.conversation_message_id === "number"
        ? { conversationMessageId: item.conversation_message_id }
        : {}),
    };
  }

  async editMessage(params: VkEditParams): Promise<void> {
    if (params.messageId === undefined && params.conversationMessageId === undefined)
      throw new RangeError("editMessage needs messageId or conversationMessageId");
    await this.call("messages.edit", {
      peer_id: params.peerId,
      message_id: params.messageId,
      cmid: params.conversationMessageId,
      message: params.message,
      keyboard: keyboardParam(params.keyboard),
      attachment: params.attachment ? (attachmentParam(params.attachment) ?? "") : undefined,
      keep_forward_messages: params.keepForwardMessages,
      keep_snippets: params.keepSnippets,
      dont_parse_links: params.dontParseLinks,
      group_id: this.groupId,
    });
  }

  /** Deletes messages; each gets its own result (5.199 answers per message; older versions a map). */
  async deleteMessages(params: VkDeleteParams): Promise<VkDeleteResult[]> {
    const byCmid = params.conversationMessageIds !== undefined;
    const response = await this.call<unknown>("messages.delete", {
      peer_id: params.peerId,
      message_ids: params.messageIds,
      cmids: params.conversationMessageIds,
      delete_for_all: params.deleteForAll,
      spam: params.spam,
      group_id: this.groupId,
    });
    if (Array.isArray(response))
      return response.map((raw: Record<string, unknown>) => {
        const error = raw.error as { code?: unknown; description?: unknown } | undefined;
        return {
          ...(typeof raw.message_id === "number" ? { messageId: raw.message_id } : {}),
          ...(typeof raw.conversation_message_id === "number"
            ? { conversationMessageId: raw.conversation_message_id }
            : {}),
          deleted: raw.response === 1 || raw.response === true,
          ...(error && typeof error.code === "number"
            ? {
                error: fromVkCode(error.code, String(error.description ?? ""), { method: "messages.delete" }),
              }
            : {}),
        };
      });
    if (typeof response === "object" && response !== null)
      return Object.entries(response).map(([id, ok]) => ({
        ...(byCmid ? { conversationMessageId: Number(id) } : { messageId: Number(id) }),
        deleted: ok === 1 || ok === true,
      }));
    throw new AppError("vk_unexpected_response", { reason: "messages.delete returned no results" });
  }

  /** Answers a callback button's press (the event id lives about a minute). */
  async answerMessageEvent(params: {
    eventId: string;
    userId: number;
    peerId: number;
    answer?: VkEventAnswer;
  }) {
    await this.call("messages.sendMessageEventAnswer", {
      event_id: params.eventId,
      user_id: params.userId,
      peer_id: params.peerId,
      event_data: params.answer === undefined ? undefined : JSON.stringify(params.answer),
    });
  }

  // ── Wall ───────────────────────────────────────────────────────────────────

  /** Comments on a wall post as the community. Other publications cannot be answered via the API. */
  async createWallComment(params: VkCommentParams): Promise<{ commentId: number }> {
    const groupId = this.#requireGroupId();
    const response = await this.call<{ comment_id?: unknown }>("wall.createComment", {
      owner_id: params.ownerId ?? -groupId,
      post_id: params.postId,
      from_group: groupId,
      message: params.message,
      reply_to_comment: params.replyToComment,
      attachments: params.attachments ? attachmentParam(params.attachments) : undefined,
      guid: params.guid,
    });
    if (typeof response.comment_id !== "number")
      throw new AppError("vk_unexpected_response", { reason: "wall.createComment returned no comment_id" });
    return { commentId: response.comment_id };
  }

  // ── Tokens ─────────────────────────────────────────────────────────────────

  async #withToken<T>(
    what: string,
    during: "call" | "upload",
    run: (slot: TokenSlot) => Promise<T>,
  ): Promise<T> {
    for (;;) {
      const slot = this.#next();
      try {
        return await run(slot);
      } catch (thrown) {
        const error = classifyVkError(thrown, { method: what, during, timeoutMs: this.timeoutMs });
        if (error.code === "vk_too_many_requests")
          slot.restUntil = Date.now() + vkApiDefaults.tooManyRequestsPauseMs;
        if (invalidatesToken(error)) {
          this.#markDead(slot, error);
          // VK did not run the call: the next live token may.
          if (this.#slots.some((s) => !s.dead)) continue;
        }
        throw error;
      }
    }
  }

  /** The next live token in turn, preferring one that is not resting after error 6. */
  #next(): TokenSlot {
    const count = this.#slots.length;
    const now = Date.now();
    let resting: TokenSlot | undefined;
    for (let step = 0; step < count; step += 1) {
      const slot = this.#slots[(this.#cursor + step) % count] as TokenSlot;
      if (slot.dead) continue;
      if (slot.restUntil > now) {
        if (!resting || slot.restUntil < resting.restUntil) resting = slot;
        continue;
      }
      this.#cursor = (slot.index + 1) % count;
      return slot;
    }
    if (resting) {
      this.#cursor = (resting.index + 1) % count;
      return resting;
    }
    throw new AppError("vk_no_tokens");
  }

  #markDead(slot: TokenSlot, error: AppError): void {
    if (slot.dead) return;
    slot.dead = true;
    this.#onTokenInvalid?.({ index: slot.index, fingerprint: slot.fingerprint }, error);
  }

  #requireGroupId(): number {
    if (this.groupId === undefined) throw new RangeError("this VK call needs the client's groupId");
    return this.groupId;
  }
}

/** A stable, non-secret name for a token: the first 16 hex digits of its SHA-256. */
export function tokenFingerprint(token: string): string {
  return createHash("sha256").update(token).digest("hex").slice(0, 16);
}

/** Parameters as VK reads them from a form: 1/0 for booleans, comma-joined lists, no empties. */
export function toVkParams(params: VkParams): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (typeof value === "boolean") out[key] = value ? 1 : 0;
    else if (Array.isArray(value)) out[key] = value.join(",");
    else out[key] = value as string | number;
  }
  return out;
}

function keyboardParam(keyboard: Keyboard | VkKeyboard | string | undefined): string | undefined {
  if (keyboard === undefined || typeof keyboard === "string") return keyboard;
  return JSON.stringify("rows" in keyboard ? buildVkKeyboard(keyboard) : keyboard);
}

/**
 * vk-io answers VK's error 6 by pausing the token's queue for 1133 ms and requeueing the call,
 * without limit and without telling anyone (`SequentialWorker.handleError`). We keep the pause, so
 * the token's other queued calls back off as VK asks, but reject the call with the error: the
 * dispatcher sees `vk_too_many_requests` (with `retryAfter`), counts it, and retries it on its own
 * schedule, possibly through another token. Captcha (14) and everything else go on as in vk-io.
 */
class SurfacingWorker extends SequentialWorker {
  override async handleError(request: APIRequest, error: APIError): Promise<void> {
    if (error.code !== 6) return super.handleError(request, error);
    request.reject(error);
    if (this.paused) return;
    this.pause();
    setTimeout(() => this.resume(), vkApiDefaults.tooManyRequestsPauseMs).unref();
  }
}

function installSurfacingWorker(api: API): void {
  // `worker` is private in vk-io 4.10.1 (pinned); fail loudly if an upgrade renames it.
  const holder = api as unknown as { worker?: unknown };
  if (!(holder.worker instanceof SequentialWorker))
    throw new Error("vk-io changed: API#worker is not a SequentialWorker; review src/channels/vk/api.ts");
  holder.worker = new SurfacingWorker(api);
}

/**
 * vk-io's upload step throws a bare `Error(statusText)` on a non-2xx answer and passes an upload
 * server's refusal (`{"error": …}`, or a photo answer whose `photo` list is empty) on to the save
 * method, where it turns into a confusing error 100. Both become an `UploadError` naming what the
 * upload server said; a refusal has the code `vkFileRefused`, as sending the same bytes again
 * cannot help.
 */
class CheckedUpload extends Upload {
  override async upload(url: URL | string, options: Parameters<Upload["upload"]>[1]) {
    let result: unknown;
    try {
      result = await super.upload(url, options);
    } catch (error) {
      if (error instanceof Error && error.constructor === Error)
        throw new UploadError({
          code: "UPLOAD_SERVER_STATUS",
          message: `the upload server answered ${error.message}`,
        });
      throw error;
    }
    if (typeof result === "object" && result !== null && "error" in result) {
      const reason = String((result as { error: unknown }).error).slice(0, 200);
      throw new UploadError({ code: vkFileRefused, message: reason });
    }
    if (typeof result === "object" && result !== null && (result as { photo?: unknown }).photo === "[]")
      throw new UploadError({ code: vkFileRefused, message: "the upload server kept no photo from it" });
    return result;
  }
}
