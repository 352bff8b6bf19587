/**
 * Keyboards: the platform-neutral model (`../keyboard.ts`: rows of text, callback and link buttons)
 * checked against VK's limits and turned into the JSON `messages.send` takes as `keyboard`. Pure.
 *
 * VK's limits (dev.vk.com keyboard page, reference §3.3): a standard keyboard has at most 10 rows
 * of 5 buttons and 40 buttons in all, an inline one 6 rows and 10 buttons; `one_time` is not
 * supported inline; a label has at most 40 characters; a payload is JSON of at most 255 characters.
 * A failure names the offending path (`keyboard.rows.2.1.payload`), as `validation_failed` does.
 */
import { AppError, type ErrorParams } from "../../errors/app-error.ts";
import type { ErrorCode } from "../../errors/catalogue.ts";
import type {
  ButtonColor,
  CallbackButton,
  Keyboard,
  KeyboardButton,
  LinkButton,
  TextButton,
} from "../keyboard.ts";

export type { ButtonColor, CallbackButton, Keyboard, KeyboardButton, LinkButton, TextButton };

export const vkKeyboardLimits = {
  standard: { rows: 10, buttonsPerRow: 5, buttons: 40 },
  inline: { rows: 6, buttonsPerRow: 5, buttons: 10 },
  labelLength: 40,
  payloadLength: 255,
} as const;

/** VK's keyboard object, as sent (JSON-encoded) in `keyboard`. */
export interface VkKeyboard {
  one_time?: boolean;
  inline?: boolean;
  buttons: VkButton[][];
}

export type VkButton =
  | { action: { type: "text" | "callback"; label: string; payload?: string }; color: ButtonColor }
  | { action: { type: "open_link"; link: string; label: string; payload?: string } };

/** Checks `keyboard` against VK's limits and builds VK's keyboard object; throws a catalogued error. */
export function buildVkKeyboard(keyboard: Keyboard, path = "keyboard"): VkKeyboard {
  const inline = keyboard.inline === true;
  const limits = inline ? vkKeyboardLimits.inline : vkKeyboardLimits.standard;
  if (inline && keyboard.oneTime === true) fail("vk_keyboard_one_time_inline", `${path}`, {});

  const rows = keyboard.rows;
  if (rows.length > limits.rows)
    fail("vk_keyboard_too_many_rows", `${path}.rows`, { count: rows.length, limit: limits.rows });
  const total = rows.reduce((sum, row) => sum + row.length, 0);
  rows.forEach((row, r) => {
    if (row.length === 0 || row.length > limits.buttonsPerRow)
      fail("vk_keyboard_row_size", `${path}.rows.${r}`, { count: row.length, limit: limits.buttonsPerRow });
  });
  if (total > limits.buttons)
    fail("vk_keyboard_too_many_buttons", `${path}.rows`, { count: total, limit: limits.buttons });

  const buttons = rows.map((row, r) => row.map((button, b) => buildButton(button, `${path}.rows.${r}.${b}`)));
  return inline ? { inline: true, buttons } : { one_time: keyboard.oneTime === true, buttons };
}

/** `buildVkKeyboard` as the JSON string `messages.send` and `messages.edit` take. */
export function vkKeyboardJson(keyboard: Keyboard, path = "keyboard"): string {
  return JSON.stringify(buildVkKeyboard(keyboard, path));
}

/** The keyboard that removes the client's current (standard) keyboard. */
export const hideVkKeyboard: VkKeyboard = { one_time: true, buttons: [] };

function buildButton(button: KeyboardButton, path: string): VkButton {
  checkLabel(button.label, `${path}.label`);
  const payload = encodePayload(button.payload, `${path}.payload`);
  const withPayload = payload === undefined ? {} : { payload };
  switch (button.type) {
    case "text":
    case "callback":
      return {
        action: { type: button.type, label: button.label, ...withPayload },
        color: button.color ?? "secondary",
      };
    case "link":
      checkLink(button.url, `${path}.url`);
      return { action: { type: "open_link", link: button.url, label: button.label, ...withPayload } };
    default: {
      const unknown = (button as { type?: unknown }).type;
      throw new AppError(
        "validation_failed",
        {},
        {
          details: [
            {
              path: `${path}.type`,
              code: "invalid_value",
              detail: `unknown button type ${JSON.stringify(unknown)}`,
            },
          ],
        },
      );
    }
  }
}

function checkLabel(label: unknown, path: string): void {
  const limit = vkKeyboardLimits.labelLength;
  // VK counts characters; count code points so an emoji is one.
  const length = typeof label === "string" ? [...label].length : 0;
  if (typeof label !== "string" || label.trim() === "" || length > limit)
    fail("vk_keyboard_label_invalid", path, { limit });
}

function checkLink(url: unknown, path: string): void {
  let ok = false;
  if (typeof url === "string") {
    try {
      const parsed = new URL(url);
      ok = (parsed.protocol === "https:" || parsed.protocol === "http:") && parsed.hostname !== "";
    } catch {
      ok = false;
    }
  }
  if (!ok) fail("vk_keyboard_link_invalid", path, {});
}

function encodePayload(payload: unknown, path: string): string | undefined {
  if (payload === undefined) return undefined;
  const limit = vkKeyboardLimits.payloadLength;
  let json: string | undefined;
  try {
    json = JSON.stringify(payload);
  } catch {
    json = undefined; // cycles, BigInt
  }
  if (json === undefined || json.length > limit) fail("vk_keyboard_payload_invalid", path, { limit });
  return json;
}

function fail(code: ErrorCode, path: string, params: ErrorParams): never {
  const all = { path, ...params };
  throw new AppError(code, all, { details: [{ path, code, detail: new AppError(code, all).message }] });
}
