/**
 * The content of an outbound message as the API takes it — keyboards and attachments — shared
 * by the conversation send, the edit and the send API, and its conversion to the neutral model.
 */
import { z } from "@hono/zod-openapi";
import { outboundAttachmentKinds } from "../../channels/adapter.ts";
import type { Keyboard, KeyboardButton } from "../../channels/keyboard.ts";
import type { AttachmentInput } from "../../pipeline/send/service.ts";

// An empty label or a link that is not a web address is wrong on any channel, so the schema
// refuses it; each channel's own limits (VK: 40 characters) come from its adapter.
const label = z
  .string()
  .min(1, "a button needs a label")
  .openapi({ description: "At most 40 characters on VK" });
const link = z.url({ protocol: /^https?$/, error: "a link button's url must be an http or https URL" });
const payload = z.unknown().optional().openapi({
  description: "Any JSON value (VK: at most 255 characters serialised), returned with the press",
});
const color = z.enum(["primary", "secondary", "positive", "negative"]).optional();

const ButtonSchema = z
  .discriminatedUnion("type", [
    z.strictObject({ type: z.literal("text"), label, payload, color }),
    z.strictObject({ type: z.literal("callback"), label, payload, color }),
    z.strictObject({ type: z.literal("link"), label, url: link, payload }),
  ])
  .openapi("KeyboardButton", {
    description:
      "`text` sends its label as the client's message; `callback` sends a `button_pressed` contact event (answer it with `POST /v1/contact-events/{id}/answer`); `link` opens `url`.",
  });

export const KeyboardSchema = z
  .strictObject({
    inline: z
      .boolean()
      .default(false)
      .openapi({ description: "Under the message, instead of the client's keyboard" }),
    one_time: z
      .boolean()
      .default(false)
      .openapi({ description: "A standard keyboard hidden after one press (not inline)" }),
    rows: z.array(z.array(ButtonSchema)).openapi({
      description: "Rows of buttons. VK: standard 10 rows × 5, 40 in all; inline 6 rows × 5, 10 in all",
    }),
  })
  .openapi("Keyboard");

export const AttachmentSchema = z
  .strictObject({
    kind: z.enum(outboundAttachmentKinds).openapi({
      description:
        "`photo` (JPG, PNG, GIF), `document` (any file but MP3 and executables on VK), `voice` (any audio ffmpeg reads; sent as an OGG/Opus voice message, mono, 16 kHz)",
    }),
    url: z.url({ protocol: /^https?$/ }).openapi({ description: "Where the hub downloads the file" }),
    name: z.string().min(1).max(255).optional().openapi({ description: "File name shown to the client" }),
  })
  .openapi("OutboundAttachment");

type KeyboardBody = z.infer<typeof KeyboardSchema>;

export const toKeyboard = (body: KeyboardBody): Keyboard => ({
  inline: body.inline,
  oneTime: body.one_time,
  rows: body.rows as KeyboardButton[][],
});

export const fromKeyboard = (keyboard: Keyboard) => ({
  inline: keyboard.inline === true,
  one_time: keyboard.oneTime === true,
  rows: keyboard.rows as KeyboardBody["rows"],
});

export const toAttachments = (
  list: z.infer<typeof AttachmentSchema>[] | undefined,
): AttachmentInput[] | undefined =>
  list?.map((a) => ({ kind: a.kind, url: a.url, ...(a.name ? { name: a.name } : {}) }));
