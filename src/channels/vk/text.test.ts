import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AppError } from "../../errors/app-error.ts";
import { messageParts, splitText, vkTextLength } from "./text.ts";

const plain = { measure: (text: string) => text.length };
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Every part fits, no part starts or ends in the middle of a surrogate pair, nothing is lost. */
function assertSound(text: string, parts: string[], limit: number, measure = vkTextLength) {
  for (const part of parts) {
    assert.ok(measure(part) <= limit, `part of ${measure(part)} > ${limit}`);
    assert.ok(part.length > 0, "no empty part");
    assert.doesNotMatch(part, loneSurrogate, `broken surrogate in ${JSON.stringify(part)}`);
  }
  assert.equal(
    parts.join("").replace(/\s+/g, ""),
    text.replace(/\s+/g, ""),
    "no character lost or reordered",
  );
}

describe("splitText", () => {
  it("keeps a text at exactly the limit whole, and splits one over it", () => {
    assert.deepEqual(splitText("a".repeat(10), 10), ["a".repeat(10)]);
    assert.deepEqual(splitText("a".repeat(11), 10), ["a".repeat(10), "a"]);
    assert.deepEqual(splitText("aaaa bbbbb", 10), ["aaaa bbbbb"]);
  });

  it("gives no parts for an empty text", () => {
    assert.deepEqual(splitText("", 10), []);
  });

  it("breaks between words and drops the space at the break", () => {
    assert.deepEqual(splitText("hello world again", 11, plain), ["hello world", "again"]);
    assert.deepEqual(splitText("hello world again", 12, plain), ["hello world", "again"]);
    assert.deepEqual(splitText("one two three four", 9, plain), ["one two", "three", "four"]);
  });

  it("prefers a paragraph break, then a line break, then a sentence end", () => {
    const text = "First paragraph here.\n\nSecond one, longer than the rest of it";
    assert.deepEqual(splitText(text, 40, plain), [
      "First paragraph here.",
      "Second one, longer than the rest of it",
    ]);
    assert.deepEqual(splitText("line one is here\nline two is here too", 30, plain), [
      "line one is here",
      "line two is here too",
    ]);
    assert.deepEqual(splitText("One sentence here. Another sentence goes on", 30, plain), [
      "One sentence here.",
      "Another sentence goes on",
    ]);
  });

  it("prefers a paragraph break to filling the part up to a word break", () => {
    assert.deepEqual(splitText("First para here.\n\nSecond para is long text", 29, plain), [
      "First para here.",
      "Second para is long text",
    ]);
  });

  it("does not make a tiny part to reach an early line break", () => {
    const parts = splitText("ab\ncdefghij klmnopqrst uvwxyz", 20, plain);
    assert.equal(parts[0], "ab\ncdefghij");
  });

  it("cuts a word longer than the limit", () => {
    const parts = splitText(`x ${"y".repeat(25)} z`, 10, plain);
    assert.deepEqual(parts, ["x", "y".repeat(10), "y".repeat(10), "yyyyy z"]);
  });

  it("falls back to other whitespace (no-break space)", () => {
    assert.deepEqual(splitText("aaaa\u00a0bbbb\u00a0cccc", 9, plain), ["aaaa\u00a0bbbb", "cccc"]);
  });

  it("never splits a surrogate pair", () => {
    const text = "😀".repeat(10); // 20 UTF-16 units
    const parts = splitText(text, 5, plain);
    assertSound(text, parts, 5, plain.measure);
    assert.deepEqual(parts, ["😀😀", "😀😀", "😀😀", "😀😀", "😀😀"]);
  });

  it("keeps emoji sequences and combining marks whole when cutting hard", () => {
    const family = "👨‍👩‍👧‍👦"; // 11 UTF-16 units, one grapheme
    const text = `${family}${family}${family}`;
    const parts = splitText(text, 15, plain);
    assert.deepEqual(parts, [family, family, family]);
    const accented = "e\u0301".repeat(6); // é as e + combining acute
    assert.deepEqual(splitText(accented, 5, plain), ["e\u0301e\u0301", "e\u0301e\u0301", "e\u0301e\u0301"]);
  });

  it("splits Cyrillic between words", () => {
    const text = "Здравствуйте! Ваш заказ №123 собран и передан в службу доставки. Ожидайте звонка курьера.";
    const parts = splitText(text, 40);
    assert.deepEqual(parts, [
      "Здравствуйте! Ваш заказ №123 собран и",
      "передан в службу доставки.",
      "Ожидайте звонка курьера.",
    ]);
    assertSound(text, parts, 40);
  });

  it("counts & < > \" as VK's HTML entities by default", () => {
    assert.equal(vkTextLength('a<b>&"'), 1 + 4 + 1 + 4 + 5 + 6);
    assert.deepEqual(splitText("<<<", 8), ["<<", "<"]);
    assert.deepEqual(splitText("<<<", 8, plain), ["<<<"]);
  });

  it("is sound on random texts of words, emoji, Cyrillic and markup", () => {
    const pieces = [
      "слово",
      "word",
      "😀",
      "👍🏽",
      " ",
      " ",
      "\n",
      "\n\n",
      "&",
      "<b>",
      "x".repeat(30),
      "é",
      "。",
    ];
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let round = 0; round < 200; round += 1) {
      let text = "";
      const length = next() % 400;
      for (let i = 0; i < length; i += 1) text += pieces[next() % pieces.length];
      const limit = 12 + (next() % 100);
      assertSound(text, splitText(text, limit), limit);
    }
  });

  it("refuses a limit that is not a positive integer", () => {
    assert.throws(() => splitText("abc", 0), RangeError);
    assert.throws(() => splitText("abc", 2.5), RangeError);
  });
});

describe("messageParts", () => {
  it("splits by default at 4096", () => {
    const words = Array.from({ length: 1000 }, () => "слово").join(" "); // 5999 characters
    const parts = messageParts(words);
    assert.equal(parts.length, 2);
    assertSound(words, parts, 4096);
  });

  it("refuses a long text when splitting is not allowed, and passes one that fits", () => {
    assert.deepEqual(messageParts("short", { allowSplit: false }), ["short"]);
    assert.deepEqual(messageParts("", { allowSplit: false }), []);
    assert.throws(
      () => messageParts("x".repeat(11), { limit: 10, allowSplit: false }),
      (error: unknown) =>
        error instanceof AppError &&
        error.code === "vk_text_too_long" &&
        error.params.length === 11 &&
        error.render("en").message.includes("11 characters, more than the 10"),
    );
  });
});
