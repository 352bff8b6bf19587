/**
 * The platform-neutral keyboard: rows of text, callback and link buttons. Each adapter checks it
 * against its platform's limits and renders it (VK: `vk/keyboard.ts`). Pure types.
 */

export type ButtonColor = "primary" | "secondary" | "positive" | "negative";

/** A button that sends its label as the client's message (and `payload` with it). */
export interface TextButton {
  type: "text";
  label: string;
  payload?: unknown;
  color?: ButtonColor;
}

/** A button that sends nothing to the chat but an event (`button_pressed`) with `payload`. */
export interface CallbackButton {
  type: "callback";
  label: string;
  payload?: unknown;
  color?: ButtonColor;
}

/** A button that opens a web page. */
export interface LinkButton {
  type: "link";
  label: string;
  url: string;
  payload?: unknown;
}

export type KeyboardButton = TextButton | CallbackButton | LinkButton;

/**
 * `inline` keyboards sit under the message; standard ones replace the client's keyboard (and
 * `oneTime` hides them after one press). No rows hides the keyboard.
 */
export interface Keyboard {
  inline?: boolean;
  oneTime?: boolean;
  rows: readonly (readonly KeyboardButton[])[];
}
