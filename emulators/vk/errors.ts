/**
 * VK API errors: the canonical texts (vk-api-schema `errors.json`, reference §4.2), the one error type
 * the method handlers throw, and the answer shape `{"error":{error_code,error_msg,request_params}}`.
 */

export const errorTexts: Readonly<Record<number, string>> = {
  1: "Unknown error occurred",
  3: "Unknown method passed",
  5: "User authorization failed",
  6: "Too many requests per second",
  7: "Permission to perform this action is denied",
  8: "Invalid request",
  9: "Flood control",
  10: "Internal server error",
  14: "Captcha needed",
  15: "Access denied",
  17: "Validation required",
  18: "User was deleted or banned",
  24: "Confirmation required",
  27: "Group authorization failed",
  29: "Rate limit reached",
  100: "One of the parameters specified was missing or invalid",
  104: "Not found",
  105: "Couldn't save file",
  113: "Invalid user id",
  114: "Invalid album id",
  118: "Invalid server",
  121: "Invalid hash",
  203: "Access to group denied",
  212: "Access to post comments denied",
  213: "Access to status replies denied",
  222: "Hyperlinks are forbidden",
  223: "Too many replies",
  900: "Can't send messages for users from blacklist",
  901: "Can't send messages for users without permission",
  902: "Can't send messages to this user due to their privacy settings",
  909: "Can't edit this message, because it's too old",
  910: "Can't sent this message, because it's too big",
  911: "Keyboard format is invalid",
  912: "This is a chat bot feature, change this status in settings",
  913: "Too many forwarded messages",
  914: "Message is too long",
  917: "You don't have access to this chat",
  920: "Can't edit this kind of message",
  921: "Can't forward these messages",
  922: "You left this chat",
  924: "Can't delete this message for everybody",
  925: "You are not admin of this chat",
  927: "Chat does not exist",
  932: "Your community can't interact with this peer",
  935: "User not found in chat",
  936: "Contact not found",
  940: "Too many posts in messages",
  943: "Cannot use this intent",
  944: "Limits overflow for this intent",
  945: "Chat was disabled",
  946: "Chat not supported",
  949: "Can't edit pinned message yet",
  950: "Can't send message, reply timed out",
  962: "You can't access donut chat without subscription",
  969: "Message cannot be forwarded",
  985: "Cannot write to notifications only groups",
  987: "Need message request",
  988: "Pending message request",
  1012: "Writing is disabled for this chat",
  2000: "Servers number limit is reached",
};

/** The platform said no. `detail` follows the canonical text after ": ", as VK writes it. */
export class VkApiError extends Error {
  readonly code: number;
  readonly detail: string | undefined;
  readonly extra: Record<string, unknown>;

  constructor(code: number, detail?: string, extra: Record<string, unknown> = {}) {
    const text = errorTexts[code] ?? errorTexts[1] ?? "Unknown error occurred";
    super(detail ? `${text}: ${detail}` : text);
    this.name = "VkApiError";
    this.code = code;
    this.detail = detail;
    this.extra = extra;
  }
}

/** 100 with the usual detail, e.g. `owner_id is undefined`. */
export const paramError = (detail: string) => new VkApiError(100, detail);

export interface RequestParam {
  key: string;
  value: string;
}

/**
 * The error answer. `request_params` echoes the call (never the token), preceded by `oauth` and
 * `method` as VK does (§4.1).
 */
export function errorBody(error: VkApiError, method: string, params: Record<string, string>) {
  const requestParams: RequestParam[] = [
    { key: "oauth", value: "1" },
    { key: "method", value: method },
  ];
  for (const [key, value] of Object.entries(params)) {
    if (key !== "access_token") requestParams.push({ key, value });
  }
  return {
    error: {
      error_code: error.code,
      error_msg: error.message,
      ...error.extra,
      request_params: requestParams,
    },
  };
}

/** The per-recipient error inside a `peer_ids` answer: `{code, description}` (schema `base_message_error`). */
export function messageError(error: VkApiError) {
  return { code: error.code, description: error.message };
}

/** Fields VK adds to some codes (§4.1), filled in when a fault injects such a code without them. */
export function defaultExtra(code: number, baseUrl: string): Record<string, unknown> {
  if (code === 14) {
    const sid = String(Math.floor(Math.random() * 1e12));
    return { captcha_sid: sid, captcha_img: `${baseUrl}/captcha.php?sid=${sid}` };
  }
  if (code === 17) return { redirect_uri: `${baseUrl}/validate` };
  if (code === 24) return { confirmation_text: "Confirm this action" };
  return {};
}
