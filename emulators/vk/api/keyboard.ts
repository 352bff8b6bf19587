/**
 * Keyboards and carousels (reference §3.3). A keyboard is JSON `{one_time, inline, buttons:[[…]]}`;
 * standard ones hold up to 10 rows of 5 and 40 keys, inline ones 6 rows of 5 and 10 keys;
 * `{"buttons":[]}` hides the keyboard. Anything malformed is 911 "Keyboard format is invalid".
 */
import type { VkEmulatorOptions } from "../config.ts";
import { VkApiError } from "../errors.ts";
import type { VkObject } from "../model.ts";

type KeyboardOptions = VkEmulatorOptions["messages"]["keyboard"];

const limits = {
  standard: { rows: 10, columns: 5, keys: 40 },
  inline: { rows: 6, columns: 5, keys: 10 },
};

const colors = new Set(["default", "positive", "negative", "primary", "secondary"]);

/** The fields each action type needs besides `type` and the optional `payload`. */
const required: Record<string, string[]> = {
  text: ["label"],
  callback: ["label"],
  open_link: ["link", "label"],
  location: [],
  vkpay: ["hash"],
  open_app: ["app_id", "label"],
};

const invalid = (detail: string) => new VkApiError(911, detail);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function parseJson(raw: string, fail: () => VkApiError): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw fail();
  }
}

export function parseKeyboard(raw: string, groupId: number, options: KeyboardOptions): VkObject {
  const keyboard = parseJson(raw, () => invalid("keyboard is not a JSON object"));
  if (!isObject(keyboard)) throw invalid("keyboard is not a JSON object");
  const { buttons } = keyboard;
  for (const flag of ["one_time", "inline"] as const) {
    if (keyboard[flag] !== undefined && typeof keyboard[flag] !== "boolean")
      throw invalid(`${flag} is not boolean`);
  }
  const inline = keyboard.inline === true;
  let oneTime = keyboard.one_time === true;
  if (inline && oneTime) {
    if (options.inlineOneTime === "error") throw invalid("one_time is not supported for inline keyboards");
    oneTime = false;
  }
  if (!Array.isArray(buttons)) throw invalid("buttons is not an array");
  const limit = inline ? limits.inline : limits.standard;
  if (buttons.length > limit.rows) throw invalid(`too many rows, at most ${limit.rows}`);
  let keys = 0;
  for (const row of buttons) {
    if (!Array.isArray(row) || row.length === 0) throw invalid("a row is not a non-empty array");
    if (row.length > limit.columns) throw invalid(`too many buttons in a row, at most ${limit.columns}`);
    for (const button of row) checkButton(button, options, false);
    keys += row.length;
  }
  if (keys > limit.keys) throw invalid(`too many buttons, at most ${limit.keys}`);
  return { one_time: oneTime, inline, buttons, author_id: -groupId };
}

function checkButton(button: unknown, options: KeyboardOptions, carousel: boolean) {
  if (!isObject(button) || !isObject(button.action)) throw invalid("a button has no action");
  const { action } = button;
  const type = action.type;
  if (typeof type !== "string" || !(type in required)) throw invalid(`unknown button type ${String(type)}`);
  if (carousel && !["text", "callback", "open_link"].includes(type)) {
    throw invalid(`${type} buttons are not allowed in a carousel`);
  }
  for (const field of required[type] ?? []) {
    const value = action[field];
    if (value === undefined || value === "" || value === null) throw invalid(`${type} button needs ${field}`);
  }
  if (action.label !== undefined) {
    if (typeof action.label !== "string") throw invalid("label is not a string");
    if ([...action.label].length > options.labelMaxLength) throw invalid("label is too long");
  }
  if (type === "open_link" && !/^https?:\/\//i.test(String(action.link))) throw invalid("link is invalid");
  if (action.payload !== undefined) {
    if (typeof action.payload !== "string") throw invalid("payload is not a string");
    if (action.payload.length > options.payloadMaxLength) throw invalid("payload is too long");
    parseJson(action.payload, () => invalid("payload is not JSON"));
  }
  if (button.color !== undefined && !colors.has(String(button.color))) throw invalid("color is invalid");
}

/** A carousel template (vk.com/dev/bot_docs_templates); its buttons follow the keyboard rules. */
export function parseTemplate(raw: string, options: KeyboardOptions): VkObject {
  const fail = () => new VkApiError(100, "template is invalid");
  const template = parseJson(raw, fail);
  if (!isObject(template) || template.type !== "carousel" || !Array.isArray(template.elements)) throw fail();
  const elements = template.elements;
  if (elements.length === 0 || elements.length > 10) throw fail();
  const shape = (element: Record<string, unknown>) =>
    Object.keys(element)
      .filter((key) => element[key] !== undefined)
      .sort()
      .join(",");
  let first: string | undefined;
  for (const element of elements) {
    if (!isObject(element)) throw fail();
    for (const field of ["title", "description"]) {
      const value = element[field];
      if (value !== undefined && (typeof value !== "string" || [...value].length > 80)) throw fail();
    }
    if (
      element.photo_id === undefined &&
      (element.title === undefined || element.description === undefined)
    ) {
      throw fail();
    }
    const buttons = element.buttons;
    if (!Array.isArray(buttons) || buttons.length === 0 || buttons.length > 3) throw fail();
    for (const button of buttons) checkButton(button, options, true);
    if (element.action !== undefined) {
      const action = element.action;
      if (!isObject(action) || !["open_link", "open_photo"].includes(String(action.type))) throw fail();
    }
    first ??= shape(element);
    if (shape(element) !== first) throw fail();
  }
  return template;
}
