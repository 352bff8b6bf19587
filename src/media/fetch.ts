/**
 * Attachments given by URL, downloaded before they are uploaded to a platform. A failure that a
 * later attempt may cure (network, timeout, 5xx, 429) is `media_fetch_failed` (retryable); one
 * that it will not (not http(s), 4xx, too large) is `media_url_unusable`.
 */
import { AppError } from "../errors/app-error.ts";

export const mediaFetchDefaults = {
  /** VK's largest upload (documents) is 200 MB; photos 50 MB. */
  maxBytes: 200 * 1024 * 1024,
  timeoutMs: 60_000,
} as const;

export interface FetchedMedia {
  data: Buffer;
  /** The server's `Content-Type`, without parameters, when it sent one. */
  contentType?: string;
  /** From `Content-Disposition`, else the URL's last path segment, when there is one. */
  filename?: string;
}

export interface FetchMediaOptions {
  maxBytes?: number;
  timeoutMs?: number;
}

export async function fetchMedia(url: string, options: FetchMediaOptions = {}): Promise<FetchedMedia> {
  const maxBytes = options.maxBytes ?? mediaFetchDefaults.maxBytes;
  const timeoutMs = options.timeoutMs ?? mediaFetchDefaults.timeoutMs;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AppError("media_url_unusable", { url: shown(url), reason: "it is not a URL" });
  }
  const where = shown(url);
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
    throw new AppError("media_url_unusable", {
      url: where,
      reason: "only http and https addresses are accepted",
    });

  let response: Response;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    response = await fetch(parsed, { redirect: "follow", signal });
  } catch (error) {
    throw new AppError(
      "media_fetch_failed",
      { url: where, reason: networkReason(error, timeoutMs) },
      { cause: error },
    );
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => {});
    const reason = `the server answered ${response.status}`;
    const passing = response.status >= 500 || response.status === 429 || response.status === 408;
    throw new AppError(passing ? "media_fetch_failed" : "media_url_unusable", { url: where, reason });
  }
  const declared = Number(response.headers.get("content-length") ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw new AppError("media_url_unusable", {
      url: where,
      reason: `the file is larger than ${maxBytes} bytes`,
    });
  }

  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body ?? []) {
      size += chunk.length;
      if (size > maxBytes) {
        await response.body?.cancel().catch(() => {});
        throw new AppError("media_url_unusable", {
          url: where,
          reason: `the file is larger than ${maxBytes} bytes`,
        });
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError(
      "media_fetch_failed",
      { url: where, reason: networkReason(error, timeoutMs) },
      { cause: error },
    );
  }
  const contentType = response.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
  const filename = filenameOf(response.headers.get("content-disposition"), parsed);
  return {
    data: Buffer.concat(chunks),
    ...(contentType ? { contentType } : {}),
    ...(filename ? { filename } : {}),
  };
}

/** The URL as shown in errors: no query or fragment (signed links carry secrets there). */
function shown(url: string): string {
  const cut = url.search(/[?#]/);
  return (cut < 0 ? url : url.slice(0, cut)).slice(0, 200);
}

function networkReason(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError"))
    return `no answer within ${timeoutMs / 1000} s`;
  const cause =
    error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === "string") return `the connection failed (${cause.code})`;
  if (typeof cause?.message === "string") return `the connection failed: ${cause.message.slice(0, 200)}`;
  return error instanceof Error ? error.message.slice(0, 200) : "the connection failed";
}

function filenameOf(disposition: string | null, url: URL): string | undefined {
  const star = disposition?.match(/filename\*\s*=\s*(?:UTF-8'')?([^;]+)/i)?.[1];
  if (star) {
    try {
      return decodeURIComponent(star.trim().replace(/^"|"$/g, ""));
    } catch {
      // fall through to the plain form
    }
  }
  const plain = disposition?.match(/filename\s*=\s*"?([^";]+)"?/i)?.[1]?.trim();
  if (plain) return plain;
  const last = url.pathname.split("/").at(-1);
  if (!last) return undefined;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}
