import type { AppError } from "../errors/app-error.ts";
import type { ChannelAccount } from "../store/repositories/channel-accounts.ts";
import type { InboundEvent } from "./events.ts";
import type { Keyboard } from "./keyboard.ts";

/** A webhook request as the hub received it. */
export interface WebhookRequest {
  body: string;
  header(name: string): string | undefined;
}

/** What to do with a webhook request. */
export type WebhookVerdict =
  /** Answer at once without storing anything (VK's confirmation handshake). */
  | { action: "answer"; body: string }
  /** Store the event under its platform id, then answer `answer`. */
  | {
      action: "store";
      eventId: string;
      eventType: string;
      /** The event as JSON text, stored as it came (usually the request's body itself). */
      payloadJson: string;
      retryCounter: number | null;
      answer: string;
    }
  | { action: "refuse"; error: AppError };

/** The inbound half of a platform adapter: verify and parse webhooks, nothing else. */
export interface InboundAdapter {
  readWebhook(
    channel: ChannelAccount,
    credentials: Record<string, unknown>,
    request: WebhookRequest,
  ): WebhookVerdict;
  /** Turns a stored payload into an event; never throws for content it does not know. */
  parseEvent(payload: unknown): InboundEvent;
}

// ── Outbound ─────────────────────────────────────────────────────────────────

/** Attachment kinds the hub sends: photos and documents as files, voice as a voice message. */
export const outboundAttachmentKinds = ["photo", "document", "voice"] as const;
export type OutboundAttachmentKind = (typeof outboundAttachmentKinds)[number];

/** What a platform can send; the send pipeline checks a request against it before storing it. */
export interface OutboundCapabilities {
  /** The longest text of one platform message; longer texts are split into parts or refused. */
  textLimit: number;
  attachmentKinds: readonly OutboundAttachmentKind[];
  /** Attachments one message may carry. */
  maxAttachments: number;
  keyboards: { inline: boolean; standard: boolean };
  edit: boolean;
  delete: boolean;
  /** Some publications' comments can be answered (which ones: `checkCommentReply`). */
  commentReplies: boolean;
  /** Callback button presses can be answered (a snackbar, a link). */
  buttonAnswers: boolean;
}

/**
 * How fast a platform lets one account send (the dispatcher's defaults for it, which the
 * account's own `limits` may override): platform messages per second, of which notifications
 * and bulk; notifications to one recipient in any 24 hours (0: none); a pause between two sends
 * plus up to `jitterMs` at random (anti-ban pacing).
 */
export interface SendLimits {
  perSecond: number;
  notificationsPerSecond: number;
  perRecipientPerDay: number;
  minIntervalMs: number;
  jitterMs: number;
}

/** A file to attach, already downloaded. */
export interface OutboundFile {
  kind: OutboundAttachmentKind;
  data: Buffer;
  filename?: string;
  contentType?: string;
}

/** One platform message: part `part` of the hub's message `messageId`, to the user `peer`. */
export interface OutboundMessage {
  /** With `part`, the source of the platform's idempotency value (VK `random_id`). */
  messageId: string;
  part: number;
  /** The platform's user id of the recipient. */
  peer: string;
  text: string | null;
  /** Platform references of uploaded files (from `upload`). */
  attachments: readonly string[];
  keyboard?: Keyboard;
  /** The platform's id of a message of the same dialog this one quotes. */
  replyTo?: string;
}

/** A reply under a publication, to one of its comments or at the top. */
export interface OutboundCommentReply {
  messageId: string;
  part: number;
  /** The publication as inbound parsing names it (VK: `wall-123_45`). */
  publicationRef: string;
  /** The platform id of the comment answered, as stored on its message (VK: `wall-123_45:c7`). */
  replyTo: string | null;
  text: string;
}

/** What the platform's answer to a send tells. */
export interface SentMessage {
  /** The platform's id of the message, when it says (stored unique per channel and direction). */
  externalId: string | null;
  /** Where a person sees it (a comment's page). */
  link?: string;
}

/** How a pressed callback button is answered. */
export type ButtonAnswer =
  | { type: "snackbar"; text: string }
  | { type: "link"; url: string }
  /** Only stops the button's spinner. */
  | { type: "none" };

/**
 * The outbound half of a platform adapter: send, edit, delete, answer comments and buttons, and
 * classify every failure into the catalogue. It knows nothing of queues, retries or the store:
 * the send pipeline (`src/pipeline/send`) wraps it with those.
 */
export interface OutboundAdapter {
  capabilities(channel: ChannelAccount): OutboundCapabilities;
  /** The platform's own limits for this account, before the account's overrides. */
  sendLimits(channel: ChannelAccount): SendLimits;
  /**
   * This route cannot deliver this message however often it is tried (the recipient refused or
   * is unknown here, or the account is down for everyone): the dispatcher falls back to the
   * message's next route. Passing failures are recognised by their catalogue class instead.
   */
  isFinalForRoute(error: AppError): boolean;
  /**
   * The ordered texts of the platform messages one text becomes; with `split: false`, the text
   * itself or the catalogued "too long" error.
   */
  splitText(channel: ChannelAccount, text: string, split: boolean): string[];
  /** Throws the catalogued error when the platform cannot show this keyboard. */
  checkKeyboard(channel: ChannelAccount, keyboard: Keyboard): void;
  /** Throws the catalogued refusal when comments of this publication cannot be answered here. */
  checkCommentReply(channel: ChannelAccount, publicationRef: string): void;
  /** Throws the catalogued error when `userId` cannot name a user of the platform. */
  checkUserId(userId: string): void;
  /**
   * The value the platform echoes back with this part (VK: `peer:random_id`), derived from the
   * message id so it is the same for every attempt; stored before the send so the echo is
   * recognised. Null when the platform echoes nothing to match.
   */
  sendKey(channel: ChannelAccount, peer: string, messageId: string, part: number): string | null;
  /** Uploads a file for a message to `peer`; the reference is kept so a retry does not upload again. */
  upload(channel: ChannelAccount, peer: string, file: OutboundFile): Promise<string>;
  send(channel: ChannelAccount, message: OutboundMessage): Promise<SentMessage>;
  /** Replaces a sent message's text and attachments (and keyboard, when given). */
  edit(
    channel: ChannelAccount,
    target: { peer: string; externalId: string },
    content: { text: string | null; attachments: readonly string[]; keyboard?: Keyboard },
  ): Promise<void>;
  /** Deletes sent messages for everyone; one result per message, in order. */
  delete(
    channel: ChannelAccount,
    target: { peer: string; externalIds: readonly string[] },
  ): Promise<{ externalId: string; deleted: boolean; error?: AppError }[]>;
  replyToComment(channel: ChannelAccount, reply: OutboundCommentReply): Promise<SentMessage>;
  /** Answers a button press; `event` is the press as inbound parsing stored it. */
  answerButton(
    channel: ChannelAccount,
    press: { peer: string; event: Record<string, unknown> },
    answer: ButtonAnswer,
  ): Promise<void>;
}
