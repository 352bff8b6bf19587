/**
 * Long texts as several VK messages. Pure.
 *
 * VK documents 9000 characters for `messages.send`'s `message`, SDKs split at 4096, and what VK
 * enforces is UNCERTAIN (reference §3.2), so the limit is the caller's (the channel's setting,
 * default `defaultVkTextLimit`). VK keeps texts HTML-escaped (`<` arrives as `&lt;`), and whether
 * its limit counts the escaped form is also uncertain; `vkTextLength` counts that way, which only
 * ever splits earlier, and is the default measure.
 */

import { AppError } from "../../errors/app-error.ts";

/** The default text limit for one VK message (what SDKs use; VK's docs say 9000). */
export const defaultVkTextLimit = 4096;

const escapedLength: Readonly<Record<string, number>> = { "&": 5, "<": 4, ">": 4, '"': 6 };

/** The length of `text` as VK may count it: UTF-16 units, with `& < > "` as their HTML entities. */
export function vkTextLength(text: string): number {
  let length = text.length;
  for (const char of text) {
    const extra = escapedLength[char];
    if (extra !== undefined) length += extra - 1;
  }
  return length;
}

export interface SplitOptions {
  /**
   * How to measure a text: `vkTextLength` by default, `(s) => s.length` for plain UTF-16 units. It
   * must grow with the text and count at least one per code point.
   */
  measure?: (text: string) => number;
}

/**
 * Splits `text` into ordered parts of at most `limit` (as measured) each. It breaks, in order of
 * preference, at a paragraph break, at a line break (either only in the second half of a part, so
 * parts do not come out tiny), after a sentence, between words, at any other whitespace, and only
 * then inside a word, and never inside a character: not between the halves of a surrogate pair,
 * nor inside an emoji sequence or a letter with combining marks. The whitespace at a break is
 * dropped; everything else is kept. An empty text gives no parts.
 */
export function splitText(text: string, limit: number, options: SplitOptions = {}): string[] {
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new RangeError(`limit must be a positive integer, got ${limit}`);
  const measure = options.measure ?? vkTextLength;
  const parts: string[] = [];
  let rest = text;
  while (rest !== "" && measure(rest) > limit) {
    const end = fittingPrefix(rest, limit, measure);
    const [partEnd, nextStart] = breakPoint(rest, end);
    parts.push(rest.slice(0, partEnd));
    rest = rest.slice(nextStart);
  }
  if (rest !== "") parts.push(rest);
  return parts;
}

/**
 * The texts of the VK messages one message of ours becomes: `splitText` when splitting is
 * allowed (the default), else the text itself if it fits, or `vk_text_too_long`.
 */
export function messageParts(
  text: string,
  options: SplitOptions & { limit?: number; allowSplit?: boolean } = {},
): string[] {
  const limit = options.limit ?? defaultVkTextLimit;
  if (options.allowSplit !== false) return splitText(text, limit, options);
  const length = (options.measure ?? vkTextLength)(text);
  if (length > limit) throw new AppError("vk_text_too_long", { length, limit });
  return text === "" ? [] : [text];
}

/** The largest end (in UTF-16 units) such that `text.slice(0, end)` measures at most `limit`. */
function fittingPrefix(text: string, limit: number, measure: (text: string) => number): number {
  // A measure counts at least one per code point, so no fitting prefix is longer than 2 × limit.
  let low = 0;
  let high = Math.min(text.length, 2 * limit);
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (measure(text.slice(0, mid)) <= limit) low = mid;
    else high = mid - 1;
  }
  return low;
}

const separators: readonly { pattern: RegExp; minShare: number }[] = [
  { pattern: /[^\S\n]*\n[^\S\n]*\n\s*/g, minShare: 0.5 }, // paragraph
  { pattern: /[^\S\n]*\n\s*/g, minShare: 0.5 }, // line
  { pattern: /(?<=[.!?…])[ \t]+/g, minShare: 0.5 }, // sentence
  { pattern: /[ \t]+/g, minShare: 0 }, // words
  { pattern: /\s+/g, minShare: 0 }, // any whitespace (NBSP, thin spaces, …)
];

/** Where the part ends and where the next one starts, given the part may end at `end` at most. */
function breakPoint(text: string, end: number): [partEnd: number, nextStart: number] {
  // Look a little past `end`: whitespace starting right at `end` is a break that keeps the part full.
  const view = text.slice(0, end + 64);
  for (const { pattern, minShare } of separators) {
    let last: number | undefined;
    for (const match of view.matchAll(pattern)) {
      if (match.index > end) break;
      last = match.index;
    }
    if (last === undefined || last === 0 || last < end * minShare) continue;
    // Skip the whole whitespace run, even where it goes on past the view.
    const run = /^\s*/.exec(text.slice(last))?.[0].length ?? 0;
    return [last, last + run];
  }
  const hard = graphemeBoundary(text, end);
  return [hard, hard];
}

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** The last grapheme boundary at or before `end`, but at least one grapheme in. */
function graphemeBoundary(text: string, end: number): number {
  // Segment a little past `end` so a cluster straddling it is seen whole.
  let boundary = 0;
  for (const { index, segment } of graphemes.segment(text.slice(0, end + 64))) {
    const next = index + segment.length;
    if (next > end) break;
    boundary = next;
  }
  if (boundary > 0) return boundary;
  // One cluster longer than the limit (absurdly long emoji sequences): cut between code points.
  const cut = isHighSurrogate(text.charCodeAt(end - 1)) ? end - 1 : end;
  return Math.max(cut, 1);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
