import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { APIError, UploadError } from "vk-io";
import { AppError } from "../../errors/app-error.ts";
import { catalogue, type ErrorCode } from "../../errors/catalogue.ts";
import {
  affectsChannel,
  classifyVkError,
  fromVkCode,
  invalidatesToken,
  isFinalForRoute,
  isRetryable,
  vkErrorCodes,
} from "./errors.ts";

/** Every code of the reference's §4.2 table. */
const referenceCodes = [
  1, 3, 5, 6, 7, 8, 9, 10, 14, 15, 18, 27, 29, 100, 104, 113, 203, 900, 901, 902, 909, 910, 911, 912, 913,
  914, 917, 920, 921, 924, 925, 927, 932, 935, 936, 940, 943, 944, 945, 946, 949, 950, 962, 969, 985, 987,
  988, 1012, 2000,
];

function apiError(code: number, message = "Some VK text"): APIError {
  return new APIError({
    error_code: code,
    error_msg: message,
    request_params: [{ key: "method", value: "x" }],
  });
}

function systemError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe("classifyVkError: the platform said no", () => {
  it("maps every code of the reference's table", () => {
    for (const code of referenceCodes)
      assert.ok(Object.hasOwn(vkErrorCodes, code), `VK ${code} has no entry`);
  });

  const table = Object.entries(vkErrorCodes).map(([vk, code]) => [Number(vk), code] as const);
  for (const [vk, code] of table) {
    it(`VK ${vk} → ${code}`, () => {
      const error = classifyVkError(apiError(vk), { method: "messages.send" });
      assert.equal(error.code, code);
      assert.equal(error.entry.upstream, String(vk), "the entry names VK's code");
      assert.equal(error.params.vkCode, vk);
      assert.equal(error.params.method, "messages.send");
      assert.ok(error.cause instanceof APIError);
      // The rendered texts have no unfilled placeholder.
      for (const language of ["en", "ru"] as const) {
        const { message, remedy } = error.render(language);
        assert.doesNotMatch(message + remedy, /\{\w+\}/, `${code} ${language}`);
      }
    });
  }

  it("has one catalogued VK entry per mapped code, and none left unmapped", () => {
    const withUpstream = (Object.keys(catalogue) as ErrorCode[]).filter(
      (c) => catalogue[c].upstream !== undefined,
    );
    const mapped = new Set<string>(Object.values(vkErrorCodes));
    assert.deepEqual(
      withUpstream.filter((c) => !mapped.has(c)),
      [],
    );
  });

  it("takes VK's raw error body and a peer_ids item error as well", () => {
    assert.equal(
      classifyVkError({ error_code: 901, error_msg: "Can't send" }).code,
      "vk_messages_not_allowed",
    );
    assert.equal(classifyVkError({ code: 902, description: "privacy" }).code, "vk_privacy_settings");
  });

  it("falls back to vk_api_error for a code it does not know, naming it", () => {
    const error = classifyVkError(apiError(4242, "Something new"));
    assert.equal(error.code, "vk_api_error");
    assert.equal(error.render("en").message, "VK refused the call with error 4242: Something new");
  });

  it("keeps VK's message, on one line and trimmed", () => {
    const long = `One of the parameters specified was missing or invalid:\n ${"x".repeat(1000)}`;
    const error = classifyVkError(apiError(100, long));
    const text = String(error.params.vkMessage);
    assert.ok(text.length <= 300);
    assert.doesNotMatch(text, /\n/);
    assert.match(
      error.render("ru").message,
      /^ВКонтакте сообщает, что параметр не указан или неверен: One of/,
    );
  });

  it("gives retryAfter hints for 6, 9 and 29", () => {
    assert.equal(classifyVkError(apiError(6)).retryAfter, 1);
    assert.ok((classifyVkError(apiError(9)).retryAfter ?? 0) > 1);
    assert.ok((classifyVkError(apiError(29)).retryAfter ?? 0) > 1);
    assert.equal(classifyVkError(apiError(901)).retryAfter, undefined);
  });

  it("tells a method unavailable with a community token from a dead token", () => {
    const unavailable = classifyVkError(
      apiError(27, "Group authorization failed: method is unavailable with group auth."),
    );
    assert.equal(unavailable.code, "vk_method_unavailable_for_group");
    assert.equal(invalidatesToken(unavailable), false);
    const dead = classifyVkError(apiError(5, "User authorization failed: invalid access_token (4)."));
    assert.equal(dead.code, "vk_auth_failed");
    assert.equal(invalidatesToken(dead), true);
    assert.equal(invalidatesToken(classifyVkError(apiError(27, "Group authorization failed"))), true);
  });
});

describe("classifyVkError: the network failed", () => {
  const cases: [string, unknown, RegExp][] = [
    ["connection refused", systemError("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:1"), /ECONNREFUSED/],
    ["socket hang up", systemError("ECONNRESET", "socket hang up"), /socket hang up/],
    ["DNS", systemError("ENOTFOUND", "getaddrinfo ENOTFOUND api.vk.ru"), /DNS/],
    [
      "node-fetch FetchError",
      Object.assign(new Error("request to https://api.vk.ru/method/x failed, reason: connect ETIMEDOUT"), {
        name: "FetchError",
        type: "system",
        code: "ETIMEDOUT",
      }),
      /timed out/,
    ],
    [
      "undici fetch failed",
      new TypeError("fetch failed", {
        cause: systemError("UND_ERR_CONNECT_TIMEOUT", "Connect Timeout Error"),
      }),
      /timed out/,
    ],
    ["bare socket hang up", new Error("socket hang up"), /hang up/],
  ];
  for (const [name, thrown, reason] of cases) {
    it(name, () => {
      const error = classifyVkError(thrown);
      assert.equal(error.code, "vk_network_error");
      assert.match(String(error.params.reason), reason);
      assert.equal(isRetryable(error), true);
      assert.equal(isFinalForRoute(error), false);
    });
  }

  it("a timeout (vk-io aborts the request) says how long it waited", () => {
    const abort = Object.assign(new Error("The operation was aborted."), { name: "AbortError" });
    const error = classifyVkError(abort, { timeoutMs: 10_000 });
    assert.equal(error.code, "vk_network_error");
    assert.equal(error.params.reason, "no answer within 10 s");
  });

  it("an answer that is not JSON is an unexpected response, retryable, without URLs", () => {
    const invalid = Object.assign(
      new Error("invalid json response body at https://x.example/method/y?sig=1"),
      {
        name: "FetchError",
        type: "invalid-json",
      },
    );
    const error = classifyVkError(invalid);
    assert.equal(error.code, "vk_unexpected_response");
    assert.equal(isRetryable(error), true);
    assert.doesNotMatch(error.render("en").message, /https?:/);
  });

  it("an unknown throw is an unexpected response; during an upload, an upload failure", () => {
    assert.equal(classifyVkError(new RangeError("boom")).code, "vk_unexpected_response");
    assert.equal(classifyVkError("a string").code, "vk_unexpected_response");
    assert.equal(classifyVkError(new Error("Bad Gateway"), { during: "upload" }).code, "vk_upload_failed");
    const upload = new UploadError({ code: "NO_FILES_TO_UPLOAD", message: "No files to upload" });
    assert.equal(classifyVkError(upload).code, "vk_upload_failed");
  });

  it("passes an AppError through", () => {
    const original = new AppError("vk_no_tokens");
    assert.equal(classifyVkError(original), original);
  });
});

describe("decisions for a dispatcher", () => {
  const of = (code: number) => fromVkCode(code, "text");

  it("retries 1, 6, 9, 10, 29 (and the captcha and intent limits later)", () => {
    for (const code of [1, 6, 9, 10, 29, 14, 944, 949])
      assert.equal(isRetryable(of(code)), true, `VK ${code}`);
    for (const code of [5, 27, 15, 100, 901, 902, 912, 914, 2000])
      assert.equal(isRetryable(of(code)), false, `VK ${code}`);
  });

  it("gives up the route on refusals by the recipient and on a broken channel", () => {
    for (const code of [900, 901, 902, 936, 18, 932, 987, 5, 27, 912, 15])
      assert.equal(isFinalForRoute(of(code)), true, `VK ${code}`);
    for (const code of [6, 10, 100, 911, 914]) assert.equal(isFinalForRoute(of(code)), false, `VK ${code}`);
  });

  it("pauses the channel only for the community's own settings", () => {
    for (const code of [5, 27, 7, 15, 203, 912]) assert.equal(affectsChannel(of(code)), true, `VK ${code}`);
    for (const code of [901, 6, 100]) assert.equal(affectsChannel(of(code)), false, `VK ${code}`);
  });

  it("drops a token on 5 and 27 only", () => {
    const dropping = Object.keys(vkErrorCodes)
      .map(Number)
      .filter((code) => invalidatesToken(of(code)));
    assert.deepEqual(dropping, [5, 27]);
  });

  it("classes policy errors as the seed describes them", () => {
    for (const code of [900, 901, 902, 912, 15]) assert.equal(of(code).entry.class, "policy", `VK ${code}`);
    for (const code of [5, 27]) assert.equal(of(code).entry.class, "auth", `VK ${code}`);
    for (const code of [100, 911, 914]) assert.equal(of(code).entry.class, "invalid_input", `VK ${code}`);
  });
});
