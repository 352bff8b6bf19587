/**
 * Attachments given by URL, downloaded before they are uploaded to a platform. A failure that a
 * later attempt may cure (network, timeout, 5xx, 429) is `media_fetch_failed` (retryable); one
 * that it will not (not http(s), 4xx, too large) is `media_url_unusable`. Each says why in every
 * language (a `Translated` reason), since the answer it reaches is in the caller's.
 */
import { AppError, type Translated } from "../errors/app-error.ts";
import {
  type Egress,
  EgressRefused,
  type EgressResponse,
  EgressTimeout,
  networkFailure,
  noAnswerWithin,
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
  /** The SSRF guard to dial through: the hub's, as its `egressAllow` sets it. */
  egress: Egress;
}

export async function fetchMedia(url: string, options: FetchMediaOptions): Promise<FetchedMedia> {
  const maxBytes = options.maxBytes ?? mediaFetchDefaults.maxBytes;
  const timeoutMs = options.timeoutMs ?? mediaFetchDefaults.timeoutMs;
  const { egress } = options;
  const where = shownUrl(url);
  if (!URL.canParse(url)) throw new AppError("media_url_unusable", { url: where, reason: reasons.notAUrl });
  let target = new URL(url);

  const deadline = Date.now() + timeoutMs;
  let response: EgressResponse;
  // Each hop of a redirect is dialled through the guard again, so a public address cannot send
  // the hub on to a private one. The guard refuses what is not http(s) too, the first hop's
  // scheme as a redirect's.
  for (let hop = 0; ; hop++) {
    try {
      response = await egress.request(target, {
        timeoutMs: Math.max(1, deadline - Date.now()),
        maxBodyBytes: maxBytes,
        failOverLimit: true,
      });
    } catch (error) {
      if (error instanceof EgressRefused)
        throw new AppError("media_url_unusable", { url: where, reason: error.reason }, { cause: error });
      // The whole fetch's time, not what was left of it for this hop.
      const reason = error instanceof EgressTimeout ? noAnswerWithin(timeoutMs) : networkFailure(error);
      throw new AppError("media_fetch_failed", { url: where, reason }, { cause: error });
    }
    const location = response.headers.location;
    if (response.status < 300 || response.status >= 400 || !location) break;
    if (hop >= maxRedirects)
      throw new AppError("media_url_unusable", { url: where, reason: reasons.redirects(maxRedirects) });
    target = new URL(location, target);
  }
  if (response.status < 200 || response.status >= 300) {
    const reason = reasons.answered(response.status);
    const passing = response.status >= 500 || response.status === 429 || response.status === 408;
    throw new AppError(passing ? "media_fetch_failed" : "media_url_unusable", { url: where, reason });
  }
  if (response.truncated || Number(response.headers["content-length"] ?? 0) > maxBytes) {
    throw new AppError("media_url_unusable", { url: where, reason: reasons.tooLarge(maxBytes) });
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

/** Why a file could not be fetched, in every language (the network's reasons come from egress.ts). */
const reasons = {
  notAUrl: { en: "it is not a URL", ru: "это не URL-адрес" },
  redirects: (limit: number): Translated => ({
    en: `more than ${limit} redirects`,
    ru: `больше ${limit} перенаправлений`,
  }),
  answered: (status: number): Translated => ({
    en: `the server answered ${status}`,
    ru: `сервер ответил ${status}`,
  }),
  tooLarge: (limit: number): Translated => ({
    en: `the file is larger than ${limit} bytes`,
    ru: `файл больше ${limit} байт`,
  }),
} as const;

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
