import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { commentGuidFor, maxRandomId, randomIdFor } from "./random-id.ts";

describe("randomIdFor", () => {
  const id = "0190f5b2-7c1e-7a3b-9f00-3c4d5e6f7a8b";

  it("is the same for the same message and part, across calls and letter case", () => {
    assert.equal(randomIdFor(id, 0), randomIdFor(id, 0));
    assert.equal(randomIdFor(id.toUpperCase(), 3), randomIdFor(id, 3));
  });

  it("pins known values, so a change of the derivation cannot slip through", () => {
    // Changing these would let a resend after an upgrade escape VK's duplicate check.
    assert.equal(randomIdFor(id, 0), 1_137_650_194);
    assert.equal(randomIdFor(id, 1), 1_278_843_707);
  });

  it("differs between parts of one message and between messages", () => {
    const parts = new Set(Array.from({ length: 50 }, (_, part) => randomIdFor(id, part)));
    assert.equal(parts.size, 50);
    assert.notEqual(randomIdFor(id, 0), randomIdFor(randomUUID(), 0));
  });

  it("is a positive, non-zero int32", () => {
    for (let i = 0; i < 5000; i += 1) {
      const value = randomIdFor(randomUUID(), i % 7);
      assert.ok(Number.isInteger(value) && value >= 1 && value <= maxRandomId, String(value));
      assert.equal(value | 0, value, "survives int32 coercion");
    }
  });

  it("refuses a bad part or an empty id", () => {
    assert.throws(() => randomIdFor(id, -1), RangeError);
    assert.throws(() => randomIdFor(id, 1.5), RangeError);
    assert.throws(() => randomIdFor(" ", 0), RangeError);
  });
});

describe("commentGuidFor", () => {
  it("is stable per message and part", () => {
    assert.equal(commentGuidFor("ABC", 1), commentGuidFor("abc", 1));
    assert.notEqual(commentGuidFor("abc", 1), commentGuidFor("abc", 2));
  });
});
