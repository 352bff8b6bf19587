/**
 * Events: every change a community should hear about becomes one `VkEvent`, which the bus hands
 * to Callback API delivery and to Bots Long Poll. The envelope (§1.4) is built per destination,
 * since `v` and `secret` belong to the server or the Long Poll settings.
 */
import { randomBytes } from "node:crypto";
import { versionAtLeast } from "./config.ts";
import type { VkObject } from "./model.ts";

/** The event flags of groups.setCallbackSettings / setLongPollSettings (vk-api-schema 5.199). */
export const eventTypes = [
  "message_new",
  "message_reply",
  "message_allow",
  "message_edit",
  "message_deny",
  "message_typing_state",
  "message_read",
  "message_event",
  "message_reaction_event",
  "photo_new",
  "audio_new",
  "video_new",
  "wall_reply_new",
  "wall_reply_edit",
  "wall_reply_delete",
  "wall_reply_restore",
  "wall_post_new",
  "wall_repost",
  "wall_schedule_post_new",
  "wall_schedule_post_delete",
  "board_post_new",
  "board_post_edit",
  "board_post_restore",
  "board_post_delete",
  "photo_comment_new",
  "photo_comment_edit",
  "photo_comment_delete",
  "photo_comment_restore",
  "video_comment_new",
  "video_comment_edit",
  "video_comment_delete",
  "video_comment_restore",
  "market_comment_new",
  "market_comment_edit",
  "market_comment_delete",
  "market_comment_restore",
  "market_order_new",
  "market_order_edit",
  "poll_vote_new",
  "group_join",
  "group_leave",
  "group_change_settings",
  "group_change_photo",
  "group_officers_edit",
  "user_block",
  "user_unblock",
  "lead_forms_new",
  "like_add",
  "like_remove",
  "donut_subscription_create",
  "donut_subscription_prolonged",
  "donut_subscription_cancelled",
  "donut_subscription_price_changed",
  "donut_subscription_expired",
  "donut_money_withdraw",
  "donut_money_withdraw_error",
] as const;

const known = new Set<string>(eventTypes);

/** A type with a settings flag is sent only where subscribed; a made-up type goes everywhere. */
export const isSubscribed = (events: ReadonlySet<string>, type: string) =>
  known.has(type) ? events.has(type) : true;

export interface VkEvent {
  /** 40 hex characters, as in every observed envelope. */
  eventId: string;
  groupId: number;
  type: string;
  /** A JSON snapshot taken when the event happened. */
  object: VkObject;
  at: number;
}

export const newEventId = () => randomBytes(20).toString("hex");

/**
 * The object for API version `v`: before 5.103, message_new carried the bare message; since then
 * `{message, client_info}` (vk-io polyfills the old shape).
 */
export function objectFor(event: VkEvent, v: string): unknown {
  if (event.type === "message_new" && !versionAtLeast(v, "5.103")) return event.object.message;
  return event.object;
}

export function envelope(event: VkEvent, v: string, options: { secret?: string; eventId?: string } = {}) {
  return {
    type: event.type,
    event_id: options.eventId ?? event.eventId,
    v,
    object: objectFor(event, v),
    group_id: event.groupId,
    ...(options.secret ? { secret: options.secret } : {}),
  };
}

export type EventSink = (event: VkEvent) => void;

export class EventBus {
  readonly log: VkEvent[] = [];
  readonly #sinks: EventSink[] = [];

  constructor(private readonly logLimit: number) {}

  subscribe(sink: EventSink) {
    this.#sinks.push(sink);
  }

  emit(groupId: number, type: string, object: VkObject): VkEvent {
    const event: VkEvent = {
      eventId: newEventId(),
      groupId,
      type,
      object: structuredClone(object),
      at: Date.now(),
    };
    this.log.push(event);
    if (this.log.length > this.logLimit) this.log.shift();
    for (const sink of this.#sinks) sink(event);
    return event;
  }
}
