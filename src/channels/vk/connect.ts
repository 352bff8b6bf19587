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
 */
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { AppError, describeError, type ErrorDetail } from "../../errors/app-error.ts";
import { catalogue, type ErrorCode } from "../../errors/catalogue.ts";
import type { Store } from "../../store/database.ts";
import {
  type ChannelAccount,
  type ChannelStateChanged,
  type ConnectionState,
  channelsChangedChannel,
  createOrFindChannelAccount,
  deleteChannelAccount,
  findChannelAccount,
  findChannelByExternalId,
  markTokenDead,
  mergeChannelSettings,
  readCredentials,
  requireChannelAccount,
  restoreChannelAccount,
  updateChannelAccount,
} from "../../store/repositories/channel-accounts.ts";
import type { SecretBox } from "../../store/secret-box.ts";
import { tokenFingerprint, type VkCallbackServer, VkClient, type VkTokenRef, vkApiDefaults } from "./api.ts";
import {
  type VkCredentials,
  type VkNotice,
  type VkSettings,
  vkCredentials,
  vkCredentialsSchema,
  vkSettingsSchema,
} from "./channel.ts";
import { classifyVkError } from "./errors.ts";

/** The events the hub handles (src/channels/vk/callback.ts); the same for callback and long poll. */
export const vkHubEvents = [
  "message_new",
  "message_reply",
  "message_edit",
  "message_allow",
  "message_deny",
  "message_read",
  "message_event",
  "wall_reply_new",
  "wall_reply_edit",
  "wall_reply_delete",
  "wall_reply_restore",
  "photo_comment_new",
  "video_comment_new",
  "board_post_new",
  "market_comment_new",
  "lead_forms_new",
  "group_join",
  "group_leave",
] as const;

const eventFlags = Object.fromEntries(vkHubEvents.map((type) => [type, true]));

/** The title of the hub's callback servers in VK (VK allows 14 characters). */
export const vkServerTitle = "Switchboard";
export const vkApiVersion = "5.199";

const requiredRights = ["messages"] as const;
const optionalRights = ["photos", "docs", "wall"] as const;

export type VkMode = "callback" | "long_poll";

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
}

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

/** The hub's webhook address of a channel. */
export function vkCallbackUrl(publicUrl: string, channelId: string): string {
  return `${hookPrefix(publicUrl)}${channelId}`;
}

const hookPrefix = (publicUrl: string) => `${publicUrl.replace(/\/+$/, "")}/hooks/vk/`;

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
      channel = await updateChannelAccount(db, deps.box, existing.id, {
        name,
        credentials,
        settings,
        state: "connecting",
        stateReason: null,
      });
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
        else if (existing) await restoreChannelAccount(db, existing);
        throw error;
      }
    }

    // Final state, warnings and problem; `mergeChannelSettings` keeps what setup stored meanwhile.
    await mergeChannelSettings(db, channel.id, {
      warnings: [...warnings, ...outcome.warnings],
      ...(outcome.problem ? { problem: outcome.problem } : {}),
    });
    const fresh = await updateChannelAccount(db, deps.box, channel.id, {
      state: outcome.state,
      stateReason: outcome.problem ? reasonText(outcome.problem) : null,
    });
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
  const disconnected = await updateChannelAccount(db, deps.box, id, {
    credentials: null,
    settings: { ...rest, warnings },
    state: "disabled",
    stateReason:
      "Disconnected through the API: the tokens are forgotten. Connect the community again with POST /v1/channels.",
  });
  await announce(deps);
  deps.logger?.info({ channel_id: id, warnings: warnings.length }, "VK community disconnected");
  return disconnected;
}

// ── Token checks ─────────────────────────────────────────────────────────────

interface CheckedToken {
  index: number;
  token: string;
  fingerprint: string;
  rights: string[];
  groupName: string;
}

async function checkTokens(
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
async function probeCommunity(client: VkClient, groupId: number): Promise<VkNotice[]> {
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

// ── Setting the community up ─────────────────────────────────────────────────

interface SetupContext {
  deps: VkConnectDeps;
  client: VkClient;
  /** Undefined while a new channel has no row yet. */
  channelId: string | undefined;
  groupId: string;
  previous: VkSettings | undefined;
  timing: VkConnectTiming;
}

interface SetupOutcome {
  state: ConnectionState;
  problem?: VkNotice;
  warnings: VkNotice[];
}

async function setUpCallback(
  context: SetupContext & { channelId: string },
  secret: string,
): Promise<SetupOutcome> {
  const { deps, client, previous } = context;
  const db = deps.store.db;
  const channel = { id: context.channelId, externalId: context.groupId };
  const url = vkCallbackUrl(deps.publicUrl as string, channel.id);
  // VK sends the confirmation request as soon as a server is added or edited; the code must be
  // where the hook reads it first (the hook rereads the channel for confirmations).
  const code = await client.getCallbackConfirmationCode();
  await mergeChannelSettings(db, channel.id, { confirmationCode: code, callbackUrl: url });

  const servers = await client.getCallbackServers();
  const sorted = await sortServers(context, servers, url);
  for (const server of sorted.stale) await client.deleteCallbackServer(server.id).catch(ignoreNotFound);

  let serverId: number;
  const own = sorted.own;
  if (own) {
    serverId = own.id;
    if (
      own.url !== url ||
      own.title !== vkServerTitle ||
      (own.secretKey ?? "") !== secret ||
      own.status !== "ok"
    )
      await client.editCallbackServer({ serverId, url, title: vkServerTitle, secretKey: secret });
  } else {
    try {
      serverId = await client.addCallbackServer({ url, title: vkServerTitle, secretKey: secret });
    } catch (thrown) {
      const error = classifyVkError(thrown);
      if (error.code !== "vk_callback_servers_limit") throw error;
      // Name the servers taking the places: the admin deletes the unused ones (seed 000).
      const remaining = servers.filter((s) => !sorted.stale.includes(s));
      throw new AppError(error.code, error.params, {
        cause: error,
        details: remaining.map((s) => ({
          path: `callback_servers.${s.id}`,
          code: "callback_server",
          detail: `“${s.title}” ${s.url} (${s.status})`,
        })),
      });
    }
  }
  await client.setCallbackSettings(serverId, { apiVersion: vkApiVersion, events: eventFlags });
  await mergeChannelSettings(db, channel.id, { callbackServerId: serverId }, ["longPollTs"]);

  const warnings = await foreignWarnings(client, sorted.others);
  if (previous?.mode === "long_poll") {
    await client.setLongPollSettings({ enabled: false });
  } else {
    const longPoll = await client.call<{ is_enabled?: unknown }>("groups.getLongPollSettings", {
      group_id: channel.externalId,
    });
    if (longPoll.is_enabled === true || longPoll.is_enabled === 1)
      warnings.push({ code: "vk_long_poll_enabled_elsewhere", params: {} });
  }

  const status = await awaitServerStatus(client, serverId, context.timing);
  if (status === "ok") return { state: "online", warnings };
  if (status === "failed")
    return { state: "failing", problem: { code: "vk_callback_server_failed", params: { url } }, warnings };
  if (status === "missing")
    return {
      state: "failing",
      problem: { code: "vk_callback_server_missing", params: { serverId } },
      warnings,
    };
  return {
    state: "connecting",
    problem: { code: "vk_callback_server_unconfirmed", params: { url, status } },
    warnings,
  };
}

/**
 * Long poll mode: Bots Long Poll on with the hub's events, the hub's own callback servers removed
 * (they would deliver every event a second time), and a first `getLongPollServer` proving it
 * works and giving the position to start from.
 */
async function prepareLongPoll(context: SetupContext): Promise<{ ts: string; warnings: VkNotice[] }> {
  const { client } = context;
  await client.setLongPollSettings({ enabled: true, apiVersion: vkApiVersion, events: eventFlags });
  const servers = await client.getCallbackServers();
  const sorted = await sortServers(context, servers, undefined);
  const mine = [...(sorted.own ? [sorted.own] : []), ...sorted.stale];
  for (const server of mine) await client.deleteCallbackServer(server.id).catch(ignoreNotFound);
  const warnings = await foreignWarnings(client, sorted.others);
  const server = await client.getLongPollServer();
  return { ts: server.ts, warnings };
}

interface SortedServers {
  /** The hub's server of this channel, to reuse. */
  own: VkCallbackServer | undefined;
  /** Servers the hub created before that nothing uses: deleted. */
  stale: VkCallbackServer[];
  /** Everything else: reported when it receives the same events. */
  others: VkCallbackServer[];
}

/**
 * Which of the community's callback servers are this channel's, which are the hub's leftovers,
 * and which belong to someone else. A server under the hub's hook address whose channel is
 * another live channel of this community (another workspace) is someone else's too.
 */
async function sortServers(
  context: SetupContext,
  servers: readonly VkCallbackServer[],
  url: string | undefined,
): Promise<SortedServers> {
  const { deps, channelId, previous } = context;
  const ownUrls = new Set(
    [
      url,
      previous?.callbackUrl,
      deps.publicUrl && channelId ? vkCallbackUrl(deps.publicUrl, channelId) : undefined,
    ].filter((u): u is string => u !== undefined),
  );
  const prefixes = [
    deps.publicUrl ? hookPrefix(deps.publicUrl) : undefined,
    previous?.callbackUrl?.replace(/[^/]+$/, ""),
  ].filter((p): p is string => p !== undefined);
  const sorted: SortedServers = { own: undefined, stale: [], others: [] };
  const byUrl = servers.filter((s) => ownUrls.has(s.url));
  sorted.own =
    byUrl.find((s) => s.id === previous?.callbackServerId) ??
    byUrl[0] ??
    servers.find((s) => s.id === previous?.callbackServerId);
  for (const server of servers) {
    if (server === sorted.own) continue;
    if (ownUrls.has(server.url)) {
      sorted.stale.push(server); // a second server pointing at this channel: duplicates
      continue;
    }
    const prefix = prefixes.find((p) => server.url.startsWith(p));
    if (prefix && !(await isLiveSibling(context, server.url.slice(prefix.length)))) {
      sorted.stale.push(server);
      continue;
    }
    sorted.others.push(server);
  }
  return sorted;
}

/** Another channel of this hub that receives this community's events through its own server. */
async function isLiveSibling(context: SetupContext, rest: string): Promise<boolean> {
  const id = rest.split(/[/?#]/, 1)[0] ?? "";
  if (id === context.channelId) return false;
  const other = await findChannelAccount(context.deps.store.db, id);
  if (other?.kind !== "vk" || other.externalId !== context.groupId) return false;
  if (other.state === "disabled" || other.credentials === null) return false;
  return vkSettingsSchema.parse(other.settings).mode === "callback";
}

/** Foreign servers subscribed to any event the hub handles: the usual cause of duplicates. */
async function foreignWarnings(client: VkClient, servers: readonly VkCallbackServer[]): Promise<VkNotice[]> {
  const warnings: VkNotice[] = [];
  for (const server of servers) {
    let events: string[];
    try {
      const settings = await client.call<{ events?: Record<string, unknown> }>("groups.getCallbackSettings", {
        group_id: client.groupId,
        server_id: server.id,
      });
      events = vkHubEvents.filter((type) => {
        const flag = settings.events?.[type];
        return flag === 1 || flag === true;
      });
      if (events.length === 0) continue;
    } catch {
      events = ["events"]; // its settings are unreadable: name it anyway, it may deliver anything
    }
    warnings.push({
      code: "vk_foreign_callback_server",
      params: { title: server.title, url: server.url, events: events.join(", "), serverId: server.id },
    });
  }
  return warnings;
}

type ServerStatus = VkCallbackServer["status"] | "missing";

/** Polls the server's status until VK has confirmed it (`ok`), given up on it (`failed`), or time runs out. */
async function awaitServerStatus(
  client: VkClient,
  serverId: number,
  timing: VkConnectTiming,
): Promise<ServerStatus> {
  const deadline = Date.now() + timing.confirmTimeoutMs;
  let pause = timing.confirmPollMs;
  for (;;) {
    const status = await serverStatus(client, serverId);
    if (status === "ok" || status === "failed" || status === "missing" || Date.now() >= deadline)
      return status;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pause, Math.max(0, deadline - Date.now()))));
    pause = Math.min(1000, pause * 1.5);
  }
}

export async function serverStatus(client: VkClient, serverId: number): Promise<ServerStatus> {
  const [server] = (await client.getCallbackServers([serverId])).filter((s) => s.id === serverId);
  return server ? server.status : "missing";
}

/**
 * Asks VK to confirm the channel's callback server again (a `failed` server stays failed until
 * it is edited): a fresh confirmation code first, then the edit, which starts the handshake.
 */
export async function reconfirmCallbackServer(
  deps: Pick<VkConnectDeps, "store">,
  client: VkClient,
  channel: ChannelAccount,
  secret: string,
): Promise<void> {
  const settings = vkSettingsSchema.parse(channel.settings);
  if (settings.callbackServerId === undefined || !settings.callbackUrl) return;
  const code = await client.getCallbackConfirmationCode();
  await mergeChannelSettings(deps.store.db, channel.id, { confirmationCode: code });
  await client.editCallbackServer({
    serverId: settings.callbackServerId,
    url: settings.callbackUrl,
    title: vkServerTitle,
    secretKey: secret,
  });
}

// ── Tokens dying in operation ────────────────────────────────────────────────

/**
 * What a VkClient's `onTokenInvalid` should call (VK answered 5 or 27 for one token): the token
 * is recorded dead in the credentials, a warning names it, and when no live token is left the
 * channel goes `failing` with the catalogued remedy (create a new token, reconnect). Runners in
 * every process are told, so they rebuild their clients.
 */
export async function handleVkTokenInvalid(
  deps: Pick<VkConnectDeps, "store" | "box" | "logger"> & { onStateChanged?: ChannelStateChanged },
  channelId: string,
  token: VkTokenRef,
  error: AppError,
): Promise<void> {
  const db = deps.store.db;
  const before = await findChannelAccount(db, channelId);
  const updated = await markTokenDead(db, deps.box, channelId, token.fingerprint, error);
  if (!updated) return;
  const params = { index: token.index + 1, vkCode: Number(error.params.vkCode ?? 0) || error.code };
  const warnings = vkSettingsSchema
    .parse(updated.settings)
    .warnings.filter((w) => !(w.code === "vk_token_dead" && w.params.index === params.index));
  const failingNow = updated.state === "failing" && before?.state !== "failing";
  await mergeChannelSettings(db, channelId, {
    warnings: [...warnings, { code: "vk_token_dead", params }],
    ...(failingNow ? { problem: { code: error.code, params: error.params } } : {}),
  });
  deps.logger?.warn(
    { channel_id: channelId, token: token.fingerprint, code: error.code, failing: failingNow },
    "VK refused a community token",
  );
  if (failingNow && before) await deps.onStateChanged?.(db, before.state, updated);
  await announce(deps);
}

// ── Helpers ──────────────────────────────────────────────────────────────────

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

/** The channel's sealed VK credentials, parsed. */
export function readVkCredentials(box: SecretBox, channel: ChannelAccount): VkCredentials {
  return vkCredentialsSchema.parse(readCredentials(box, channel));
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
function patient(client: VkClient): VkClient {
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
            await new Promise((resolve) => setTimeout(resolve, pause));
          }
        }
      };
    },
  });
}

function ignoreNotFound(thrown: unknown): void {
  const error = classifyVkError(thrown);
  if (error.code !== "vk_not_found") throw error;
}

async function announce(deps: Pick<VkConnectDeps, "store" | "logger">): Promise<void> {
  await deps.store
    .notify(channelsChangedChannel)
    .catch((error) => deps.logger?.warn({ err: error }, "could not tell the channel runners"));
}

// ── Diagnostics (switchboard doctor) ─────────────────────────────────────────

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
