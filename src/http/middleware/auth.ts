import { createMiddleware } from "hono/factory";
import { AppError, type Translated } from "../../errors/app-error.ts";
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
    const secret = keyOf(c.req.header("authorization"));
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

/**
 * The key of `Authorization: Bearer <key>` (or `Key <key>`); anything else is `auth_missing`
 * saying what is wrong with the header. The reason names a scheme only when it looks like one
 * (`Basic`, `Token`): a lone word may be the key itself, and is never echoed.
 */
function keyOf(header: string | undefined): string {
  const [scheme = "", ...rest] = header?.trim().split(/\s+/) ?? [];
  if (/^(?:Bearer|Key)$/i.test(scheme) && rest.length === 1) return rest[0] as string;
  throw new AppError("auth_missing", { reason: whyNoKey(scheme, rest.length) });
}

function whyNoKey(scheme: string, words: number): Translated {
  if (!scheme) return { en: "there is no `Authorization` header", ru: "в нём нет заголовка `Authorization`" };
  if (/^(?:Bearer|Key)$/i.test(scheme))
    return words === 0
      ? {
          en: `no key follows \`${scheme}\` in the \`Authorization\` header`,
          ru: `в заголовке \`Authorization\` после \`${scheme}\` нет ключа`,
        }
      : {
          en: `the key after \`${scheme}\` has spaces in it; a key is one word`,
          ru: `в ключе после \`${scheme}\` есть пробелы, а ключ — одно слово`,
        };
  if (words === 0)
    return {
      en: "the `Authorization` header has no scheme; write `Bearer` and a space before the key",
      ru: "в заголовке `Authorization` нет схемы; напишите перед ключом `Bearer` и пробел",
    };
  if (/^[A-Za-z][A-Za-z0-9-]{0,19}$/.test(scheme))
    return {
      en: `the \`Authorization\` header uses the \`${scheme}\` scheme, and API keys go after \`Bearer\``,
      ru: `в заголовке \`Authorization\` схема \`${scheme}\`, а API-ключ передаётся после \`Bearer\``,
    };
  return {
    en: "the `Authorization` header does not start with `Bearer`, after which API keys go",
    ru: "заголовок `Authorization` не начинается с `Bearer`, после которого передаётся API-ключ",
  };
}

export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  if (!c.get("apiKey").admin) throw new AppError("admin_required");
  await next();
});
