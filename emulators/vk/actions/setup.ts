/**
 * Setting the world up: communities with their settings and tokens, users, the confirmation code,
 * and a callback server's status. These are the administrator's and VK's own moves, never the
 * adapter's, so they live here and not in the API.
 */
import { allScopes, type ClientInfo, type Scope, type ServerStatus } from "../model.ts";
import type { Runtime } from "../runtime.ts";
import { type CommunityInput, ControlError, hex, type UserInput } from "../state.ts";
import { communityView, serverView, tokenView, userView } from "./views.ts";

export interface CommunityPatch {
  name?: string;
  screenName?: string;
  messagesEnabled?: boolean;
  botFeatures?: boolean;
  wallLinksForbidden?: boolean;
  longPoll?: { enabled?: boolean; apiVersion?: string; events?: string[] };
}

export interface UserPatch {
  firstName?: string;
  lastName?: string;
  clientInfo?: Partial<ClientInfo>;
  allowsMessages?: boolean;
  deactivated?: "deleted" | "banned" | null;
}

export interface ServerPatch {
  status?: ServerStatus;
  /** The code this server's handshake expects (VK's code may differ per server, §1.2). */
  confirmationCode?: string | null;
  /** Run the confirmation handshake again. */
  reconfirm?: boolean;
}

export function setupActions(runtime: Runtime) {
  const { state } = runtime;
  const view = (groupId: number) => communityView(state.community(groupId), state.tokensOf(groupId));

  return {
    /** A community and its tokens (default: one token with every right). */
    createCommunity(input: CommunityInput = {}) {
      const { community } = state.createCommunity(input);
      return view(community.id);
    },

    communities() {
      return [...state.communities.keys()].map(view);
    },

    community(groupId: number) {
      return view(groupId);
    },

    updateCommunity(groupId: number, patch: CommunityPatch) {
      const community = state.community(groupId);
      if (patch.name !== undefined) community.name = patch.name;
      if (patch.screenName !== undefined) community.screenName = patch.screenName;
      if (patch.messagesEnabled !== undefined) community.messagesEnabled = patch.messagesEnabled;
      if (patch.botFeatures !== undefined) community.botFeatures = patch.botFeatures;
      if (patch.wallLinksForbidden !== undefined) community.wallLinksForbidden = patch.wallLinksForbidden;
      const lp = patch.longPoll;
      if (lp?.enabled !== undefined) community.longPoll.enabled = lp.enabled;
      if (lp?.apiVersion !== undefined) community.longPoll.apiVersion = lp.apiVersion;
      if (lp?.events !== undefined) community.longPoll.events = new Set(lp.events);
      return view(groupId);
    },

    addToken(groupId: number, scopes: readonly Scope[] = allScopes, value?: string) {
      return tokenView(state.addToken(groupId, scopes, value));
    },

    /** "Deleting the access key" in the community settings. */
    revokeToken(value: string) {
      const token = state.tokens.get(value);
      if (!token) throw new ControlError(404, "no such token");
      token.revoked = true;
      return tokenView(token);
    },

    /** A new confirmation code (given or random 8 hex); "the confirmation string changes" (§1.2). */
    setConfirmationCode(groupId: number, code?: string) {
      const community = state.community(groupId);
      community.confirmationCode = code ?? hex(4);
      return { code: community.confirmationCode };
    },

    updateServer(groupId: number, serverId: number, patch: ServerPatch) {
      const server = state.community(groupId).servers.get(serverId);
      if (!server) throw new ControlError(404, `no server ${serverId} in community ${groupId}`);
      if (patch.confirmationCode === null) delete server.confirmationCode;
      else if (patch.confirmationCode !== undefined) server.confirmationCode = patch.confirmationCode;
      if (patch.status !== undefined) {
        runtime.callbacks.cancel(server);
        server.status = patch.status;
        server.consecutiveFailures = 0;
      }
      if (patch.reconfirm) runtime.callbacks.confirm(server);
      return serverView(server);
    },

    createUser(input: UserInput = {}) {
      return userView(state.createUser(input));
    },

    users() {
      return [...state.users.values()].map(userView);
    },

    updateUser(userId: number, patch: UserPatch) {
      const user = state.user(userId);
      if (patch.firstName !== undefined) user.firstName = patch.firstName;
      if (patch.lastName !== undefined) user.lastName = patch.lastName;
      if (patch.clientInfo !== undefined) user.clientInfo = { ...user.clientInfo, ...patch.clientInfo };
      if (patch.allowsMessages !== undefined) user.allowsMessagesByDefault = patch.allowsMessages;
      if (patch.deactivated === null) delete user.deactivated;
      else if (patch.deactivated !== undefined) user.deactivated = patch.deactivated;
      return userView(user);
    },
  };
}
