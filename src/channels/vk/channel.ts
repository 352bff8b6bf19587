import { z } from "zod";
import type { AppError } from "../../errors/app-error.ts";
import { type ChannelAccount, readCredentials } from "../../store/repositories/channel-accounts.ts";
import type { SecretBox } from "../../store/secret-box.ts";
import { VkClient, type VkTokenRef } from "./api.ts";

/** A catalogue code with the parameters of its texts. */
export const vkNoticeSchema = z.object({
  code: z.string(),
  /** An error's params (`ErrorParams`): a string, a number, a text in each language, or a list. */
  params: z
    .record(
      z.string(),
      z.union([
        z.string(),
        z.number(),
        z.object({ en: z.string(), ru: z.string() }),
        z.array(z.string()).readonly(),
      ]),
    )
    .default({}),
});
export type VkNotice = z.infer<typeof vkNoticeSchema>;

/**
 * What a VK channel keeps. Settings are plain (shown on the channel resource); credentials are
 * sealed at rest. Both are read through these schemas, so a missing field has one default.
 */
export const vkSettingsSchema = z.object({
  /** `callback` when the hub has a public URL, else `long_poll`. */
  mode: z.enum(["callback", "long_poll"]).default("callback"),
  apiBaseUrl: z.string().default("https://api.vk.ru/method"),
  apiVersion: z.string().default("5.199"),
  /** The code VK's confirmation request must be answered with. */
  confirmationCode: z.string().optional(),
  /** The callback server the hub created for this channel. */
  callbackServerId: z.number().int().optional(),
  /** Requests per second per token (VK allows 20; lower it if VK answers 6, raise it for an emulator). */
  apiLimit: z.number().positive().max(10_000).default(20),
  /** Longest text part; longer texts are split (VK's documented limit is uncertain: 4096 or 9000). */
  textLimit: z.number().int().min(100).max(9000).default(4096),
  /** A client message with exactly this text is answered by the hub with the channel's state; "" turns it off. */
  botInfoCommand: z.string().default("::bot_info"),
  // Kept by connecting (connect.ts) and by the channel's runner (long-poll.ts, runners.ts):
  /** The address VK posts events to (callback mode). */
  callbackUrl: z.string().optional(),
  /** Each token's rights as VK reported them at connect time, by fingerprint (never the token). */
  tokenRights: z.array(z.object({ fingerprint: z.string(), rights: z.array(z.string()) })).default([]),
  /** Bots Long Poll position: the `ts` after the last stored update, so a restart loses nothing. */
  longPollTs: z.string().optional(),
  /** Catalogued warnings (foreign callback servers, a single token, …), rendered in the reader's language. */
  warnings: z.array(vkNoticeSchema).default([]),
  /** The catalogued reason of a `connecting` or `failing` state, set by whoever found it. */
  problem: vkNoticeSchema.optional(),
});
export type VkSettings = z.infer<typeof vkSettingsSchema>;

export const vkCredentialsSchema = z.object({
  tokens: z.array(z.string().min(1)).default([]),
  callbackSecret: z.string().optional(),
  /** Fingerprints of tokens VK refused (5, 27), skipped until the channel is reconnected. */
  deadTokens: z.array(z.string()).default([]),
});
export type VkCredentials = z.infer<typeof vkCredentialsSchema>;

export function vkSettings(channel: ChannelAccount): VkSettings {
  return vkSettingsSchema.parse(channel.settings);
}

export function vkCredentials(box: SecretBox, channel: ChannelAccount): VkCredentials {
  return vkCredentialsSchema.parse(readCredentials(box, channel));
}

/**
 * One VkClient per channel, reused across sends so each token's pacing holds; rebuilt when the
 * channel changes (new tokens, another base URL).
 */
export class VkClients {
  readonly #clients = new Map<string, { version: number; client: VkClient }>();

  constructor(
    private readonly box: SecretBox,
    private readonly onTokenInvalid: (
      channel: ChannelAccount,
      token: VkTokenRef,
      error: AppError,
    ) => void = () => {},
  ) {}

  for(channel: ChannelAccount): VkClient {
    const version = channel.updatedAt.getTime();
    const cached = this.#clients.get(channel.id);
    if (cached && cached.version === version) return cached.client;
    cached?.client.close();
    const settings = vkSettings(channel);
    const credentials = vkCredentials(this.box, channel);
    const client = new VkClient({
      tokens: credentials.tokens,
      groupId: Number(channel.externalId),
      apiBaseUrl: settings.apiBaseUrl,
      apiVersion: settings.apiVersion,
      apiLimit: settings.apiLimit,
      deadTokens: credentials.deadTokens,
      onTokenInvalid: (token, error) => this.onTokenInvalid(channel, token, error),
    });
    this.#clients.set(channel.id, { version, client });
    return client;
  }

  close() {
    for (const { client } of this.#clients.values()) client.close();
    this.#clients.clear();
  }
}
