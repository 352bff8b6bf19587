import { createMiddleware } from "hono/factory";
import { KeyedLimiter } from "../../core/token-bucket.ts";
import { AppError } from "../../errors/app-error.ts";
import type { AppEnv } from "../context.ts";

/**
 * Per-key request limit of this process; answers 429 with `Retry-After` in whole seconds. The
 * headers speak of the bucket: `RateLimit-Limit` is the burst, what may be asked at once, so that
 * `RateLimit-Remaining` (what is left of it now) never exceeds it.
 */
export function rateLimit(rate: number, burst: number) {
  const limiter = new KeyedLimiter(rate, burst);
  return createMiddleware<AppEnv>(async (c, next) => {
    const { waitMs, remaining } = limiter.take(c.get("apiKey").id, Date.now());
    c.header("RateLimit-Limit", String(burst));
    c.header("RateLimit-Remaining", String(remaining));
    if (waitMs > 0)
      throw new AppError("rate_limited", { limit: rate }, { retryAfter: Math.ceil(waitMs / 1000) });
    await next();
  });
}
