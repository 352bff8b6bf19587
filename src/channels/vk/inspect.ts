/**
 * Diagnostics for `switchboard doctor`: whether a VK channel's setup still stands in VK.
 */
import type { ChannelAccount } from "../../store/repositories/channel-accounts.ts";
import type { SecretBox } from "../../store/secret-box.ts";
import { type VkNotice, vkCredentials, vkSettingsSchema } from "./channel.ts";
import { foreignWarnings, hookPrefix } from "./community-setup.ts";
import { classifyVkError } from "./errors.ts";
import { managementClient } from "./management.ts";

export interface VkInspection {
  /** What VK says, in a few words (e.g. "callback server ok"). */
  summary: string;
  /** Problems found now: the first one's remedy is what the admin should do. */
  problems: VkNotice[];
  warnings: VkNotice[];
}

/**
 * Asks VK, with the channel's own tokens, whether its setup still stands: the callback server's
 * status and foreign servers (callback), or whether Long Poll is still enabled (long poll).
 * Every call is bounded by `timeoutMs`; failures become problems, never exceptions.
 */
export async function inspectVkChannel(
  box: SecretBox,
  channel: ChannelAccount,
  options: { publicUrl?: string | undefined; timeoutMs: number },
): Promise<VkInspection> {
  const settings = vkSettingsSchema.parse(channel.settings);
  if (channel.credentials === null)
    return { summary: "not connected (no tokens)", problems: [], warnings: [] };
  const client = managementClient(channel, settings, vkCredentials(box, channel), {
    callTimeoutMs: options.timeoutMs,
  });
  if (!client)
    return { summary: "no working token", problems: [{ code: "vk_no_tokens", params: {} }], warnings: [] };
  try {
    if (settings.mode === "long_poll") {
      const longPoll = await client.call<{ is_enabled?: unknown }>("groups.getLongPollSettings", {
        group_id: channel.externalId,
      });
      const enabled = longPoll.is_enabled === true || longPoll.is_enabled === 1;
      return enabled
        ? { summary: "Long Poll enabled", problems: [], warnings: [] }
        : {
            summary: "Long Poll switched off in VK",
            problems: [
              {
                code: "vk_long_poll_failing",
                params: { reason: "Long Poll is switched off in the community" },
              },
            ],
            warnings: [],
          };
    }
    const servers = await client.getCallbackServers();
    const own = servers.find((s) => s.id === settings.callbackServerId);
    const prefixes = [
      options.publicUrl ? hookPrefix(options.publicUrl) : undefined,
      settings.callbackUrl?.replace(/[^/]+$/, ""),
    ].filter((p): p is string => p !== undefined);
    const others = servers.filter((s) => s !== own && !prefixes.some((p) => s.url.startsWith(p)));
    const warnings = await foreignWarnings(client, others);
    const url = settings.callbackUrl ?? "";
    if (!own)
      return {
        summary: "callback server missing",
        problems: [
          { code: "vk_callback_server_missing", params: { serverId: settings.callbackServerId ?? 0 } },
        ],
        warnings,
      };
    if (own.status === "ok") return { summary: "callback server ok", problems: [], warnings };
    if (own.status === "failed")
      return {
        summary: "callback server failed",
        problems: [{ code: "vk_callback_server_failed", params: { url } }],
        warnings,
      };
    return {
      summary: `callback server ${own.status}`,
      problems: [{ code: "vk_callback_server_unconfirmed", params: { url, status: own.status } }],
      warnings,
    };
  } catch (thrown) {
    const error = classifyVkError(thrown);
    return {
      summary: "VK check failed",
      problems: [{ code: error.code, params: error.params }],
      warnings: [],
    };
  } finally {
    client.close();
  }
}
