/**
 * What managing a VK community with a channel's tokens shares, for connecting, the runners and
 * doctor: the dependencies and timing, the management client, patience with VK's rate limit,
 * notices as text, and telling the channel runners.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { type AppError, describeError } from "../../errors/app-error.ts";
import { catalogue, type ErrorCode } from "../../errors/catalogue.ts";
import type { Store } from "../../store/database.ts";
import {
  type ChannelAccount,
  type ChannelStateChanged,
  channelsChangedChannel,
} from "../../store/repositories/channel-accounts.ts";
import type { SecretBox } from "../../store/secret-box.ts";
import { tokenFingerprint, VkClient, type VkTokenRef, vkApiDefaults } from "./api.ts";
import type { VkCredentials, VkNotice, VkSettings } from "./channel.ts";
import { classifyVkError } from "./errors.ts";

export interface VkConnectTiming {
  /** How long to wait for VK to confirm a callback server before answering `connecting`. */
  confirmTimeoutMs: number;
  /** The first pause between status checks; it grows up to a second. */
  confirmPollMs: number;
  /** Timeout of each VK call. */
  callTimeoutMs: number;
}

export const vkConnectDefaults: VkConnectTiming = {
  confirmTimeoutMs: 15_000,
  confirmPollMs: 100,
  callTimeoutMs: vkApiDefaults.timeoutMs,
};

export interface VkConnectDeps {
  store: Store;
  box: SecretBox;
  /** The hub's public address (config.publicUrl); callback mode needs it. */
  publicUrl: string | undefined;
  logger?: Logger;
  timing?: Partial<VkConnectTiming>;
  /** Told when connecting again or disconnecting changes a channel's state (`channel.status_changed`). */
  onStateChanged?: ChannelStateChanged;
}

/** A client over the channel's live tokens that may manage the community (callback servers, long poll). */
export function managementClient(
  channel: ChannelAccount,
  settings: VkSettings,
  credentials: VkCredentials,
  timing: Pick<VkConnectTiming, "callTimeoutMs">,
  onTokenInvalid?: (token: VkTokenRef, error: AppError) => void,
): VkClient | undefined {
  const dead = new Set(credentials.deadTokens);
  const managing = new Set(
    settings.tokenRights.filter((t) => t.rights.includes("manage")).map((t) => t.fingerprint),
  );
  const live = credentials.tokens.filter((token) => !dead.has(tokenFingerprint(token)));
  // Channels connected before rights were recorded: every live token.
  const tokens = managing.size > 0 ? live.filter((token) => managing.has(tokenFingerprint(token))) : live;
  if (tokens.length === 0) return undefined;
  return new VkClient({
    tokens,
    groupId: Number(channel.externalId),
    apiBaseUrl: settings.apiBaseUrl,
    apiVersion: settings.apiVersion,
    timeoutMs: timing.callTimeoutMs,
    ...(onTokenInvalid
      ? {
          onTokenInvalid: (ref: VkTokenRef, error: AppError) =>
            // The client numbers only its own tokens; report the position among all of them.
            onTokenInvalid(
              { ...ref, index: credentials.tokens.findIndex((t) => tokenFingerprint(t) === ref.fingerprint) },
              error,
            ),
        }
      : {}),
  });
}

/** A notice as one line of English: for `state_reason` in the database and for logs. */
export function reasonText(notice: VkNotice): string {
  if (!Object.hasOwn(catalogue, notice.code)) return notice.code;
  const text = describeError(notice.code as ErrorCode, "en", notice.params);
  return `${text.message} ${text.remedy}`;
}

/** How often a connect repeats a call VK refused with 6 (too many requests per second). */
const tooManyRequestsAttempts = 4;

/**
 * The client, with calls that VK refused for the token's rate (6) repeated after VK's pause:
 * connecting must not fail because the channel's tokens are busy sending. Every other error,
 * and a 6 that persists, goes to the caller.
 */
export function patient(client: VkClient): VkClient {
  return new Proxy(client, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== "function" || property === "close" || property === "constructor") {
        return typeof value === "function" ? value.bind(target) : value;
      }
      return async (...args: unknown[]) => {
        for (let attempt = 1; ; attempt += 1) {
          try {
            return await value.apply(target, args);
          } catch (thrown) {
            const error = classifyVkError(thrown);
            if (error.code !== "vk_too_many_requests" || attempt >= tooManyRequestsAttempts) throw error;
            const pause = (error.retryAfter ?? 1) * 1000 * (1 + Math.random() / 4);
            await sleep(pause);
          }
        }
      };
    },
  });
}

export function ignoreNotFound(thrown: unknown): void {
  const error = classifyVkError(thrown);
  if (error.code !== "vk_not_found") throw error;
}

export async function announce(deps: Pick<VkConnectDeps, "store" | "logger">): Promise<void> {
  await deps.store
    .notify(channelsChangedChannel)
    .catch((error) => deps.logger?.warn({ err: error }, "could not tell the channel runners"));
}
