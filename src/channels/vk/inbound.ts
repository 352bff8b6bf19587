import { AppError } from "../../errors/app-error.ts";
import type { InboundAdapter } from "../adapter.ts";
import { eventIdOf, isEnvelope, parseVkEvent, secretMatches } from "./callback.ts";

/**
 * VK's Callback API: the secret authenticates (VK signs nothing), `confirmation` is answered
 * with the community's code, every other event is stored and answered `ok` before processing.
 * Retries (`X-Retry-Counter`) are stored like first deliveries; the event id deduplicates them.
 */
export const vkInbound: InboundAdapter = {
  readWebhook(channel, credentials, request) {
    let envelope: unknown;
    try {
      envelope = JSON.parse(request.body);
    } catch {
      return {
        action: "refuse",
        error: new AppError("webhook_payload_invalid", { reason: "the body is not JSON" }),
      };
    }
    if (!isEnvelope(envelope)) {
      return {
        action: "refuse",
        error: new AppError("webhook_payload_invalid", { reason: "no type or group_id" }),
      };
    }
    if (String(envelope.group_id) !== channel.externalId) {
      return {
        action: "refuse",
        error: new AppError("webhook_payload_invalid", {
          reason: `the event is for community ${envelope.group_id}, this channel is ${channel.externalId}`,
        }),
      };
    }
    if (!secretMatches(credentials.callbackSecret as string | undefined, envelope.secret)) {
      return { action: "refuse", error: new AppError("webhook_secret_invalid") };
    }
    if (envelope.type === "confirmation") {
      const code = channel.settings.confirmationCode;
      if (typeof code !== "string" || !code)
        return { action: "refuse", error: new AppError("webhook_confirmation_unknown") };
      return { action: "answer", body: code };
    }
    const retry = request.header("x-retry-counter");
    return {
      action: "store",
      eventId: eventIdOf(envelope, request.body),
      eventType: envelope.type,
      payloadJson: request.body,
      retryCounter: retry && /^\d+$/.test(retry) ? Number(retry) : null,
      answer: "ok",
    };
  },

  parseEvent(payload) {
    if (!isEnvelope(payload))
      return { type: "unsupported", platformType: "unknown", reason: "not a VK envelope" };
    return parseVkEvent(payload);
  },
};
