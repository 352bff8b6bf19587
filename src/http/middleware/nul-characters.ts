import { createMiddleware } from "hono/factory";
import { AppError } from "../../errors/app-error.ts";
import type { AppEnv } from "../context.ts";

// No PostgreSQL text can hold U+0000: it would fail the statement that stores or compares it, as
// a 500 that no repeat can cure. So the API refuses it where it comes in, naming where. The walk
// of a body that looks for it also refuses a body nested too deep for any later walk.

/** Refuses U+0000 in a query parameter's name or value. */
export const refuseNulInQuery = createMiddleware<AppEnv>(async (c, next) => {
  for (const [name, values] of Object.entries(c.req.queries())) {
    if (name.includes("\0") || values.some((value) => value.includes("\0")))
      throw nulAt(`query.${name.replaceAll("\0", "")}`);
  }
  await next();
});

/**
 * How deep a body's arrays and objects may nest. No field needs more than a few levels; a body
 * nested thousands deep (free-form `callback_data`, say) would exhaust the stack of every step that
 * walks it, this one first, and fail as a 500.
 */
export const maxBodyDepth = 64;

/** Refuses U+0000 in any key or string of a parsed JSON body, and a body nested too deep. */
export function refuseNulInBody(body: unknown): void {
  const path = nulPath(body, []);
  if (path) throw nulAt(path.join(".") || "body");
}

/** The path to the first key or string holding U+0000, or undefined. */
function nulPath(value: unknown, path: string[]): string[] | undefined {
  if (typeof value === "string") return value.includes("\0") ? path : undefined;
  if (typeof value !== "object" || value === null) return undefined;
  if (path.length >= maxBodyDepth) throw tooDeep(path.join("."));
  for (const [key, item] of Object.entries(value)) {
    if (key.includes("\0")) return [...path, key.replaceAll("\0", "")];
    const found = nulPath(item, [...path, key]);
    if (found) return found;
  }
  return undefined;
}

function nulAt(path: string): AppError {
  return new AppError(
    "validation_failed",
    {},
    {
      details: [
        { path, code: "nul_character", detail: "holds the character U+0000, which no text may contain" },
      ],
    },
  );
}

function tooDeep(path: string): AppError {
  return new AppError(
    "validation_failed",
    {},
    {
      details: [
        {
          path,
          code: "too_deep",
          detail: `nests arrays and objects more than ${maxBodyDepth} levels deep, which no field needs`,
        },
      ],
    },
  );
}
