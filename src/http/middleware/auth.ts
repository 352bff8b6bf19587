import { createMiddleware } from "hono/factory";
import { AppError } from "../../errors/app-error.ts";
import type { Db } from "../../store/database.ts";
import { type ApiKey, findActiveKey, touchKey } from "../../store/repositories/api-keys.ts";
import type { AppEnv } from "../context.ts";

/** How often a key's `last_used_at` is written; writing it on every request would cost a round trip each. */
const touchEvery = 60_000;

/**
 * Resolves `Authorization: Bearer <key>` (or `Key <key>`, as Devino clients send it) to an active key. Keys are cached briefly per process so
 * that a hot API key costs no query; a revocation takes effect within `cacheMs` everywhere, and at
 * once in the process that revoked it through the API.
 */
export function authenticate(db: Db, cacheMs = 5_000) {
  const cache = new Map<string, { key: ApiKey; until: number }>();
  const touched = new Map<string, number>();
  return createMiddleware<AppEnv>(async (c, next) => {
    const header = c.req.header("authorization");
    if (!header) throw new AppError("auth_missing");
    const match = /^(?:Bearer|Key)\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) throw new AppError("auth_missing");
    const secret = match[1];
    const now = Date.now();
    let entry = cache.get(secret);
    if (!entry || entry.until < now) {
      const key = await findActiveKey(db, secret);
      if (!key) {
        cache.delete(secret);
        throw new AppError("auth_invalid");
      }
      entry = { key, until: now + cacheMs };
      cache.set(secret, entry);
    }
    if ((touched.get(entry.key.id) ?? 0) + touchEvery < now) {
      touched.set(entry.key.id, now);
      await touchKey(db, entry.key.id, new Date(now));
    }
    c.set("apiKey", entry.key);
    await next();
    const revoked = c.get("revokedKeyId");
    if (revoked) for (const [cached, { key }] of cache) if (key.id === revoked) cache.delete(cached);
  });
}

export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  if (!c.get("apiKey").admin) throw new AppError("admin_required");
  await next();
});
