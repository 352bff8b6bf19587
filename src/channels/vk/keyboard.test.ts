import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AppError } from "../../errors/app-error.ts";
import { buildVkKeyboard, type Keyboard, type KeyboardButton, vkKeyboardJson } from "./keyboard.ts";

const text = (label: string, payload?: unknown): KeyboardButton => ({ type: "text", label, payload });
const grid = (rows: number, perRow: number): KeyboardButton[][] =>
  Array.from({ length: rows }, (_, r) => Array.from({ length: perRow }, (_, b) => text(`${r}.${b}`)));

function fails(keyboard: Keyboard, code: string, path: string) {
  assert.throws(
    () => buildVkKeyboard(keyboard),
    (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, code);
      assert.equal(error.params.path, path);
      assert.equal(error.details[0]?.path, path);
      assert.equal(error.entry.class, "invalid_input");
      assert.match(error.render("ru").message, new RegExp(path.replace(/\./g, "\\.")));
      return true;
    },
  );
}

describe("buildVkKeyboard", () => {
  it("builds VK's JSON for text, callback and link buttons", () => {
    const json = vkKeyboardJson({
      oneTime: true,
      rows: [
        [
          text("Yes", { answer: "yes" }),
          { type: "callback", label: "Later", payload: { cmd: "later" }, color: "primary" },
        ],
        [{ type: "link", label: "Site", url: "https://example.com/a?b=1" }],
      ],
    });
    assert.deepEqual(JSON.parse(json), {
      one_time: true,
      buttons: [
        [
          { action: { type: "text", label: "Yes", payload: '{"answer":"yes"}' }, color: "secondary" },
          { action: { type: "callback", label: "Later", payload: '{"cmd":"later"}' }, color: "primary" },
        ],
        [{ action: { type: "open_link", link: "https://example.com/a?b=1", label: "Site" } }],
      ],
    });
  });

  it("marks inline keyboards and leaves one_time out of them", () => {
    assert.deepEqual(buildVkKeyboard({ inline: true, rows: [[text("A")]] }), {
      inline: true,
      buttons: [[{ action: { type: "text", label: "A" }, color: "secondary" }]],
    });
    fails({ inline: true, oneTime: true, rows: [[text("A")]] }, "vk_keyboard_one_time_inline", "keyboard");
  });

  it("takes the largest keyboards VK allows", () => {
    assert.equal(buildVkKeyboard({ rows: [...grid(8, 5)] }).buttons.flat().length, 40);
    assert.equal(buildVkKeyboard({ rows: grid(10, 4) }).buttons.length, 10);
    assert.equal(buildVkKeyboard({ inline: true, rows: grid(2, 5) }).buttons.flat().length, 10);
    assert.equal(buildVkKeyboard({ inline: true, rows: grid(6, 1) }).buttons.length, 6);
  });

  it("an empty keyboard hides the current one", () => {
    assert.deepEqual(buildVkKeyboard({ rows: [] }), { one_time: false, buttons: [] });
  });

  it("refuses too many rows, buttons per row and buttons, naming the path", () => {
    fails({ rows: grid(11, 1) }, "vk_keyboard_too_many_rows", "keyboard.rows");
    fails({ inline: true, rows: grid(7, 1) }, "vk_keyboard_too_many_rows", "keyboard.rows");
    fails({ rows: [[text("a")], grid(1, 6)[0] ?? []] }, "vk_keyboard_row_size", "keyboard.rows.1");
    fails({ rows: [[text("a")], []] }, "vk_keyboard_row_size", "keyboard.rows.1");
    fails({ rows: grid(9, 5) }, "vk_keyboard_too_many_buttons", "keyboard.rows");
    fails({ inline: true, rows: grid(3, 4) }, "vk_keyboard_too_many_buttons", "keyboard.rows");
  });

  it("checks labels, links and payloads", () => {
    fails({ rows: [[text("ok"), text("")]] }, "vk_keyboard_label_invalid", "keyboard.rows.0.1.label");
    fails({ rows: [[text("x".repeat(41))]] }, "vk_keyboard_label_invalid", "keyboard.rows.0.0.label");
    assert.ok(buildVkKeyboard({ rows: [[text("😀".repeat(40))]] }), "an emoji counts as one character");
    fails(
      { rows: [[{ type: "link", label: "x", url: "javascript:alert(1)" }]] },
      "vk_keyboard_link_invalid",
      "keyboard.rows.0.0.url",
    );
    fails(
      { rows: [[{ type: "link", label: "x", url: "not a url" }]] },
      "vk_keyboard_link_invalid",
      "keyboard.rows.0.0.url",
    );
    fails(
      { rows: [[text("a"), text("b", "p".repeat(254))]] },
      "vk_keyboard_payload_invalid",
      "keyboard.rows.0.1.payload",
    );
    assert.ok(buildVkKeyboard({ rows: [[text("b", "p".repeat(253))]] }), "255 characters of JSON fit");
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    fails({ rows: [[text("b", cyclic)]] }, "vk_keyboard_payload_invalid", "keyboard.rows.0.0.payload");
  });

  it("names an unknown button type as a validation failure", () => {
    const bad = { rows: [[{ type: "location", label: "here" }]] } as unknown as Keyboard;
    assert.throws(
      () => buildVkKeyboard(bad),
      (error: unknown) =>
        error instanceof AppError &&
        error.code === "validation_failed" &&
        error.details[0]?.path === "keyboard.rows.0.0.type",
    );
  });

  it("uses the caller's path prefix", () => {
    fails({ rows: grid(11, 1) }, "vk_keyboard_too_many_rows", "keyboard.rows");
    assert.throws(
      () => buildVkKeyboard({ rows: grid(11, 1) }, "messages.3.keyboard"),
      (error: unknown) => error instanceof AppError && error.params.path === "messages.3.keyboard.rows",
    );
  });
});
