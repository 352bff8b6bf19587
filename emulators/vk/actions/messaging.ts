/**
 * Acting as a user in a community's messages: write (message_new with the user's client_info),
 * edit (message_edit), press a keyboard button (message_event for callback buttons, message_new for
 * text buttons), allow or deny the community's messages, type, read (§1.7).
 */
import type { VkEvent } from "../events.ts";
import type { ClientInfo, Message, User, VkObject } from "../model.ts";
import { photoObject, renderMessage } from "../objects.ts";
import type { Runtime } from "../runtime.ts";
import { ControlError, hex } from "../state.ts";
import { placeholderPng } from "../uploads.ts";
import { messageView } from "./views.ts";

/** An attachment a user sends: made-up media the emulator serves, or a raw VK object. */
export type UserAttachment =
  | { type: "photo"; data?: string; contentType?: string; width?: number; height?: number }
  | { type: "doc"; title?: string; ext?: string; data?: string; contentType?: string }
  | { type: "audio_message"; data?: string; duration?: number; contentType?: string }
  | { type: "sticker"; sticker_id: number }
  | { type: string; [key: string]: unknown };

export interface WriteInput {
  userId: number;
  text?: string;
  attachments?: UserAttachment[];
  /** A button payload: an object (serialised) or the JSON string itself. */
  payload?: unknown;
  replyTo?: number;
  clientInfo?: Partial<ClientInfo>;
}

export interface PressInput {
  userId: number;
  /** Find the button by its label in the keyboard of `messageId`, or of the latest keyboard sent. */
  label?: string;
  messageId?: number;
  /** Or press a button that is not on any keyboard. */
  type?: "text" | "callback";
  payload?: unknown;
}

export interface Outcome {
  event: VkEvent;
  message?: ReturnType<typeof messageView>;
}

const payloadString = (payload: unknown) =>
  payload === undefined ? undefined : typeof payload === "string" ? payload : JSON.stringify(payload);

export function messagingActions(runtime: Runtime) {
  const { state, bus, options } = runtime;

  function actor(groupId: number, userId: number): { user: User } {
    state.community(groupId);
    const user = state.user(userId);
    if (user.deactivated) throw new ControlError(409, `user ${userId} is ${user.deactivated}`);
    return { user };
  }

  function attachment(input: UserAttachment, userId: number): VkObject {
    const bytes =
      "data" in input && typeof input.data === "string" ? Buffer.from(input.data, "base64") : undefined;
    const contentType =
      "contentType" in input && typeof input.contentType === "string" ? input.contentType : "";
    const kept = (media: ReturnType<typeof state.addMedia>, fallbackType: string) => {
      media.bytes = bytes ?? placeholderPng;
      media.contentType = contentType || fallbackType;
      return { type: media.kind, [media.kind]: media.object };
    };
    const url = (id: number) => `${runtime.baseUrl()}/media/${id}`;
    if (input.type === "photo") {
      const size = { width: Number(input.width ?? 1), height: Number(input.height ?? 1) };
      const media = state.addMedia("photo", userId, (id, key) => photoObject(id, userId, key, size, url(id)));
      return kept(media, "image/png");
    }
    if (input.type === "audio_message") {
      const duration = Number(input.duration ?? 1);
      const media = state.addMedia("audio_message", userId, (id, key) => ({
        id,
        owner_id: userId,
        duration,
        waveform: Array.from({ length: 128 }, () => 0),
        link_ogg: url(id),
        link_mp3: url(id),
        access_key: key,
      }));
      return kept(media, "audio/ogg");
    }
    if (input.type === "doc") {
      const ext = String(input.ext ?? "txt");
      const media = state.addMedia("doc", userId, (id, key) => ({
        id,
        owner_id: userId,
        title: String(input.title ?? `file.${ext}`),
        size: bytes?.length ?? 0,
        ext,
        url: url(id),
        date: Math.floor(Date.now() / 1000),
        type: 8,
        access_key: key,
      }));
      return kept(media, "application/octet-stream");
    }
    if (input.type === "sticker")
      return { type: "sticker", sticker: { sticker_id: input.sticker_id, product_id: 0 } };
    return input as VkObject;
  }

  function write(groupId: number, input: WriteInput): Outcome & { message: ReturnType<typeof messageView> } {
    const { user } = actor(groupId, input.userId);
    const community = state.community(groupId);
    if (!community.messagesEnabled) throw new ControlError(409, "community messages are disabled");
    const conversation = state.conversation(groupId, user.id);
    if (input.replyTo !== undefined && !conversation.messages.some((m) => m.id === input.replyTo)) {
      throw new ControlError(400, `no message ${input.replyTo} in this conversation`);
    }
    // A user who writes lets the community answer.
    community.permissions.set(user.id, true);
    const payload = payloadString(input.payload);
    const message = state.appendMessage(community, conversation, {
      fromId: user.id,
      out: 0,
      text: input.text ?? "",
      attachments: (input.attachments ?? []).map((a) => attachment(a, user.id)),
      randomId: "0",
      ...(payload !== undefined ? { payload } : {}),
      ...(input.replyTo !== undefined ? { replyTo: input.replyTo } : {}),
    });
    const clientInfo = { ...user.clientInfo, ...input.clientInfo };
    const event = bus.emit(groupId, "message_new", { message: render(message), client_info: clientInfo });
    return { event, message: messageView(message) };
  }

  const render = (message: Message) => renderMessage(message, options.messages, state.replied(message));

  function findButton(groupId: number, input: PressInput) {
    const conversation = state.conversation(groupId, input.userId);
    const source =
      input.messageId !== undefined
        ? conversation.messages.find((m) => m.id === input.messageId)
        : conversation.messages.findLast((m) => m.out === 1 && m.keyboard && !m.deleted?.forAll);
    const rows = (source?.keyboard?.buttons ?? []) as { action?: Record<string, unknown> }[][];
    for (const row of rows) {
      for (const { action } of row) {
        if (action && action.label === input.label) return { action, source };
      }
    }
    throw new ControlError(404, `no button labelled ${JSON.stringify(input.label)} on the keyboard`);
  }

  return {
    writeMessage: write,

    /** The user edits one of their own messages. */
    editMessage(
      groupId: number,
      messageId: number,
      input: { text?: string; attachments?: UserAttachment[] },
    ) {
      const found = state.findMessage(groupId, messageId);
      if (found?.message.out !== 0) throw new ControlError(404, `no message ${messageId} from a user`);
      const { message } = found;
      actor(groupId, message.fromId);
      if (input.text !== undefined) message.text = input.text;
      if (input.attachments !== undefined)
        message.attachments = input.attachments.map((a) => attachment(a, message.fromId));
      message.updateTime = Math.floor(Date.now() / 1000);
      message.version = ++state.community(groupId).seq.version;
      return { event: bus.emit(groupId, "message_edit", render(message)), message: messageView(message) };
    },

    /**
     * A callback button gives message_event, unless the client cannot show callback buttons: then
     * message_new with `not_supported_button` (negezor/vk-io#358). A text button writes its label.
     */
    pressButton(groupId: number, input: PressInput): Outcome {
      const { user } = actor(groupId, input.userId);
      const found = input.label !== undefined ? findButton(groupId, input) : undefined;
      const type = String(found?.action.type ?? input.type ?? "callback");
      const payload = payloadString(found ? found.action.payload : input.payload);
      const label = String(found?.action.label ?? input.label ?? "");
      if (type === "text") return write(groupId, { userId: user.id, text: label, payload });
      if (type !== "callback") throw new ControlError(400, `a ${type} button sends no event`);
      if (!user.clientInfo.button_actions.includes("callback")) {
        const unsupported = {
          command: "not_supported_button",
          button_type: "callback",
          payload: payload ?? "{}",
        };
        return write(groupId, { userId: user.id, text: label, payload: unsupported });
      }
      const eventId = hex(6);
      let parsed: unknown = {};
      try {
        parsed = payload === undefined ? {} : JSON.parse(payload);
      } catch {
        parsed = payload;
      }
      const cmid = found?.source?.cmid;
      state.messageEvents.set(eventId, {
        eventId,
        groupId,
        userId: user.id,
        peerId: user.id,
        ...(cmid !== undefined ? { cmid } : {}),
        payload: parsed,
        createdAt: Date.now(),
      });
      const event = bus.emit(groupId, "message_event", {
        user_id: user.id,
        peer_id: user.id,
        event_id: eventId,
        payload: options.messages.messageEventPayload === "object" ? parsed : (payload ?? "{}"),
        ...(cmid !== undefined ? { conversation_message_id: cmid } : {}),
      });
      return { event };
    },

    allowMessages(groupId: number, userId: number, key = "") {
      actor(groupId, userId);
      state.community(groupId).permissions.set(userId, true);
      return { event: bus.emit(groupId, "message_allow", { user_id: userId, key }) };
    },

    denyMessages(groupId: number, userId: number) {
      actor(groupId, userId);
      state.community(groupId).permissions.set(userId, false);
      return { event: bus.emit(groupId, "message_deny", { user_id: userId }) };
    },

    typing(groupId: number, userId: number, typingState = options.messages.typingState) {
      actor(groupId, userId);
      return {
        event: bus.emit(groupId, "message_typing_state", {
          from_id: userId,
          to_id: -groupId,
          state: typingState,
        }),
      };
    },

    /** The user reads the community's messages up to `messageId` (default: the latest). */
    read(groupId: number, userId: number, messageId?: number) {
      actor(groupId, userId);
      const conversation = state.conversation(groupId, userId);
      const message =
        messageId === undefined
          ? conversation.messages.findLast((m) => m.out === 1)
          : conversation.messages.find((m) => m.id === messageId);
      if (!message) throw new ControlError(404, "nothing to read");
      conversation.outRead = message.id;
      return {
        event: bus.emit(groupId, "message_read", {
          from_id: userId,
          peer_id: userId,
          read_message_id: message.id,
          conversation_message_id: message.cmid,
        }),
      };
    },
  };
}
