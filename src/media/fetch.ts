/**
 * Attachments given by URL, downloaded before they are uploaded to a platform. A failure that a
 * later attempt may cure (network, timeout, 5xx, 429) is `media_fetch_failed` (retryable); one
 * that it will not (not http(s), 4xx, too large) is `media_url_unusable`.
 */
import { AppError } from "../errors/app-error.ts";
import {
  describeNetworkError,
  type Egress,
  EgressRefused,
  type EgressResponse,
  EgressTimeout,
  processEgress,
  shownUrl,
} from "../net/egress.ts";

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
  /** The SSRF guard to dial through; the process's configured one by default. */
  egress?: Egress;
}

export async function fetchMedia(url: string, options: FetchMediaOptions = {}): Promise<FetchedMedia> {
  const maxBytes = options.maxBytes ?? mediaFetchDefaults.maxBytes;
  const timeoutMs = options.timeoutMs ?? mediaFetchDefaults.timeoutMs;
  const egress = options.egress ?? processEgress();
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new AppError("media_url_unusable", { url: shownUrl(url), reason: "it is not a URL" });
  }
  const where = shownUrl(url);
  if (target.protocol !== "http:" && target.protocol !== "https:")
    throw new AppError("media_url_unusable", {
      url: where,
      reason: "only http and https addresses are accepted",
    });

  const deadline = Date.now() + timeoutMs;
  let response: EgressResponse;
  // Each hop of a redirect is dialled through the guard again, so a public address cannot send
  // the hub on to a private one.
  for (let hop = 0; ; hop++) {
    try {
      response = await egress.request(target, {
        timeoutMs: Math.max(1, deadline - Date.now()),
        maxBodyBytes: maxBytes,
        failOverLimit: true,
      });
    } catch (error) {
      if (error instanceof EgressRefused)
        throw new AppError("media_url_unusable", { url: where, reason: error.message }, { cause: error });
      const reason =
        error instanceof EgressTimeout
          ? `no answer within ${timeoutMs / 1000} s`
          : describeNetworkError(error);
      throw new AppError("media_fetch_failed", { url: where, reason }, { cause: error });
    }
    const location = response.headers.location;
    if (response.status < 300 || response.status >= 400 || !location) break;
    if (hop >= maxRedirects)
      throw new AppError("media_url_unusable", { url: where, reason: `more than ${maxRedirects} redirects` });
    target = new URL(location, target);
  }
  if (response.status < 200 || response.status >= 300) {
    const reason = `the server answered ${response.status}`;
    const passing = response.status >= 500 || response.status === 429 || response.status === 408;
    throw new AppError(passing ? "media_fetch_failed" : "media_url_unusable", { url: where, reason });
  }
  if (response.truncated || Number(response.headers["content-length"] ?? 0) > maxBytes) {
    throw new AppError("media_url_unusable", {
      url: where,
      reason: `the file is larger than ${maxBytes} bytes`,
    });
  }
  const contentType = response.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
  const filename = filenameOf(response.headers["content-disposition"] ?? null, target);
  return {
    data: response.body,
    ...(contentType ? { contentType } : {}),
    ...(filename ? { filename } : {}),
  };
}

const maxRedirects = 5;

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
