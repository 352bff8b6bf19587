import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import { AppError, type ErrorDetail } from "../errors/app-error.ts";
import type { Language } from "../errors/catalogue.ts";
import type { AppEnv } from "./context.ts";

/** The one shape of every error answer. */
export function errorResponse(c: Context<AppEnv>, error: AppError): Response {
  const body = { error: { ...error.render(c.get("language") ?? "en"), request_id: c.get("requestId") } };
  if (error.retryAfter !== undefined) c.header("Retry-After", String(error.retryAfter));
  return c.json(body, error.status as ContentfulStatusCode);
}

/** Anything thrown below becomes a catalogued answer; unexpected errors are logged, never shown. */
export function handleError(error: Error, c: Context<AppEnv>): Response {
  if (error instanceof AppError) return errorResponse(c, error);
  if (error instanceof HTTPException) return errorResponse(c, fromHttpException(error, c));
  c.get("log")?.error({ err: error }, "unhandled error");
  return errorResponse(c, new AppError("internal_error"));
}

/** Hono's own validators and middleware speak HTTPException; translate the ones they raise. */
function fromHttpException(error: HTTPException, c: Context<AppEnv>): AppError {
  switch (error.status) {
    case 400:
      return new AppError("malformed_json", {}, { cause: error });
    case 413:
      return new AppError("body_too_large", { limit: "the configured" }, { cause: error });
    case 415:
      return new AppError("unsupported_media_type", {
        contentType: c.req.header("content-type") ?? "(none)",
      });
    default:
      return new AppError("internal_error", {}, { cause: error });
  }
}

/** zod-openapi's hook: a failed validation becomes `validation_failed` listing every field. */
export function validationHook(
  result: { success: true } | { success: false; error: z.ZodError; target: string },
): void {
  if (result.success) return;
  throw new AppError("validation_failed", {}, { details: toDetails(result.error, result.target) });
}

const targetPrefix: Record<string, string> = { json: "", query: "query.", param: "path.", header: "header." };

export function toDetails(error: z.ZodError, target: string): ErrorDetail[] {
  const prefix = targetPrefix[target] ?? `${target}.`;
  const detail = (path: PropertyKey[], code: string, message: string) => ({
    path: prefix + path.map(String).join(".") || "body",
    code,
    detail: message,
  });
  return error.issues.flatMap((issue) => {
    // A misspelt field is named by its own path, so that the caller sees which one.
    if (issue.code === "unrecognized_keys")
      return issue.keys.map((key) =>
        detail(
          [...issue.path, key],
          issue.code,
          `Unknown ${target === "query" ? "query parameter" : "field"} "${key}"`,
        ),
      );
    // A map's refused key: why, as its key schema says, rather than zod's "Invalid key in record".
    if (issue.code === "invalid_key")
      return [detail(issue.path, issue.code, issue.issues.map((inner) => inner.message).join("; "))];
    return [detail(issue.path, issue.code, issue.message)];
  });
}

/** Picks Russian or English from Accept-Language, honouring q-values; English by default. */
export function pickLanguage(header: string | undefined): Language {
  if (!header) return "en";
  let best: { language: Language; q: number } = { language: "en", q: 0 };
  for (const part of header.split(",")) {
    const [tag = "", ...params] = part.trim().toLowerCase().split(";");
    const language = tag.startsWith("ru") ? "ru" : tag.startsWith("en") || tag === "*" ? "en" : undefined;
    if (!language) continue;
    const qParam = params.find((p) => p.trim().startsWith("q="));
    const q = qParam ? Number(qParam.trim().slice(2)) : 1;
    if (q > best.q) best = { language, q };
  }
  return best.language;
}
