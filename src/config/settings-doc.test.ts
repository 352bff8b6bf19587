import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { settings } from "./settings.ts";
import { withSettingsTable } from "./settings-doc.ts";

describe("README settings table", () => {
  it("lists every setting exactly as generated (run `npm run docs`)", () => {
    const readme = readFileSync("README.md", "utf8");
    assert.equal(readme, withSettingsTable(readme));
    for (const spec of Object.values(settings)) assert.ok(readme.includes(spec.env), spec.env);
  });
});
