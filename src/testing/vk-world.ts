/**
 * A VK world for the send suites: a community on the VK emulator, the hub's channel pointing at
 * it (created directly, as connecting would leave it), clients that are VK users with a contact
 * and a direct conversation, and a relay that delivers the emulator's events to the hub's webhook
 * as VK's Callback API would, then lets an intake worker process them.
 */
import assert from "node:assert/strict";
import { after, before } from "node:test";
import { startVkEmulator, type VkEmulator } from "../../emulators/vk/server.ts";
import type { IntakeWorker } from "../pipeline/intake/worker.ts";
import { type ChannelAccount, createChannelAccount } from "../store/repositories/channel-accounts.ts";
import { type ContactWithIdentities, createContact } from "../store/repositories/contacts.ts";
import { type Conversation, createConversation } from "../store/repositories/conversations.ts";
import { createTestHub, type TestHub } from "./hub.ts";
import type { StoreKind } from "./stores.ts";

export const vkTestSecret = "s3cr3t";

/**
 * A store of `kind`, a test hub over it and a VK emulator, opened before the suite's tests and
 * closed after them: what an intake suite runs on. Its fields are there once the tests run.
 */
export function vkTestbed(kind: StoreKind) {
  const bed = {} as { store: Awaited<ReturnType<StoreKind["open"]>>; hub: TestHub; vk: VkEmulator };
  before(async () => {
    bed.store = await kind.open();
    bed.hub = await createTestHub(bed.store);
    bed.vk = await startVkEmulator();
  });
  after(async () => {
    await bed.vk.close();
    await bed.store.drop();
  });
  return bed;
}

export interface VkWorld {
  vk: VkEmulator;
  groupId: number;
  channel: ChannelAccount;
  /** The community's token values, in the channel's order. */
  tokens: string[];
}

export interface VkClient {
  userId: number;
  contact: ContactWithIdentities;
  conversation: Conversation;
}

/** A community with `tokens` tokens and the hub channel of `workspaceId` connected to it. */
export async function vkWorld(
  hub: TestHub,
  vk: VkEmulator,
  options: { workspaceId?: string; tokens?: number; settings?: Record<string, unknown> } = {},
): Promise<VkWorld> {
  const community = vk.control.createCommunity({
    name: "Shop",
    tokens: Array.from({ length: options.tokens ?? 1 }, () => ({})),
  });
  const tokens = community.tokens.map((t) => t.value);
  const channel = await createChannelAccount(hub.store.db, hub.box, {
    workspaceId: options.workspaceId ?? hub.admin.workspaceId,
    kind: "vk",
    externalId: String(community.id),
    name: community.name,
    credentials: { tokens, callbackSecret: vkTestSecret },
    settings: { apiBaseUrl: vk.apiBaseUrl, mode: "callback", ...options.settings },
  });
  return { vk, groupId: community.id, channel, tokens };
}

/**
 * A VK channel of the hub's first workspace for community `groupId`, with no emulator behind it:
 * for suites that post Callback API events to the hub themselves.
 */
export function vkTestChannel(hub: TestHub, groupId: number, secret = vkTestSecret): Promise<ChannelAccount> {
  return createChannelAccount(hub.store.db, hub.box, {
    workspaceId: hub.admin.workspaceId,
    kind: "vk",
    externalId: String(groupId),
    name: "Test community",
    credentials: { tokens: ["vk1.a.token"], callbackSecret: secret },
    settings: { confirmationCode: "ab12cd34" },
  });
}

/** A VK user (allowing the community's messages unless told) as a contact with a direct conversation. */
export async function vkClient(
  hub: TestHub,
  world: VkWorld,
  options: { allowsMessages?: boolean; name?: string } = {},
): Promise<VkClient> {
  const user = world.vk.control.createUser({
    firstName: options.name ?? "Anna",
    allowsMessages: options.allowsMessages ?? true,
  });
  const contact = await createContact(hub.store.db, world.channel.workspaceId, {
    name: `${user.firstName} ${user.lastName}`,
    identities: [{ channelKind: "vk", externalId: String(user.id) }],
  });
  const conversation = await createConversation(hub.store.db, {
    workspaceId: world.channel.workspaceId,
    channelAccountId: world.channel.id,
    contactId: contact.id,
    kind: "direct",
  });
  return { userId: user.id, contact, conversation };
}

/**
 * Delivers the community's events the hub has not had yet to `POST /hooks/vk/{channel}` (as a
 * callback server would), then lets `worker` process everything stored, follow-ups included.
 */
export function vkRelay(hub: TestHub, world: VkWorld, worker: IntakeWorker) {
  const delivered = new Set<string>();
  return async function relay(): Promise<void> {
    for (const event of world.vk.control.events({ groupId: world.groupId })) {
      if (delivered.has(event.eventId)) continue;
      delivered.add(event.eventId);
      const res = await hub.request("POST", `/hooks/vk/${world.channel.id}`, {
        key: null,
        rawBody: JSON.stringify({
          type: event.type,
          event_id: event.eventId,
          v: "5.199",
          object: event.object,
          group_id: event.groupId,
          secret: vkTestSecret,
        }),
        headers: { "content-type": "application/json" },
      });
      assert.equal(res.status, 200, `the hub refused ${event.type}: ${JSON.stringify(res.body)}`);
    }
    while ((await worker.runOnce()) > 0) {}
    await worker.settle();
  };
}
