/**
 * A VK channel's community tokens: checked when connecting (the token's community and rights,
 * then the community's settings as far as a community token can see them), and recorded dead
 * when VK refuses one in operation.
 */
import { randomBytes } from "node:crypto";
import { AppError, describeError, type ErrorDetail } from "../../errors/app-error.ts";
import {
  markTokenDead,
  mergeChannelSettings,
  transitionChannelState,
} from "../../store/repositories/channel-accounts.ts";
import { tokenFingerprint, VkClient, type VkTokenRef } from "./api.ts";
import { type VkNotice, vkSettingsSchema } from "./channel.ts";
import { classifyVkError } from "./errors.ts";
import { announce, patient, type VkConnectDeps } from "./management.ts";

// ── Token checks ─────────────────────────────────────────────────────────────

const requiredRights = ["messages"] as const;

interface CheckedToken {
  index: number;
  token: string;
  fingerprint: string;
  rights: string[];
  groupName: string;
}

export async function checkTokens(
  tokens: readonly string[],
  options: { groupId: number; apiBaseUrl: string; apiVersion: string; timeoutMs: number },
): Promise<CheckedToken[]> {
  const results = await Promise.all(
    tokens.map(async (token, index): Promise<CheckedToken | AppError> => {
      // Without `groupId`, groups.getById answers the token's own community.
      const client = patient(
        new VkClient({
          tokens: [token],
          apiBaseUrl: options.apiBaseUrl,
          apiVersion: options.apiVersion,
          timeoutMs: options.timeoutMs,
        }),
      );
      try {
        const group = await client.getGroup();
        if (group.id !== options.groupId)
          return new AppError("vk_token_wrong_community", {
            index: index + 1,
            actual: group.id,
            groupId: options.groupId,
          });
        const { permissions } = await client.getTokenPermissions();
        const missing = requiredRights.filter((right) => !permissions.includes(right));
        if (missing.length > 0)
          return new AppError("vk_token_rights_missing", { index: index + 1, missing: missing.join(", ") });
        return {
          index,
          token,
          fingerprint: tokenFingerprint(token),
          rights: permissions,
          groupName: group.name,
        };
      } catch (thrown) {
        return classifyVkError(thrown);
      } finally {
        client.close();
      }
    }),
  );
  const failures = results.flatMap((result, index) =>
    result instanceof AppError ? [{ index, result }] : [],
  );
  const first = failures[0];
  if (first) {
    const details: ErrorDetail[] = failures.map(({ index, result }) => ({
      path: `tokens.${index}`,
      code: result.code,
      detail: result.message,
    }));
    throw new AppError(first.result.code, first.result.params, {
      details,
      ...(first.result.retryAfter === undefined ? {} : { retryAfter: first.result.retryAfter }),
      cause: first.result,
    });
  }
  return results as CheckedToken[];
}

/**
 * Community messages (15) and bot features (912), the settings a community token can probe
 * without writing to anyone. Refuses when either is off; returns a warning when the bot
 * features check says nothing either way.
 */
export async function probeCommunity(client: VkClient, groupId: number): Promise<VkNotice[]> {
  // Reading a conversation needs community messages on: 15 when they are off (seed 000).
  await client.call("messages.getConversationsById", { peer_ids: [1], group_id: groupId });
  try {
    // Answering a callback button is a bot feature: 912 when they are off. The event does not
    // exist, so nothing reaches anyone; with bot features on, VK refuses the event id (100).
    await client.call("messages.sendMessageEventAnswer", {
      event_id: `switchboard-probe-${randomBytes(8).toString("hex")}`,
      user_id: 1,
      peer_id: 1,
    });
    return [];
  } catch (thrown) {
    const error = classifyVkError(thrown);
    if (error.code === "vk_bot_features_disabled" || error.entry.class === "auth") throw error;
    if (error.code === "vk_invalid_parameter" || error.code === "vk_not_found") return [];
    return [{ code: "vk_bot_features_unchecked", params: { reason: error.message } }];
  }
}

// ── Tokens dying in operation ────────────────────────────────────────────────

/**
 * What a VkClient's `onTokenInvalid` should call (VK answered 5 or 27 for one token): the token
 * is recorded dead in the credentials, a warning names it, and when no live token is left the
 * channel goes `failing` with the catalogued remedy (create a new token, reconnect), whatever
 * else it was failing for: without a token nothing else can work. Runners in every process are
 * told, so they rebuild their clients.
 */
export async function handleVkTokenInvalid(
  deps: Pick<VkConnectDeps, "store" | "box" | "logger" | "onStateChanged">,
  channelId: string,
  token: VkTokenRef,
  error: AppError,
): Promise<void> {
  const db = deps.store.db;
  const marked = await markTokenDead(db, deps.box, channelId, token.fingerprint);
  if (!marked || (!marked.newlyDead && marked.liveTokens > 0)) return;
  const params = { index: token.index + 1, vkCode: Number(error.params.vkCode ?? 0) || error.code };
  const warnings = vkSettingsSchema
    .parse(marked.channel.settings)
    .warnings.filter((w) => !(w.code === "vk_token_dead" && w.params.index === params.index));
  await mergeChannelSettings(db, channelId, { warnings: [...warnings, { code: "vk_token_dead", params }] });
  const text = describeError(error.code, "en", error.params);
  const failing =
    marked.liveTokens === 0 &&
    (await transitionChannelState(
      db,
      channelId,
      {
        state: "failing",
        reason: `No working access token is left. ${text.message} ${text.remedy}`,
        problem: { code: error.code, params: error.params },
        from: ["online", "connecting", "failing"],
      },
      deps.onStateChanged,
    ));
  deps.logger?.warn(
    { channel_id: channelId, token: token.fingerprint, code: error.code, failing },
    "VK refused a community token",
  );
  await announce(deps);
}
