/**
 * Sending a message through the channels' outbound adapters: a reply sent within its API request
 * (`send`), and each attempt the dispatcher makes at a queued message (`attempt`). Every rule about
 * crash safety lives here, not in the adapters or the dispatcher:
 *
 * - **Rows first.** A message is stored as its ordered parts (one row, one send key, one platform
 *   id per platform message), status `sending`, committed before the platform is called. The send
 *   key (VK `peer:random_id`) derives from the message id, so the platform's echo of every part is
 *   matched by intake and never stored again as the community's own message.
 * - **Idempotent.** The first part carries the request's `Idempotency-Key`. A repeat with the key
 *   continues that message: parts already on the platform are skipped, the others are sent again
 *   with the same random ids, so a send that reached VK just before a crash is dropped by VK as a
 *   duplicate instead of reaching the client twice.
 * - **Passing failures are retried** (VK 6, 9, 10, 29, network, uploads) with back-off, honouring
 *   `retryAfter`, within `retryWindowMs` per request; never reported as failures meanwhile. Still
 *   failing after it, the parts go back to the queue (`queued`, with the last error's code) and
 *   the dispatcher carries on within the message's time to live.
 * - **Everything else is final**: `failed` with the catalogued code. A dead token (VK 5, 27) is
 *   recorded on the channel by the adapter's client (`markTokenDead`) and the call goes on with
 *   the next live token.
 * - Anything that is not an AppError (a bug, a crash) leaves the rows as they are, `sending`:
 *   a repeat with the key finishes them, else the dispatcher takes them over when the lease ends.
 */
import { v7 as uuidv7 } from "uuid";
import type {
  ButtonAnswer,
  OutboundAdapter,
  OutboundAttachmentKind,
  SentMessage,
} from "../../channels/adapter.ts";
import type { Keyboard } from "../../channels/keyboard.ts";
import { AppError } from "../../errors/app-error.ts";
import type { FetchedMedia } from "../../media/fetch.ts";
import type { Db } from "../../store/database.ts";
import {
  type ChannelAccount,
  type ChannelKind,
  requireChannelAccount,
} from "../../store/repositories/channel-accounts.ts";
import {
  type ContactEvent,
  getContactEvent,
  recordButtonAnswer,
} from "../../store/repositories/contact-activity.ts";
import { type Conversation, requireConversation } from "../../store/repositories/conversations.ts";
import {
  findMessageByIdempotencyKey,
  getMessage,
  insertOutboundMessage,
  isOnPlatform,
  latestClientComment,
  listParts,
  type Message,
  markSending,
  markUnsent,
  type NewMessage,
  outboundRecipient,
  recordHubEdit,
  requireMessage,
  sendLeaseMs,
  setAttachments,
  setMessageDeleted,
} from "../../store/repositories/messages.ts";
import type { Attachment } from "../../store/schema.ts";
import { messageEvent, recordEvent } from "../webhooks/events.ts";
import { LeaseKeeper } from "./leases.ts";
import { isPassing, type RetryClock, realClock, retryAfterMs, retrying } from "./retry.ts";
import { SentWrites } from "./sent-writes.ts";
import { announceStatus } from "./status-events.ts";

export const sendDefaults = {
  /** How long one request keeps retrying passing failures before it answers. */
  retryWindowMs: 15_000,
  /** How long a message left to the dispatcher may wait before it ends `expired`. */
  ttlMs: 86_400_000,
} as const;

export interface AttachmentInput {
  kind: OutboundAttachmentKind;
  /** Where the hub downloads the file from (http or https). */
  url: string;
  name?: string | undefined;
}

export interface SendInput {
  text?: string | undefined;
  attachments?: AttachmentInput[] | undefined;
  keyboard?: Keyboard | undefined;
  /** Split a text over the channel's limit into parts (default), or refuse it. */
  split?: boolean | undefined;
  /** Direct conversations: the message quoted; comments: the comment answered (default: the latest client's). */
  replyToMessageId?: string | undefined;
  idempotencyKey?: string | undefined;
  author: { kind: "api" | "operator" | "bot"; ref: string | null };
}

export interface EditInput {
  text?: string | undefined;
  attachments?: AttachmentInput[] | undefined;
  keyboard?: Keyboard | undefined;
}

/** The message (its first part) and all its parts in order; `error` when not all went out. */
export type SendResult =
  | { ok: true; message: Message; parts: Message[] }
  | { ok: false; message: Message; parts: Message[]; error: AppError };

export interface SendServiceOptions {
  retryWindowMs?: number;
  ttlMs?: number;
  /** How long a part stays `sending` before a dispatcher may take it over (see `sendLeaseMs`). */
  leaseMs?: number;
  clock?: RetryClock;
  /** Downloads attachments given by URL (through the hub's SSRF guard). */
  fetchMedia: (url: string) => Promise<FetchedMedia>;
  /** Settles work the adapters started on the side (recording a dead token), before an answer. */
  settle?: () => Promise<void>;
  /** Releases what the adapters hold (kept-alive connections). */
  close?: () => void;
}

/**
 * What the dispatcher already knows about a message's route (looked up for its whole batch):
 * the channel, the direct conversation, the recipient's platform id and consent. `single`: the
 * message is one platform message (the send API never splits), so its parts need no look-up.
 */
export interface PreparedRoute {
  channel: ChannelAccount;
  conversation: Conversation;
  peer: string;
  refused: boolean;
  single: boolean;
}

export interface AttemptOptions {
  prepared?: PreparedRoute | undefined;
  /**
   * Waits until the account's limits let one more platform message leave, and counts it: called
   * right before each platform call, so the limits hold where the platform counts, on the wire.
   */
  admit?: () => Promise<void>;
}

type Target =
  | { kind: "message"; peer: string }
  | { kind: "comment"; publicationRef: string; peer: string | null };

interface Route {
  channel: ChannelAccount;
  adapter: OutboundAdapter;
  conversation: Conversation;
  target: Target;
}

const hubAuthors: readonly Message["authorKind"][] = ["api", "operator", "bot"];

export class SendService {
  readonly #db: Db;
  readonly #adapters: Partial<Record<ChannelKind, OutboundAdapter>>;
  readonly #retryWindowMs: number;
  readonly #ttlMs: number;
  readonly #leaseMs: number;
  readonly #sentWrites: SentWrites;
  readonly #leases: LeaseKeeper;
  readonly #clock: RetryClock;
  readonly #fetch: (url: string) => Promise<FetchedMedia>;
  readonly #settle: () => Promise<void>;
  readonly #close: () => void;

  constructor(db: Db, adapters: Partial<Record<ChannelKind, OutboundAdapter>>, options: SendServiceOptions) {
    this.#db = db;
    this.#adapters = adapters;
    this.#retryWindowMs = options.retryWindowMs ?? sendDefaults.retryWindowMs;
    this.#ttlMs = options.ttlMs ?? sendDefaults.ttlMs;
    this.#leaseMs = options.leaseMs ?? sendLeaseMs;
    this.#sentWrites = new SentWrites(db);
    this.#leases = new LeaseKeeper(db, this.#leaseMs);
    this.#clock = options.clock ?? realClock;
    this.#fetch = options.fetchMedia;
    this.#settle = options.settle ?? (async () => {});
    this.#close = options.close ?? (() => {});
  }

  close(): void {
    this.#leases.close();
    this.#close();
  }

  /** The outbound adapter of a channel kind, when the hub can send through it. */
  adapter(kind: ChannelKind): OutboundAdapter | undefined {
    return this.#adapters[kind];
  }

  /** Sends a message into a conversation (or continues the one stored under its idempotency key). */
  async send(workspaceId: string, conversationId: string, input: SendInput): Promise<SendResult> {
    try {
      return await this.#send(workspaceId, conversationId, input);
    } finally {
      await this.#settle();
    }
  }

  /**
   * One attempt, for the dispatcher, at the parts of a stored message that are not on the
   * platform yet (`queued`, or `sending` after a crash), in order, through its conversation's
   * channel: the same rows and random ids, so nothing reaches the client twice. The first
   * failure is thrown as it came; the dispatcher decides what it means.
   */
  async attempt(head: Message, options: AttemptOptions = {}): Promise<void> {
    const { prepared, admit } = options;
    try {
      const route = prepared ? this.#preparedRoute(prepared) : await this.#routeOf(head);
      // The dispatcher took the head row (leased, its attempt counted); other parts are marked here.
      const parts = prepared?.single ? [head] : await listParts(this.#db, head.id);
      const unsent = parts.filter((part) => !isOnPlatform(part));
      await this.#leases.holding(
        unsent.map((part) => part.id),
        async () => {
          for (const part of unsent)
            await this.#sendPart(route, head, part.id === head.id && prepared ? part : part.id, admit);
        },
      );
    } finally {
      await this.#settle();
    }
  }

  /** Replaces the text, attachments or keyboard of a message the hub sent, on the platform too. */
  async edit(workspaceId: string, messageId: string, input: EditInput): Promise<Message> {
    try {
      const message = await requireMessage(this.#db, workspaceId, messageId);
      const route = await this.#changeable(message, "edit");
      const { channel, adapter } = route;
      const peer = route.target.peer as string;
      const text =
        input.text === undefined
          ? message.text
          : input.text.trim() === ""
            ? null
            : (adapter.splitText(channel, input.text, false)[0] ?? null);
      if (input.keyboard) this.#checkKeyboard(route, input.keyboard);
      const attachments =
        input.attachments === undefined
          ? message.attachments
          : await this.#upload(route, peer, input.attachments.map(toAttachment));
      if (text === null && attachments.length === 0) throw new AppError("empty_message");
      await retrying(
        () =>
          adapter.edit(
            channel,
            { peer, externalId: message.externalId as string },
            {
              text,
              attachments: attachments.map((a) => a.externalId as string),
              ...(input.keyboard ? { keyboard: input.keyboard } : {}),
            },
          ),
        this.#deadline(),
        this.#clock,
      );
      return await this.#db.transaction(async (tx) => {
        await recordHubEdit(tx, message.id, {
          text,
          attachments,
          ...(input.keyboard ? { keyboard: input.keyboard as unknown as Record<string, unknown> } : {}),
        });
        const edited = await requireMessage(tx, workspaceId, messageId);
        await recordEvent(tx, messageEvent("message.edited", edited));
        return edited;
      });
    } finally {
      await this.#settle();
    }
  }

  /**
   * Deletes a message the hub sent for everyone. The first part of a split message takes its
   * other parts with it; a later part (by its own id) goes alone.
   */
  async remove(workspaceId: string, messageId: string): Promise<Message> {
    try {
      const message = await requireMessage(this.#db, workspaceId, messageId);
      const route = await this.#changeable(message, "delete");
      const parts =
        message.part === 0 && message.partOf === null ? await listParts(this.#db, message.id) : [message];
      const targets = parts.filter((p) => isOnPlatform(p) && p.externalId !== null && p.deletedAt === null);
      const results = await retrying(
        () =>
          route.adapter.delete(route.channel, {
            peer: route.target.peer as string,
            externalIds: targets.map((p) => p.externalId as string),
          }),
        this.#deadline(),
        this.#clock,
      );
      const now = new Date();
      let failure: AppError | undefined;
      for (const [index, result] of results.entries()) {
        const row = targets[index];
        if (result.deleted && row)
          await this.#db.transaction(async (tx) => {
            await setMessageDeleted(tx, row.id, now);
            await recordEvent(tx, messageEvent("message.deleted", { ...row, deletedAt: now }));
          });
        else
          failure ??=
            result.error ?? new AppError("vk_unexpected_response", { reason: "the message was not deleted" });
      }
      if (failure) throw failure;
      return await requireMessage(this.#db, workspaceId, messageId);
    } finally {
      await this.#settle();
    }
  }

  /** Answers a client's press of a callback button (a snackbar, a link, or just an acknowledgement). */
  async answerButton(workspaceId: string, eventId: string, answer: ButtonAnswer): Promise<ContactEvent> {
    try {
      const event = await getContactEvent(this.#db, workspaceId, eventId);
      if (!event) throw new AppError("contact_event_not_found", { id: eventId });
      if (event.kind !== "button_pressed")
        throw new AppError("contact_event_not_button", { id: eventId, kind: event.kind });
      const earlier = event.data.answer as { at?: string } | undefined;
      if (earlier) throw new AppError("contact_event_answered", { id: eventId, at: earlier.at ?? "" });
      const { channel, adapter } = await this.#channel(workspaceId, event.channelAccountId);
      // The answer goes to the account that pressed, which the press names: a contact may have
      // several accounts on the platform (after a merge), and only that one waits for it.
      const peer = String(event.data.peer_id ?? "");
      await retrying(
        () => adapter.answerButton(channel, { peer, event: event.data }, answer),
        this.#deadline(),
        this.#clock,
      );
      const answered = await recordButtonAnswer(this.#db, event.id, {
        ...answer,
        at: new Date().toISOString(),
      });
      return answered ?? event;
    } finally {
      await this.#settle();
    }
  }

  // ── Sending ────────────────────────────────────────────────────────────────

  async #send(workspaceId: string, conversationId: string, input: SendInput): Promise<SendResult> {
    const conversation = await requireConversation(this.#db, workspaceId, conversationId);
    const route = await this.#route(conversation);
    const texts = this.#plan(route, input);
    const replyTo = await this.#replyTo(route, input.replyToMessageId);

    const key = input.idempotencyKey;
    const earlier = key ? await findMessageByIdempotencyKey(this.#db, workspaceId, key) : undefined;
    if (earlier) return this.#continue(route, earlier, texts, key as string);

    const headId = uuidv7();
    const count = Math.max(1, texts.length);
    const sentAt = new Date();
    const rows: NewMessage[] = Array.from({ length: count }, (_, part) => {
      const last = part === count - 1;
      return {
        id: part === 0 ? headId : uuidv7(),
        workspaceId,
        conversationId: conversation.id,
        channelAccountId: route.channel.id,
        contactId: conversation.contactId,
        direction: "outbound",
        authorKind: input.author.kind,
        authorRef: input.author.ref,
        text: texts[part] ?? null,
        attachments: last ? (input.attachments ?? []).map(toAttachment) : [],
        keyboard: last && input.keyboard ? (input.keyboard as unknown as Record<string, unknown>) : null,
        sendKey:
          route.target.kind === "message"
            ? route.adapter.sendKey(route.channel, route.target.peer, headId, part)
            : null,
        status: "sending",
        notBefore: new Date(sentAt.getTime() + this.#leaseMs),
        expiresAt: new Date(sentAt.getTime() + this.#ttlMs),
        part,
        partOf: part === 0 ? null : headId,
        // Every comment part answers the same comment; a direct message quotes only in its first part.
        replyToMessageId: replyTo && (part === 0 || route.target.kind === "comment") ? replyTo.id : null,
        idempotencyKey: part === 0 ? (key ?? null) : null,
        sentAt,
      };
    });
    const { head, created } = await insertOutboundMessage(this.#db, rows);
    if (!created) return this.#continue(route, head, texts, key as string);
    return this.#deliver(route, head);
  }

  /** A repeat of the request that stored `head`: the same message, carried on. */
  #continue(route: Route, head: Message, texts: string[], key: string): Promise<SendResult> {
    const same =
      head.conversationId === route.conversation.id &&
      head.direction === "outbound" &&
      head.part === 0 &&
      head.text === (texts[0] ?? null);
    if (!same) throw new AppError("idempotency_key_reused", { key });
    return this.#deliver(route, head);
  }

  /**
   * Sends the parts not yet on the platform, in order, keeping their leases meanwhile; stops at
   * the first that does not go.
   */
  async #deliver(route: Route, head: Message): Promise<SendResult> {
    const deadline = this.#deadline();
    const parts = await listParts(this.#db, head.id);
    const unsent = parts.filter((part) => !isOnPlatform(part)).map((part) => part.id);
    return this.#leases.holding(unsent, () => this.#deliverParts(route, head, parts, deadline));
  }

  async #deliverParts(route: Route, head: Message, parts: Message[], deadline: number): Promise<SendResult> {
    for (const part of parts) {
      if (isOnPlatform(part)) continue;
      try {
        await retrying(() => this.#sendPart(route, head, part.id), deadline, this.#clock);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        const rest = parts.filter((p) => p.part >= part.part && !isOnPlatform(p)).map((p) => p.id);
        const outcome = isPassing(error)
          ? { status: "queued" as const, retryAt: new Date(this.#clock.now() + retryAfterMs(error)) }
          : { status: "failed" as const };
        await this.#db.transaction(async (tx) => {
          await markUnsent(tx, rest, outcome, error.code);
          if (outcome.status === "failed") await announceStatus(tx, rest, "sending", route.channel.kind);
        });
        const after = await listParts(this.#db, head.id);
        return { ok: false, message: after[0] as Message, parts: after, error };
      }
    }
    const after = await listParts(this.#db, head.id);
    return { ok: true, message: after[0] as Message, parts: after };
  }

  /**
   * Sends one part: by id (read again, since an earlier attempt may have uploaded some of its
   * attachments, and marked `sending`), or as a row the dispatcher has just taken (already leased).
   */
  async #sendPart(
    route: Route,
    head: Message,
    which: string | Message,
    admit: () => Promise<void> = async () => {},
  ): Promise<void> {
    const { adapter, channel, target } = route;
    const part = typeof which === "string" ? await requireMessage(this.#db, head.workspaceId, which) : which;
    if (typeof which === "string") await markSending(this.#db, part.id, this.#leaseMs);
    const replyTo = part.replyToMessageId
      ? await getMessage(this.#db, head.workspaceId, part.replyToMessageId)
      : undefined;
    if (target.kind === "comment") {
      await admit();
      const sent = await adapter.replyToComment(channel, {
        messageId: head.id,
        part: part.part,
        publicationRef: target.publicationRef,
        replyTo: replyTo?.externalId ?? null,
        text: part.text ?? "",
      });
      await this.#recordSent(part, sent, channel.kind);
      return;
    }
    const attachments = await this.#upload(route, target.peer, part.attachments, part.id);
    await admit();
    const sent = await adapter.send(channel, {
      messageId: head.id,
      part: part.part,
      peer: target.peer,
      text: part.text,
      attachments: attachments.map((a) => a.externalId as string),
      ...(part.keyboard ? { keyboard: part.keyboard as unknown as Keyboard } : {}),
      ...(replyTo?.externalId ? { replyTo: replyTo.externalId } : {}),
    });
    await this.#recordSent(part, sent, channel.kind);
  }

  /** The platform took a part: `sent`, announced in the same transaction (grouped with others). */
  async #recordSent(part: Message, sent: SentMessage, kind: ChannelKind) {
    await this.#sentWrites.record(part, sent, kind);
  }

  /**
   * Downloads and uploads the attachments the platform does not have yet, keeping each
   * reference on the row (`rowId`) as soon as it exists, so a retry does not upload it again.
   */
  async #upload(route: Route, peer: string, list: Attachment[], rowId?: string): Promise<Attachment[]> {
    const attachments = [...list];
    for (const [index, attachment] of attachments.entries()) {
      if (attachment.externalId) continue;
      const file = await this.#fetch(attachment.url ?? "");
      const externalId = await route.adapter.upload(route.channel, peer, {
        kind: attachment.kind as OutboundAttachmentKind,
        data: file.data,
        ...((attachment.name ?? file.filename) ? { filename: attachment.name ?? file.filename } : {}),
        ...(file.contentType ? { contentType: file.contentType } : {}),
      });
      attachments[index] = {
        ...attachment,
        externalId,
        size: file.data.length,
        ...(file.contentType ? { mimeType: file.contentType } : {}),
      };
      if (rowId) await setAttachments(this.#db, rowId, attachments);
    }
    return attachments;
  }

  // ── Checks ─────────────────────────────────────────────────────────────────

  /** The route of a stored message: its conversation's channel and recipient. */
  async #routeOf(head: Message): Promise<Route> {
    if (!head.conversationId) throw new Error(`message ${head.id} has no conversation to go out in`);
    return this.#route(await requireConversation(this.#db, head.workspaceId, head.conversationId));
  }

  /** A route the dispatcher looked up for a whole batch at once. */
  #preparedRoute(prepared: PreparedRoute): Route {
    const { channel, conversation, peer, refused } = prepared;
    if (channel.state === "disabled") throw new AppError("channel_disabled", { id: channel.id });
    const adapter = this.#adapters[channel.kind];
    if (!adapter) throw new AppError("channel_send_unsupported", { kind: channel.kind });
    if (refused) throw new AppError("contact_refused_messages");
    return { channel, adapter, conversation, target: { kind: "message", peer } };
  }

  /** The channel and adapter a conversation sends through, and who (or what) it sends to. */
  async #route(conversation: Conversation): Promise<Route> {
    const { channel, adapter } = await this.#channel(conversation.workspaceId, conversation.channelAccountId);
    if (conversation.kind === "comments") {
      const publicationRef = conversation.externalRef ?? "";
      adapter.checkCommentReply(channel, publicationRef);
      return { channel, adapter, conversation, target: { kind: "comment", publicationRef, peer: null } };
    }
    // Direct and lead conversations go to the contact's own dialog with the channel.
    const recipient = await outboundRecipient(this.#db, conversation, channel);
    if (!recipient) throw new AppError("recipient_unknown", { id: conversation.id, kind: channel.kind });
    if (recipient.consent === "denied") throw new AppError("contact_refused_messages");
    return {
      channel,
      adapter,
      conversation,
      target: { kind: "message", peer: recipient.identity.externalId },
    };
  }

  async #channel(workspaceId: string, channelId: string) {
    const channel = await requireChannelAccount(this.#db, workspaceId, channelId);
    if (channel.state === "disabled") throw new AppError("channel_disabled", { id: channel.id });
    const adapter = this.#adapters[channel.kind];
    if (!adapter) throw new AppError("channel_send_unsupported", { kind: channel.kind });
    return { channel, adapter };
  }

  /** Checks the content against the channel and returns the texts of its parts. */
  #plan(route: Route, input: SendInput): string[] {
    const { adapter, channel } = route;
    const capabilities = adapter.capabilities(channel);
    const attachments = input.attachments ?? [];
    if (route.target.kind === "comment") {
      if (attachments.length > 0)
        throw invalid("attachments", "replies to comments carry text only on this channel");
      if (input.keyboard) throw invalid("keyboard", "replies to comments cannot carry a keyboard");
    }
    for (const [index, attachment] of attachments.entries()) {
      if (!capabilities.attachmentKinds.includes(attachment.kind))
        throw invalid(`attachments.${index}.kind`, `this channel cannot send ${attachment.kind} attachments`);
    }
    if (attachments.length > capabilities.maxAttachments)
      throw invalid("attachments", `this channel takes at most ${capabilities.maxAttachments} attachments`);
    if (input.keyboard) this.#checkKeyboard(route, input.keyboard);
    const text = input.text ?? "";
    const texts = text.trim() === "" ? [] : adapter.splitText(channel, text, input.split ?? true);
    if (texts.length === 0 && attachments.length === 0) throw new AppError("empty_message");
    return texts;
  }

  #checkKeyboard(route: Route, keyboard: Keyboard) {
    const { keyboards } = route.adapter.capabilities(route.channel);
    if (keyboard.inline ? !keyboards.inline : !keyboards.standard)
      throw invalid("keyboard.inline", "this channel cannot show such a keyboard");
    route.adapter.checkKeyboard(route.channel, keyboard);
  }

  /** The message replied to: given (it must be in the conversation), or a comments thread's latest. */
  async #replyTo(route: Route, id: string | undefined): Promise<Message | undefined> {
    if (id !== undefined) {
      const message = await getMessage(this.#db, route.conversation.workspaceId, id);
      if (!message || message.conversationId !== route.conversation.id || message.externalId === null)
        throw invalid("reply_to_message_id", "no message of this conversation on the platform has this id");
      return message;
    }
    return route.target.kind === "comment" ? latestClientComment(this.#db, route.conversation.id) : undefined;
  }

  /** The channel and recipient of a sent message that may be edited or deleted, or why not. */
  async #changeable(message: Message, action: "edit" | "delete"): Promise<Route> {
    const refuse = (reason: string) => new AppError("message_not_editable", { id: message.id, reason });
    if (message.direction !== "outbound" || !hubAuthors.includes(message.authorKind))
      throw refuse("it was not sent by the hub");
    if (message.deletedAt !== null) throw refuse("it was deleted");
    if (!isOnPlatform(message) || message.externalId === null)
      throw refuse("it has not reached the platform");
    if (!message.conversationId) throw refuse("it belongs to no conversation");
    const conversation = await requireConversation(this.#db, message.workspaceId, message.conversationId);
    if (conversation.kind === "comments")
      throw refuse("a reply to a comment can be corrected only on the platform itself");
    const { channel, adapter } = await this.#channel(message.workspaceId, conversation.channelAccountId);
    const capabilities = adapter.capabilities(channel);
    if (action === "edit" ? !capabilities.edit : !capabilities.delete)
      throw refuse(`this channel cannot ${action} messages`);
    const recipient = await outboundRecipient(this.#db, conversation, channel);
    if (!recipient) throw new AppError("recipient_unknown", { id: conversation.id, kind: channel.kind });
    return {
      channel,
      adapter,
      conversation,
      target: { kind: "message", peer: recipient.identity.externalId },
    };
  }

  #deadline(): number {
    return this.#clock.now() + this.#retryWindowMs;
  }
}

function toAttachment(input: AttachmentInput): Attachment {
  return { kind: input.kind, url: input.url, ...(input.name ? { name: input.name } : {}) };
}

function invalid(path: string, detail: string): AppError {
  return new AppError("validation_failed", {}, { details: [{ path, code: "custom", detail }] });
}
