/**
 * Setting the community up in VK for a channel: the events and API version the hub subscribes
 * with; in callback mode, the community's callback servers reconciled so exactly one points at
 * the channel (the hub's leftovers deleted, foreign ones reported) and its confirmation awaited;
 * in long poll mode, Bots Long Poll switched on and the hub's own callback servers removed.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { AppError } from "../../errors/app-error.ts";
import {
  type ChannelAccount,
  type ConnectionState,
  findChannelAccount,
  mergeChannelSettings,
} from "../../store/repositories/channel-accounts.ts";
import type { VkCallbackServer, VkClient } from "./api.ts";
import { type VkNotice, type VkSettings, vkSettingsSchema } from "./channel.ts";
import { classifyVkError } from "./errors.ts";
import { ignoreNotFound, type VkConnectDeps, type VkConnectTiming } from "./management.ts";

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
  "photo_comment_edit",
  "photo_comment_delete",
  "photo_comment_restore",
  "video_comment_new",
  "video_comment_edit",
  "video_comment_delete",
  "video_comment_restore",
  "board_post_new",
  "board_post_edit",
  "board_post_delete",
  "board_post_restore",
  "market_comment_new",
  "market_comment_edit",
  "market_comment_delete",
  "market_comment_restore",
  "lead_forms_new",
  "group_join",
  "group_leave",
] as const;

const eventFlags = Object.fromEntries(vkHubEvents.map((type) => [type, true]));

/** The title of the hub's callback servers in VK (VK allows 14 characters). */
const vkServerTitle = "Switchboard";
export const vkApiVersion = "5.199";

/** The hub's webhook address of a channel. */
export function vkCallbackUrl(publicUrl: string, channelId: string): string {
  return `${hookPrefix(publicUrl)}${channelId}`;
}

export const hookPrefix = (publicUrl: string) => `${publicUrl.replace(/\/+$/, "")}/hooks/vk/`;

export interface SetupContext {
  deps: VkConnectDeps;
  client: VkClient;
  /** Undefined while a new channel has no row yet. */
  channelId: string | undefined;
  groupId: string;
  previous: VkSettings | undefined;
  timing: VkConnectTiming;
}

export interface SetupOutcome {
  state: ConnectionState;
  problem?: VkNotice;
  warnings: VkNotice[];
}

export async function setUpCallback(
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
export async function prepareLongPoll(context: SetupContext): Promise<{ ts: string; warnings: VkNotice[] }> {
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
export async function foreignWarnings(
  client: VkClient,
  servers: readonly VkCallbackServer[],
): Promise<VkNotice[]> {
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
    await sleep(Math.min(pause, Math.max(0, deadline - Date.now())));
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
