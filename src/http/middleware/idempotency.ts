import { createHash } from "node:crypto";
import { createMiddleware } from "hono/factory";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AppError } from "../../errors/app-error.ts";
import type { Db } from "../../store/database.ts";
import {
  claimIdempotencyKey,
  releaseIdempotencyKey,
  saveIdempotentResponse,
} from "../../store/repositories/idempotency.ts";
import type { AppEnv } from "../context.ts";

const validKey = /^[\x21-\x7e]{1,255}$/;
/**
 * Headers that are part of an answer and are replayed with it: a 202's `Retry-After` says when
 * the work should be done. The request's own (`X-Request-Id`, rate limits) are this request's.
 */
const answerHeaders = ["retry-after"];

/**
 * `Idempotency-Key` on any POST: the first successful answer is stored and replayed for repeats
 * with the same method, path and body; the same key with another request is a conflict. Error
 * answers are not stored, so a corrected request may reuse its key (as Stripe does).
 */
export function idempotency(db: Db) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const key = c.req.header("idempotency-key");
    if (c.req.method !== "POST" || key === undefined) return next();
    if (!validKey.test(key)) throw new AppError("invalid_idempotency_key");

    const workspaceId = c.get("apiKey").workspaceId;
    const body = await c.req.text();
    const requestHash = createHash("sha256").update(`${c.req.method} ${c.req.path}\n${body}`).digest("hex");
    const claim = await claimIdempotencyKey(db, workspaceId, key, requestHash);
    if (claim.kind === "mismatch") throw new AppError("idempotency_key_reused", { key });
    if (claim.kind === "in_progress")
      throw new AppError("idempotency_request_in_progress", { key }, { retryAfter: 1 });
    if (claim.kind === "replay") {
      // Through the context, so the replay carries this request's X-Request-Id and rate-limit headers.
      return c.body(claim.body, claim.status as ContentfulStatusCode, {
        ...claim.headers,
        "content-type": "application/json",
        "idempotent-replayed": "true",
      });
    }

    await next();
    if (c.res.status >= 200 && c.res.status < 300) {
      const headers = Object.fromEntries(
        answerHeaders.flatMap((name) => {
          const value = c.res.headers.get(name);
          return value === null ? [] : [[name, value]];
        }),
      );
      await saveIdempotentResponse(db, workspaceId, key, c.res.status, await c.res.clone().text(), headers);
    } else {
      await releaseIdempotencyKey(db, workspaceId, key);
    }
  });
}
