import type { HonoRequest } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { AppError } from "../../errors/app-error.ts";
import type { AppEnv } from "../context.ts";
import { refuseNulInBody } from "./nul-characters.ts";

const withBody = new Set(["POST", "PUT", "PATCH"]);
const jsonType = /^application\/([\w.-]+\+)?json$/i;

/**
 * Refuses bodies over `limit` bytes, whether announced by Content-Length or streamed.
 *
 * A body with a Content-Length is judged by the header alone (Node's parser never reads past
 * it), and GET and HEAD bodies are never read. Only other bodies go through Hono's `bodyLimit`,
 * which counts them as they stream: it asks for the request's body stream, and on Node making
 * that stream builds a whole WHATWG Request, which cost a webhook more CPU than all its own work.
 */
export function limitBody(limit: number) {
  const tooLarge = () => {
    throw new AppError("body_too_large", { limit });
  };
  const counted = bodyLimit({ maxSize: limit, onError: tooLarge });
  return createMiddleware(async (c, next) => {
    const length = c.req.header("content-length");
    if (length !== undefined && c.req.header("transfer-encoding") === undefined) {
      if (Number(length) > limit) tooLarge();
      return next();
    }
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    return counted(c, next);
  });
}

/**
 * Parses a JSON body once, up front, so that malformed JSON, a wrong media type and a character
 * no text may hold get their catalogued answers before any route runs; the validators read the
 * cached result.
 */
export const parseJsonBody = createMiddleware<AppEnv>(async (c, next) => {
  if (!withBody.has(c.req.method)) return next();
  const contentType = c.req.header("content-type") ?? "";
  const saysJson = jsonType.test(contentType.split(";")[0]?.trim() ?? "");
  if (await hasBody(c.req)) {
    if (!saysJson) throw new AppError("unsupported_media_type", { contentType: contentType || "(none)" });
    let body: unknown;
    try {
      body = await c.req.json();
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw new AppError("malformed_json", {}, { cause: error });
    }
    refuseNulInBody(body);
  } else if (saysJson) {
    // A bare POST reads as `{}`, also from clients that say `application/json` of every request:
    // a route's validator parses what the type announces, and would find no JSON in nothing.
    // (Hono caches the body's promise there, though its type names the value.)
    (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve("{}");
  }
  await next();
});

/**
 * Without Content-Length a body can only be told by reading it: Node's server hands every POST a
 * body stream, empty when the request announced none, so `curl -X POST` of an action such as
 * `/rotate-secret` must not need a `{}`. Hono caches what is read for the validators.
 */
async function hasBody(req: HonoRequest): Promise<boolean> {
  const length = req.header("content-length");
  if (length !== undefined) return Number(length) > 0;
  if (req.raw.body === null) return false;
  return (await req.text()).length > 0;
}
