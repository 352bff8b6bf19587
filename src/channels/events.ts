import type { Attachment, LeadAnswer } from "../store/schema.ts";

/**
 * What a platform told us, in the hub's words. Adapters turn their webhooks into these; the intake
 * pipeline applies them to the store without knowing the platform. User ids are the platform's.
 */
export type InboundEvent =
  | {
      type: "message";
      message: PlatformMessage;
      capabilities?: Record<string, unknown>;
      /** The language of the client's app, as an ISO 639-1 code ("ru", "en"), when the platform says. */
      locale?: string;
    }
  | { type: "message_echo"; message: PlatformMessage; sendKey: string | null; adminId: string | null }
  | {
      type: "message_edited";
      externalId: string;
      userId: string;
      text: string | null;
      attachments: Attachment[];
      editedAt: Date;
    }
  | { type: "consent"; userId: string; state: "allowed" | "denied" }
  /** The client read the community's messages, up to and including the one with this platform id. */
  | { type: "read"; userId: string; upToExternalId: string }
  | { type: "button"; userId: string; data: Record<string, unknown> }
  | {
      type: "comment";
      action: "new" | "edit" | "delete" | "restore";
      publication: Publication;
      comment: PlatformComment;
    }
  | {
      type: "lead";
      leadId: string;
      formId: string;
      formName: string | null;
      userId: string;
      answers: LeadAnswer[];
    }
  | { type: "membership"; userId: string; joined: boolean; detail: string | null }
  | { type: "unsupported"; platformType: string; reason: string };

/** A direct message between the community and one client. */
export interface PlatformMessage {
  externalId: string;
  /** The client's user id: the sender of an inbound message, the recipient of an echo. */
  userId: string;
  text: string | null;
  attachments: Attachment[];
  sentAt: Date;
  payload: unknown;
  /** The platform id of the message this one replies to (quotes), when it quotes one. */
  replyToExternalId?: string | null;
}

/** A post, photo, video, topic or product that comments hang off. */
export interface Publication {
  /** Stable id, e.g. `wall-123_45` or `photo-123_67`. */
  ref: string;
  link: string;
}

export interface PlatformComment {
  externalId: string;
  /** The commenter; null when the community itself wrote it. */
  userId: string | null;
  text: string | null;
  attachments: Attachment[];
  sentAt: Date;
  link: string;
  replyToCommentId: string | null;
}
