/**
 * Every failure of a VK call becomes an AppError here, split the way grammY splits them: "the
 * platform said no" (a VK API error with a code: mapped through `vkErrorCodes`) versus "the
 * network failed" (no answer, a timeout, a reset: `vk_network_error`, always retryable) versus
 * "VK answered something that is not the VK API" (`vk_unexpected_response`). The predicates at the
 * bottom are what a dispatcher needs to decide between retrying, falling back to another route,
 * pausing the channel and dropping a token.
 */
import { APIError, UploadError } from "vk-io";
import { AppError, type ErrorParams } from "../../errors/app-error.ts";
import type { ErrorCode } from "../../errors/catalogue.ts";

/** VK's numeric error codes and the catalogue codes that mirror them (VK errors.json, API 5.199). */
export const vkErrorCodes = {
  1: "vk_unknown_error",
  3: "vk_unknown_method",
  5: "vk_auth_failed",
  6: "vk_too_many_requests",
  7: "vk_permission_denied",
  8: "vk_invalid_request",
  9: "vk_flood_control",
  10: "vk_internal_error",
  14: "vk_captcha_needed",
  15: "vk_access_denied",
  18: "vk_user_deleted",
  27: "vk_group_auth_failed",
  29: "vk_rate_limit_reached",
  100: "vk_invalid_parameter",
  104: "vk_not_found",
  113: "vk_invalid_user_id",
  203: "vk_group_access_denied",
  212: "vk_comments_closed",
  222: "vk_links_forbidden",
  223: "vk_too_many_replies",
  900: "vk_recipient_blacklisted",
  901: "vk_messages_not_allowed",
  902: "vk_privacy_settings",
  909: "vk_edit_too_old",
  910: "vk_message_too_big",
  911: "vk_keyboard_invalid",
  912: "vk_bot_features_disabled",
  913: "vk_too_many_forwarded",
  914: "vk_message_too_long",
  917: "vk_chat_access_denied",
  920: "vk_edit_unsupported",
  921: "vk_forward_unsupported",
  924: "vk_delete_for_all_denied",
  925: "vk_not_chat_admin",
  927: "vk_chat_not_found",
  932: "vk_peer_not_allowed",
  935: "vk_chat_member_not_found",
  936: "vk_contact_not_found",
  940: "vk_too_many_posts",
  943: "vk_intent_not_allowed",
  944: "vk_intent_limit_reached",
  945: "vk_chat_disabled",
  946: "vk_chat_not_supported",
  949: "vk_pinned_edit_too_early",
  950: "vk_reply_window_expired",
  962: "vk_donut_chat_denied",
  969: "vk_message_not_forwardable",
  985: "vk_notifications_only_group",
  987: "vk_message_request_needed",
  988: "vk_message_request_pending",
  1012: "vk_chat_writing_disabled",
  2000: "vk_callback_servers_limit",
} as const satisfies Record<number, ErrorCode>;

/**
 * Seconds to wait before the next attempt, sent as `retryAfter`. 6 is VK's per-second limit (vk-io
 * itself waits 1133 ms); 9, 14 and 29 are longer-lived and VK publishes no numbers, so these are
 * starting points: a dispatcher should grow its back-off when the same error repeats.
 */
export const vkRetryAfterSeconds: Readonly<Partial<Record<number, number>>> = { 6: 1, 9: 30, 14: 60, 29: 60 };

/** VK's error text, as it reaches a user: one line, at most this many characters. */
const maxVkMessageLength = 300;

/** Node and fetch error codes that mean the request never got a VK answer. */
const networkErrorCodes: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset (socket hang up)",
  ECONNABORTED: "connection aborted",
  EPIPE: "connection closed while sending",
  ETIMEDOUT: "connection timed out",
  ESOCKETTIMEDOUT: "socket timed out",
  ENOTFOUND: "host name not found (DNS)",
  EAI_AGAIN: "DNS lookup failed temporarily",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ENETDOWN: "network is down",
  EPROTO: "TLS or protocol error",
  CERT_HAS_EXPIRED: "the server's TLS certificate has expired",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the server's TLS certificate cannot be verified",
  DEPTH_ZERO_SELF_SIGNED_CERT: "the server's TLS certificate is self-signed",
  ERR_TLS_CERT_ALTNAME_INVALID: "the server's TLS certificate does not match its name",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
  UND_ERR_SOCKET: "connection closed unexpectedly",
  UND_ERR_HEADERS_TIMEOUT: "no answer in time",
  UND_ERR_BODY_TIMEOUT: "the answer stalled",
};

/** The `UploadError` code of a file the upload server refused (as opposed to failing to answer). */
export const vkFileRefused = "UPLOAD_SERVER_REFUSED";

export interface ClassifyOptions {
  /** The VK method that failed, kept in the error's params for logs (never a token). */
  method?: string;
  /** Unknown failures during an upload become `vk_upload_failed` instead of `vk_unexpected_response`. */
  during?: "call" | "upload";
  /** The timeout in force, to say how long the hub waited. */
  timeoutMs?: number;
}

/**
 * Turns anything a VK call threw into an AppError. An AppError passes through unchanged; a vk-io
 * `APIError` or a raw VK error object (`{error_code, error_msg}`) maps by code; network failures
 * become `vk_network_error`; anything else `vk_unexpected_response` (or `vk_upload_failed`).
 */
export function classifyVkError(error: unknown, options: ClassifyOptions = {}): AppError {
  if (error instanceof AppError) return error;
  const method: ErrorParams = options.method === undefined ? {} : { method: options.method };

  const api = vkApiErrorOf(error);
  if (api !== undefined) return fromVkCode(api.code, api.message, method, error);

  const network = networkReason(error, options.timeoutMs);
  if (network !== undefined)
    return new AppError("vk_network_error", { reason: network, ...method }, { cause: error });

  if (isInvalidJson(error))
    return new AppError(
      options.during === "upload" ? "vk_upload_failed" : "vk_unexpected_response",
      { reason: "the answer is not JSON", ...method },
      { cause: error },
    );
  if (error instanceof UploadError && error.code === vkFileRefused)
    return new AppError("vk_file_refused", { reason: shortReason(error), ...method }, { cause: error });
  if (error instanceof UploadError || options.during === "upload")
    return new AppError("vk_upload_failed", { reason: shortReason(error), ...method }, { cause: error });
  return new AppError("vk_unexpected_response", { reason: shortReason(error), ...method }, { cause: error });
}

/** The AppError for a VK error code and message, e.g. from a `peer_ids` send item's `error`. */
export function fromVkCode(
  code: number,
  vkMessage: string,
  extra: ErrorParams = {},
  cause?: unknown,
): AppError {
  const text = oneLine(vkMessage, maxVkMessageLength);
  const params: ErrorParams = { vkCode: code, vkMessage: text, ...extra };
  const retryAfter = vkRetryAfterSeconds[code];
  const options = { cause, ...(retryAfter === undefined ? {} : { retryAfter }) };
  // 5 and 27 also come back for a method a community token may not call: the token is fine then.
  if ((code === 5 || code === 27) && /unavailable with group auth/i.test(text))
    return new AppError("vk_method_unavailable_for_group", params, options);
  const mapped = (vkErrorCodes as Record<number, ErrorCode | undefined>)[code];
  return new AppError(mapped ?? "vk_api_error", params, options);
}

// ── Decisions for a dispatcher ───────────────────────────────────────────────

/** Worth repeating later through the same channel (respect `retryAfter` when set). */
export function isRetryable(error: AppError): boolean {
  return error.entry.class === "retryable" || error.entry.class === "rate_limited";
}

/** The token used is dead (revoked, expired, deleted): stop using it and tell the admin. */
export function invalidatesToken(error: AppError): boolean {
  return error.code === "vk_auth_failed" || error.code === "vk_group_auth_failed";
}

/**
 * The community itself is misconfigured (a token, a right, messages or bot features switched
 * off): every send through this channel fails until an admin acts, so pause the channel and
 * surface the remedy rather than burn through the queue.
 */
export function affectsChannel(error: AppError): boolean {
  return channelWide.has(error.code);
}

/**
 * This route cannot deliver this message however often it is repeated: the recipient refused or
 * cannot be reached through this channel, or the channel is down for everyone. Fall back to the
 * message's next route if it has one, else fail it. Content errors (`invalid_input`) are not
 * route-final: the content is wrong, not the route.
 */
export function isFinalForRoute(error: AppError): boolean {
  return recipientFinal.has(error.code) || channelWide.has(error.code);
}

const channelWide = new Set<ErrorCode>([
  "vk_auth_failed",
  "vk_group_auth_failed",
  "vk_permission_denied",
  "vk_group_access_denied",
  "vk_access_denied",
  "vk_bot_features_disabled",
  "vk_no_tokens",
]);

const recipientFinal = new Set<ErrorCode>([
  "vk_user_deleted",
  "vk_invalid_user_id",
  "vk_recipient_blacklisted",
  "vk_messages_not_allowed",
  "vk_privacy_settings",
  "vk_chat_access_denied",
  "vk_not_chat_admin",
  "vk_chat_not_found",
  "vk_peer_not_allowed",
  "vk_chat_member_not_found",
  "vk_contact_not_found",
  "vk_chat_disabled",
  "vk_chat_not_supported",
  "vk_reply_window_expired",
  "vk_donut_chat_denied",
  "vk_notifications_only_group",
  "vk_message_request_needed",
  "vk_message_request_pending",
  "vk_chat_writing_disabled",
  "vk_comments_closed",
]);

// ── Recognising the kinds of failure ─────────────────────────────────────────

function vkApiErrorOf(error: unknown): { code: number; message: string } | undefined {
  // vk-io prefixes VK's `error_msg` with "Code №<code> - ".
  if (error instanceof APIError && typeof error.code === "number")
    return { code: error.code, message: error.message.replace(/^Code №\d+ - /, "") };
  if (typeof error === "object" && error !== null) {
    const raw = error as { error_code?: unknown; error_msg?: unknown; code?: unknown; description?: unknown };
    // A raw VK error body, or the `{code, description}` of a `peer_ids` send item.
    if (typeof raw.error_code === "number")
      return { code: raw.error_code, message: typeof raw.error_msg === "string" ? raw.error_msg : "" };
    if (typeof raw.code === "number" && typeof raw.description === "string" && !(error instanceof Error))
      return { code: raw.code, message: raw.description };
  }
  return undefined;
}

function networkReason(error: unknown, timeoutMs: number | undefined): string | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error.name === "AbortError" || error.name === "TimeoutError")
    return timeoutMs === undefined ? "no answer in time" : `no answer within ${timeoutMs / 1000} s`;
  // node-fetch: FetchError {type: "system", code}; undici: TypeError("fetch failed", {cause: {code}}).
  for (let e: unknown = error, depth = 0; e instanceof Object && depth < 4; depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && Object.hasOwn(networkErrorCodes, code))
      return `${networkErrorCodes[code]} (${code})`;
    e = (e as { cause?: unknown }).cause;
  }
  const type = (error as { type?: unknown }).type;
  if (
    error.name === "FetchError" &&
    (type === "system" || type === "request-timeout" || type === "body-timeout")
  )
    return shortReason(error);
  if (/socket hang up/i.test(error.message)) return "connection reset (socket hang up)";
  if (error.name === "TypeError" && error.message === "fetch failed") return "the request failed";
  return undefined;
}

function isInvalidJson(error: unknown): boolean {
  if (error instanceof SyntaxError) return true;
  return error instanceof Error && (error as { type?: unknown }).type === "invalid-json";
}

/** A short, single-line reason without URLs (they may carry signed upload parameters). */
function shortReason(error: unknown): string {
  const text = error instanceof Error ? error.message || error.name : String(error);
  return oneLine(text.replace(/\bhttps?:\/\/\S+/g, "<url>"), 200) || "unknown failure";
}

function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
