/**
 * groups.*: the community itself, its token's rights, Callback API servers and their settings
 * (reference §1.6), and Bots Long Poll settings and server (§2). Server and settings methods need
 * the `manage` right and the token's own `group_id`.
 */
import { VkApiError } from "../errors.ts";
import { eventTypes } from "../events.ts";
import { type CallbackServer, scopeBits } from "../model.ts";
import { renderGroup } from "../objects.ts";
import {
  type MethodContext,
  type MethodTable,
  type Params,
  requireOwnGroup,
  requireScope,
} from "./context.ts";

const maxServers = 10;

function managed(ctx: MethodContext) {
  requireScope(ctx, "manage");
  return requireOwnGroup(ctx);
}

function server(ctx: MethodContext, required = true): CallbackServer {
  const community = managed(ctx);
  const id = ctx.params.int("server_id", { required, min: 0 });
  const found = id === undefined ? undefined : community.servers.get(id);
  if (!found) throw new VkApiError(104);
  return found;
}

function url(params: Params): string {
  const value = params.requiredString("url");
  try {
    const parsed = new URL(value);
    if (parsed.protocol === "http:" || parsed.protocol === "https:") return value;
  } catch {
    // falls through to the error
  }
  throw new VkApiError(100, "url is invalid");
}

function apiVersion(params: Params): string | undefined {
  const value = params.string("api_version");
  if (value !== undefined && !/^\d+\.\d+$/.test(value)) throw new VkApiError(100, "api_version is invalid");
  return value;
}

/** Applies the `<event>=0|1` flags present in the call. */
function applyFlags(params: Params, events: Set<string>) {
  for (const type of eventTypes) {
    const on = params.bool(type);
    if (on === true) events.add(type);
    if (on === false) events.delete(type);
  }
}

const flags = (events: ReadonlySet<string>) =>
  Object.fromEntries(eventTypes.map((type) => [type, events.has(type) ? 1 : 0]));

const renderServer = (s: CallbackServer) => ({
  id: s.id,
  title: s.title,
  creator_id: s.creatorId,
  url: s.url,
  secret_key: s.secretKey,
  status: s.status,
});

export const groupMethods: MethodTable = {
  /** vk-io's updates.start() reads `response.groups[0].id` (5.199 shape). */
  "groups.getById": (ctx) => {
    const ids = [...ctx.params.list("group_ids"), ...ctx.params.list("group_id")];
    const fields = ctx.params.list("fields");
    const base = ctx.runtime.baseUrl();
    const communities = ids.length === 0 ? [ctx.community] : ids.map((id) => findGroup(ctx, id));
    return { groups: communities.map((c) => renderGroup(c, fields, base)), profiles: [] };
  },

  "groups.getTokenPermissions": (ctx) => {
    const permissions = Object.entries(scopeBits)
      .filter(([name]) => ctx.token.scopes.has(name as keyof typeof scopeBits))
      .map(([name, setting]) => ({ name, setting }));
    return { mask: permissions.reduce((mask, p) => mask | p.setting, 0), permissions };
  },

  "groups.getCallbackConfirmationCode": (ctx) => ({ code: managed(ctx).confirmationCode }),

  "groups.addCallbackServer": (ctx) => {
    const community = managed(ctx);
    const target = url(ctx.params);
    const title = ctx.params.requiredString("title", { maxLength: 14 });
    const secretKey = ctx.params.string("secret_key", { maxLength: 50 }) ?? "";
    if (community.servers.size >= maxServers) throw new VkApiError(2000);
    const added: CallbackServer = {
      id: community.nextServerId++,
      groupId: community.id,
      title,
      url: target,
      secretKey,
      status: "unconfigured",
      creatorId: 0,
      apiVersion: ctx.runtime.options.apiVersion,
      events: new Set(ctx.runtime.options.callback.defaultEvents),
      consecutiveFailures: 0,
    };
    community.servers.set(added.id, added);
    ctx.runtime.callbacks.confirm(added);
    return { server_id: added.id };
  },

  "groups.editCallbackServer": (ctx) => {
    const found = server(ctx);
    found.url = url(ctx.params);
    found.title = ctx.params.requiredString("title", { maxLength: 14 });
    found.secretKey = ctx.params.string("secret_key", { maxLength: 50 }) ?? "";
    found.consecutiveFailures = 0;
    ctx.runtime.callbacks.confirm(found);
    return 1;
  },

  "groups.deleteCallbackServer": (ctx) => {
    const found = server(ctx);
    ctx.runtime.callbacks.cancel(found);
    ctx.community.servers.delete(found.id);
    return 1;
  },

  "groups.getCallbackServers": (ctx) => {
    const community = managed(ctx);
    const wanted = ctx.params.ints("server_ids");
    const items = [...community.servers.values()]
      .filter((s) => wanted.length === 0 || wanted.includes(s.id))
      .map(renderServer);
    return { count: items.length, items };
  },

  "groups.setCallbackSettings": (ctx) => {
    const found = server(ctx);
    const version = apiVersion(ctx.params);
    const events = new Set(found.events);
    applyFlags(ctx.params, events);
    if (version) found.apiVersion = version;
    found.events = events;
    return 1;
  },

  "groups.getCallbackSettings": (ctx) => {
    const found = server(ctx);
    return { api_version: found.apiVersion, events: flags(found.events) };
  },

  "groups.setLongPollSettings": (ctx) => {
    const { longPoll } = managed(ctx);
    const enabled = ctx.params.bool("enabled");
    const version = apiVersion(ctx.params);
    const events = new Set(longPoll.events);
    applyFlags(ctx.params, events);
    if (enabled !== undefined) longPoll.enabled = enabled;
    if (version) longPoll.apiVersion = version;
    longPoll.events = events;
    return 1;
  },

  "groups.getLongPollSettings": (ctx) => {
    const { longPoll } = managed(ctx);
    return { is_enabled: longPoll.enabled, api_version: longPoll.apiVersion, events: flags(longPoll.events) };
  },

  "groups.getLongPollServer": (ctx) => {
    const community = managed(ctx);
    if (!community.longPoll.enabled) throw new VkApiError(100, "longpoll for this group is not enabled.");
    return ctx.runtime.longPoll.issue(community.id);
  },
};

function findGroup(ctx: MethodContext, id: string) {
  const { communities } = ctx.runtime.state;
  const numeric = /^-?\d+$/.test(id) ? Math.abs(Number(id)) : undefined;
  const found =
    numeric !== undefined
      ? communities.get(numeric)
      : [...communities.values()].find((c) => c.screenName === id || `club${c.id}` === id);
  if (!found) throw new VkApiError(100, "group_ids is invalid");
  return found;
}
