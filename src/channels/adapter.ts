import type { AppError } from "../errors/app-error.ts";
import type { ChannelAccount } from "../store/repositories/channel-accounts.ts";
import type { InboundEvent } from "./events.ts";

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
      payload: unknown;
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
