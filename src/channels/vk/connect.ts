/**
 * Connecting a VK community: the checks, the community's setup in VK, and undoing it.
 *
 * `connectVkChannel` (POST /v1/channels, and PATCH when tokens or mode change):
 * 1. each token: its community (`groups.getById` without ids answers the token's own) must be
 *    `group_id`, and its rights (`groups.getTokenPermissions`) must include `messages`; at least
 *    one token must have `manage`, which the Callback API and Long Poll settings need. Missing
 *    photos/docs/wall rights and a single token are warnings, not refusals (seed 000);
 * 2. the community's settings, as far as the API lets a community token see them: community
 *    messages off answer 15 to `messages.getConversationsById`; bot features off answer 912 to
 *    `messages.sendMessageEventAnswer` for an event that does not exist (checked before the
 *    event by the emulator; VK's own order is not documented, so any other answer leaves the
 *    check inconclusive and only warns);
 * 3. long poll mode: Bots Long Poll is enabled with the hub's events, the hub's own callback
 *    servers are removed, and a first `getLongPollServer` proves it works and gives the `ts` to
 *    start from; all before the row below exists, so no runner can start polling from later on;
 * 4. the channel row (created, or the workspace's existing one for this community: reconnecting
 *    is idempotent) gets the tokens and a per-channel callback secret, sealed;
 * 5. callback mode: the confirmation code is fetched and stored before any server is added or
 *    edited (VK confirms at once); the community's servers are reconciled so exactly one points
 *    at `${publicUrl}/hooks/vk/<channel id>`: the hub's own server is reused or edited, stale
 *    servers under the hub's hook address are deleted, foreign ones are reported, never deleted;
 *    events and API version are set; then the server's status is awaited (`ok` → online,
 *    `failed` → failing with the remedy).
 * A refused connect leaves nothing behind: a new row is deleted, an existing one restored.
 * Steps 1 and 2 are in tokens.ts, steps 3 and 5 in community-setup.ts.
 */
import { randomBytes } from "node:crypto";
import { AppError } from "../../errors/app-error.ts";
import {
  type ChannelAccount,
  type ChannelProblem,
  createOrFindChannelAccount,
  deleteChannelAccount,
  findChannelByExternalId,
  mergeChannelSettings,
  requireChannelAccount,
  restoreChannelAccount,
  transitionChannelState,
  updateChannelAccount,
} from "../../store/repositories/channel-accounts.ts";
import { connectionStates } from "../../store/schema.ts";
import { tokenFingerprint, VkClient, vkApiDefaults } from "./api.ts";
import { type VkCredentials, type VkNotice, vkCredentials, vkSettingsSchema } from "./channel.ts";
import {
  prepareLongPoll,
  type SetupContext,
  type SetupOutcome,
  setUpCallback,
  vkApiVersion,
  vkCallbackUrl,
} from "./community-setup.ts";
import { classifyVkError } from "./errors.ts";
import {
  announce,
  ignoreNotFound,
  managementClient,
  patient,
  reasonText,
  type VkConnectDeps,
  vkConnectDefaults,
} from "./management.ts";
import { checkTokens, probeCommunity } from "./tokens.ts";

const optionalRights = ["photos", "docs", "wall"] as const;

export type VkMode = "callback" | "long_poll";

export interface VkConnectInput {
  workspaceId: string;
  groupId: number;
  tokens: readonly string[];
  name?: string | undefined;
  mode?: VkMode | undefined;
  apiBaseUrl?: string | undefined;
  textLimit?: number | undefined;
}

export interface VkConnectResult {
  channel: ChannelAccount;
  /** False when the workspace had this community already (a reconnect). */
  created: boolean;
}

/** A new secret for VK to send with every event (≤ 50 characters, VK's limit). */
const newCallbackSecret = () => randomBytes(24).toString("base64url");

// ── Connect ──────────────────────────────────────────────────────────────────

export async function connectVkChannel(deps: VkConnectDeps, input: VkConnectInput): Promise<VkConnectResult> {
  const timing = { ...vkConnectDefaults, ...deps.timing };
  const publicUrl = deps.publicUrl;
  const mode: VkMode = input.mode ?? (publicUrl ? "callback" : "long_poll");
  if (mode === "callback" && !publicUrl) throw new AppError("vk_public_url_missing");
  const groupId = input.groupId;
  const db = deps.store.db;
  const existing = await findChannelByExternalId(db, input.workspaceId, "vk", String(groupId));
  const previousSettings = existing ? vkSettingsSchema.parse(existing.settings) : undefined;
  const apiBaseUrl = input.apiBaseUrl ?? previousSettings?.apiBaseUrl ?? vkApiDefaults.apiBaseUrl;
  const apiVersion = vkApiVersion;
  const tokens = [...new Set(input.tokens.map((t) => t.trim()))];

  // 1. Tokens, 2. the community's settings: nothing is stored until they pass.
  const checked = await checkTokens(tokens, {
    groupId,
    apiBaseUrl,
    apiVersion,
    timeoutMs: timing.callTimeoutMs,
  });
  const warnings: VkNotice[] = [];
  if (tokens.length === 1) warnings.push({ code: "vk_single_token", params: {} });
  for (const token of checked) {
    const missing = optionalRights.filter((right) => !token.rights.includes(right));
    if (missing.length > 0)
      warnings.push({
        code: "vk_token_rights_limited",
        params: { index: token.index + 1, missing: missing.join(", ") },
      });
  }
  const managing = checked.filter((token) => token.rights.includes("manage"));
  if (managing.length === 0) throw new AppError("vk_manage_right_missing");
  const everyToken = patient(
    new VkClient({ tokens, groupId, apiBaseUrl, apiVersion, timeoutMs: timing.callTimeoutMs }),
  );
  try {
    warnings.push(...(await probeCommunity(everyToken, groupId)));
  } finally {
    everyToken.close();
  }

  const client = patient(
    new VkClient({
      tokens: managing.map((t) => t.token),
      groupId,
      apiBaseUrl,
      apiVersion,
      timeoutMs: timing.callTimeoutMs,
    }),
  );
  try {
    const previousCredentials = existing ? vkCredentials(deps.box, existing) : undefined;
    const credentials: VkCredentials = {
      tokens,
      callbackSecret: previousCredentials?.callbackSecret ?? newCallbackSecret(),
      deadTokens: [],
    };
    const context: SetupContext = {
      deps,
      client,
      channelId: existing?.id,
      groupId: String(groupId),
      previous: previousSettings,
      timing,
    };
    // 3. Long poll mode: enabled, and its position taken, before the channel row exists in a form
    // a runner would start polling (a runner that came first would start from a later `ts`).
    // 4. Then the row, with what VK's confirmation request needs (the secret) in place.
    const prepared = mode === "long_poll" ? await prepareLongPoll(context) : undefined;
    // Keys other modules keep in the settings survive a reconnect.
    const settings: Record<string, unknown> = {
      ...existing?.settings,
      mode,
      apiBaseUrl,
      apiVersion,
      ...(input.textLimit === undefined ? {} : { textLimit: input.textLimit }),
      tokenRights: checked.map((t) => ({ fingerprint: t.fingerprint, rights: t.rights })),
      warnings: [],
    };
    delete settings.problem;
    if (prepared) {
      settings.longPollTs = previousSettings?.longPollTs ?? prepared.ts;
      delete settings.callbackServerId;
      delete settings.callbackUrl;
    }
    const name = input.name ?? existing?.name ?? (checked[0]?.groupName || `VK community ${groupId}`);
    let channel: ChannelAccount;
    let created = false;
    if (existing) {
      // The state through the locked transition that tells the change; then the new tokens and
      // settings. A failure below puts both back.
      await transitionChannelState(
        db,
        existing.id,
        { state: "connecting", reason: null, problem: null, from: connectionStates },
        deps.onStateChanged,
      );
      channel = await updateChannelAccount(db, deps.box, existing.id, { name, credentials, settings });
    } else {
      ({ channel, created } = await createOrFindChannelAccount(db, deps.box, {
        workspaceId: input.workspaceId,
        kind: "vk",
        externalId: String(groupId),
        name,
        credentials,
        settings,
      }));
      if (!created) {
        // A concurrent connect of the same community created it first: connect over it.
        channel = await updateChannelAccount(db, deps.box, channel.id, { name, credentials, settings });
      }
    }

    // 5. Callback mode: the community's servers, now that the channel's address exists.
    let outcome: SetupOutcome = { state: "online", warnings: prepared?.warnings ?? [] };
    if (mode === "callback") {
      try {
        outcome = await setUpCallback(
          { ...context, channelId: channel.id },
          credentials.callbackSecret as string,
        );
      } catch (thrown) {
        const error = classifyVkError(thrown);
        if (created) await deleteChannelAccount(db, channel.id);
        else if (existing) {
          await restoreChannelAccount(db, existing);
          await transitionChannelState(
            db,
            existing.id,
            {
              state: existing.state,
              reason: existing.stateReason,
              problem: (existing.settings.problem as ChannelProblem | undefined) ?? null,
              from: connectionStates,
            },
            deps.onStateChanged,
          );
        }
        throw error;
      }
    }

    // Final warnings, state and problem; `mergeChannelSettings` keeps what setup stored meanwhile.
    // Connecting decides the state whatever it is now; the change is told against the state just
    // before, which VK's confirmation may have set meanwhile.
    await mergeChannelSettings(db, channel.id, { warnings: [...warnings, ...outcome.warnings] });
    await transitionChannelState(
      db,
      channel.id,
      {
        state: outcome.state,
        reason: outcome.problem ? reasonText(outcome.problem) : null,
        problem: outcome.problem ?? null,
        from: connectionStates,
      },
      deps.onStateChanged,
    );
    const fresh = await requireChannelAccount(db, input.workspaceId, channel.id);
    await announce(deps);
    deps.logger?.info(
      {
        channel_id: fresh.id,
        group_id: groupId,
        mode,
        state: fresh.state,
        warnings: outcome.warnings.length,
      },
      created ? "VK community connected" : "VK community reconnected",
    );
    return { channel: fresh, created };
  } finally {
    client.close();
  }
}

export interface VkChannelPatch {
  tokens?: readonly string[] | undefined;
  name?: string | undefined;
  mode?: VkMode | undefined;
  apiBaseUrl?: string | undefined;
  textLimit?: number | undefined;
}

/**
 * PATCH: a new name or text limit is stored as is; new tokens, mode or API address run the whole
 * connect again (checks included), with the channel's working tokens when none are given.
 */
export async function updateVkChannel(
  deps: VkConnectDeps,
  workspaceId: string,
  id: string,
  patch: VkChannelPatch,
): Promise<ChannelAccount> {
  const db = deps.store.db;
  const channel = await requireChannelAccount(db, workspaceId, id);
  const settings = vkSettingsSchema.parse(channel.settings);
  const reconnect = patch.tokens !== undefined || patch.mode !== undefined || patch.apiBaseUrl !== undefined;
  if (channel.kind !== "vk" || !reconnect) {
    if (patch.name === undefined && patch.textLimit === undefined) return channel;
    const updated = await updateChannelAccount(db, deps.box, id, {
      ...(patch.name === undefined ? {} : { name: patch.name }),
      ...(patch.textLimit === undefined || channel.kind !== "vk"
        ? {}
        : { settings: { ...channel.settings, textLimit: patch.textLimit } }),
    });
    return updated;
  }
  const credentials = vkCredentials(deps.box, channel);
  const dead = new Set(credentials.deadTokens);
  const tokens = patch.tokens ?? credentials.tokens.filter((token) => !dead.has(tokenFingerprint(token)));
  if (tokens.length === 0) throw new AppError("vk_no_tokens");
  const { channel: connected } = await connectVkChannel(deps, {
    workspaceId,
    groupId: Number(channel.externalId),
    tokens,
    name: patch.name ?? channel.name,
    mode: patch.mode ?? settings.mode,
    apiBaseUrl: patch.apiBaseUrl ?? settings.apiBaseUrl,
    textLimit: patch.textLimit,
  });
  return connected;
}

// ── Disconnect ───────────────────────────────────────────────────────────────

/**
 * DELETE: removes the hub's callback server from the community and switches Long Poll off (when
 * the channel used it), then forgets the tokens and leaves the channel `disabled`. The row and
 * its conversations stay (deleting it would delete the history); `POST /v1/channels` with the
 * same community connects it again. VK failures do not block it: they become a warning saying
 * what to remove by hand.
 */
export async function disconnectVkChannel(
  deps: VkConnectDeps,
  workspaceId: string,
  id: string,
): Promise<ChannelAccount> {
  const db = deps.store.db;
  const channel = await requireChannelAccount(db, workspaceId, id);
  const warnings: VkNotice[] = [];
  if (channel.kind === "vk" && channel.credentials !== null) {
    const settings = vkSettingsSchema.parse(channel.settings);
    const credentials = vkCredentials(deps.box, channel);
    const managing = managementClient(channel, settings, credentials, {
      ...vkConnectDefaults,
      ...deps.timing,
    });
    const client = managing && patient(managing);
    try {
      if (!client) throw new AppError("vk_no_tokens");
      const ours = new Set(
        [settings.callbackUrl, deps.publicUrl ? vkCallbackUrl(deps.publicUrl, id) : undefined].filter(
          (url): url is string => url !== undefined,
        ),
      );
      for (const server of await client.getCallbackServers()) {
        if (ours.has(server.url) || server.id === settings.callbackServerId)
          await client.deleteCallbackServer(server.id).catch(ignoreNotFound);
      }
      if (settings.mode === "long_poll") await client.setLongPollSettings({ enabled: false });
    } catch (thrown) {
      const error = classifyVkError(thrown);
      warnings.push({ code: "vk_disconnect_incomplete", params: { reason: error.message, channelId: id } });
    } finally {
      client?.close();
    }
  }
  const rest = { ...channel.settings };
  for (const key of [
    "confirmationCode",
    "callbackServerId",
    "callbackUrl",
    "longPollTs",
    "tokenRights",
    "problem",
  ])
    delete rest[key];
  // Disabled first: whoever reads the row meanwhile sees it disabled, never online without tokens.
  await transitionChannelState(
    db,
    id,
    {
      state: "disabled",
      reason:
        "Disconnected through the API: the tokens are forgotten. Connect the community again with POST /v1/channels.",
      problem: null,
      from: connectionStates,
    },
    deps.onStateChanged,
  );
  const disconnected = await updateChannelAccount(db, deps.box, id, {
    credentials: null,
    settings: { ...rest, warnings },
  });
  await announce(deps);
  deps.logger?.info({ channel_id: id, warnings: warnings.length }, "VK community disconnected");
  return disconnected;
}
