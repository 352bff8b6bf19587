/**
 * The API transport (reference §3.1): `GET|POST /method/<name>`, parameters in the query,
 * urlencoded or multipart, the token in `access_token` or `Authorization: Bearer`, `v` required.
 * Every answer is HTTP 200: `{"response":…}` or `{"error":{…}}`. Checks run in VK's order:
 * version, method, token, rate limit; then the method.
 */
import { type Context, Hono } from "hono";
import { versionAtLeast } from "../config.ts";
import { errorBody, VkApiError } from "../errors.ts";
import { enact } from "../faults.ts";
import type { Token } from "../model.ts";
import type { RequestRecord, Runtime } from "../runtime.ts";
import { type MethodTable, Params } from "./context.ts";

/** Methods a community token may not call: 27 "method is unavailable with group auth" (observed). */
const userOnlyMethods = new Set([
  "wall.post",
  "wall.get",
  "wall.getById",
  "wall.edit",
  "photos.getWallUploadServer",
  "photos.saveWallPhoto",
  "board.getComments",
  "market.get",
  "friends.get",
  "newsfeed.get",
  "account.getProfileInfo",
]);

const versionHelp = 'Version param should be passed as "v". "version" param is invalid and not supported.';

/** A sliding one-second window per token (or per community): `perSecond` calls, then error 6. */
class SlidingWindow {
  readonly #calls = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Counts the call and says whether it is within the limit; refused calls are not counted. */
  admit(key: string, now: number): boolean {
    const calls = (this.#calls.get(key) ?? []).filter((at) => at > now - this.windowMs);
    const admitted = calls.length < this.limit;
    if (admitted) calls.push(now);
    this.#calls.set(key, calls);
    return admitted;
  }

  clear() {
    this.#calls.clear();
  }
}

export function apiRoutes(runtime: Runtime, methods: MethodTable) {
  const { rateLimit } = runtime.options;
  const window = new SlidingWindow(rateLimit.perSecond, rateLimit.windowMs);
  const app = new Hono();

  app.on(["GET", "POST"], "/method/:name", async (c) => {
    const method = c.req.param("name");
    const params = await readParams(c);
    const { access_token: tokenParam, ...echo } = params;
    const tokenValue = tokenParam || bearer(c.req.header("authorization"));
    const token = tokenValue ? runtime.state.tokens.get(tokenValue) : undefined;
    const record = (result: RequestRecord["result"]) => {
      runtime.requests.push({
        id: runtime.requests.length + 1,
        method,
        params: echo,
        groupId: token?.groupId ?? null,
        result,
        at: Date.now(),
      });
      if (runtime.requests.length > runtime.options.logLimit) runtime.requests.shift();
    };
    try {
      const fault = runtime.faults.take(method, {
        ...(tokenValue ? { token: tokenValue } : {}),
        ...(token ? { groupId: token.groupId } : {}),
      });
      if (fault) {
        const early = await enact(c, fault, runtime.baseUrl());
        if (early) {
          record(fault.drop ? "dropped" : `http ${early.status}`);
          return early;
        }
      }
      const response = await call(method, params, tokenValue, token);
      record("ok");
      return json(c, { response });
    } catch (error) {
      const vkError =
        error instanceof VkApiError
          ? error
          : new VkApiError(10, error instanceof Error ? error.message : undefined);
      if (!(error instanceof VkApiError)) console.error("vk emulator: method failed", method, error);
      record(vkError.code);
      return json(c, errorBody(vkError, method, echo));
    }
  });

  async function call(
    method: string,
    raw: Record<string, string>,
    tokenValue: string,
    token: Token | undefined,
  ) {
    const v = raw.v ?? "";
    if (v === "") throw new VkApiError(8, `v is required. ${versionHelp}`);
    if (!/^\d+\.\d+$/.test(v) || !versionAtLeast(v, runtime.options.minApiVersion)) {
      throw new VkApiError(
        8,
        `versions below ${runtime.options.minApiVersion} are deprecated. ${versionHelp} For more information go to https://vk.com/dev/constant_version_updates`,
      );
    }
    const handler = methods[method];
    if (!handler && !userOnlyMethods.has(method)) throw new VkApiError(3);
    if (!tokenValue) throw new VkApiError(5, "no access_token passed.");
    const community = token ? runtime.state.communities.get(token.groupId) : undefined;
    if (!token || !community) throw new VkApiError(5, "invalid access_token (4).");
    if (token.revoked) {
      const code = runtime.options.accessErrors.revokedToken;
      throw new VkApiError(code, code === 5 ? "invalid access_token (4)." : "access_token has been revoked.");
    }
    if (!handler) throw new VkApiError(27, "method is unavailable with group auth.");
    if (rateLimit.enabled) {
      const key = rateLimit.per === "community" ? `group:${token.groupId}` : token.value;
      if (!window.admit(key, Date.now())) throw new VkApiError(6);
    }
    return handler({ method, params: new Params(raw), token, community, v, runtime });
  }

  return { app, resetRateLimits: () => window.clear() };
}

/** Query, then the body (urlencoded or multipart) over it; files are ignored here. */
async function readParams(c: Context): Promise<Record<string, string>> {
  const params: Record<string, string> = {};
  for (const [key, value] of new URL(c.req.url).searchParams) params[key] = value;
  const type = c.req.header("content-type") ?? "";
  if (c.req.method === "POST" && /multipart\/form-data|application\/x-www-form-urlencoded/i.test(type)) {
    try {
      const body = await c.req.parseBody({ all: true });
      for (const [key, value] of Object.entries(body)) {
        const last = Array.isArray(value) ? value[value.length - 1] : value;
        if (typeof last === "string") params[key] = last;
      }
    } catch {
      // An unreadable body leaves the query parameters; the method reports what is missing.
    }
  }
  return params;
}

const bearer = (header: string | undefined) => /^Bearer\s+(.+)$/i.exec(header ?? "")?.[1]?.trim() ?? "";

const json = (c: Context, body: unknown) =>
  c.body(JSON.stringify(body), 200, { "Content-Type": "application/json; charset=utf-8" });
