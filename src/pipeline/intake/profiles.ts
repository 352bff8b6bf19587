import type { InboundEvent } from "../../channels/events.ts";
import type { VkClients } from "../../channels/vk/channel.ts";
import type { Db } from "../../store/database.ts";
import type { ChannelAccount } from "../../store/repositories/channel-accounts.ts";
import { getContacts, identitiesWithoutName, nameIdentities } from "../../store/repositories/contacts.ts";
import { contactEvent, recordEvents } from "../webhooks/events.ts";
import type { IntakeFollowUp } from "./worker.ts";

/**
 * Names new clients: platform users of a batch's events that have no name yet are looked up
 * with one VK `users.get` per channel, which fills each identity's display name and, when empty,
 * its contact's name, in one statement; each contact changed is announced as `contact.updated`
 * (its `contact.created` came without a name). A failed look-up is tried again on the user's
 * next event.
 */
export function profileFollowUp(db: Db, vk: VkClients): IntakeFollowUp {
  return async (applied) => {
    const users = new Map<string, { channel: ChannelAccount; ids: Set<string> }>();
    for (const { channel, event } of applied) {
      const userId = userOf(event);
      if (channel.kind !== "vk" || !userId || !/^\d+$/.test(userId)) continue;
      const entry = users.get(channel.id) ?? { channel, ids: new Set<string>() };
      entry.ids.add(userId);
      users.set(channel.id, entry);
    }
    for (const { channel, ids } of users.values()) {
      const unnamed = await identitiesWithoutName(db, channel.workspaceId, channel.kind, [...ids]);
      if (unnamed.length === 0) continue;
      const found = await vk.for(channel).getUsers(unnamed.map(Number));
      const names = found.flatMap((user) => {
        const name = `${user.first_name} ${user.last_name}`.trim();
        return !user.deactivated && name ? [{ externalId: String(user.id), name }] : [];
      });
      if (names.length === 0) continue;
      await db.transaction(async (tx) => {
        const changed = await nameIdentities(tx, channel.workspaceId, channel.kind, names);
        const contacts = await getContacts(tx, channel.workspaceId, changed);
        await recordEvents(
          tx,
          contacts.map((contact) => contactEvent("contact.updated", contact)),
        );
      });
    }
  };
}

function userOf(event: InboundEvent): string | undefined {
  switch (event.type) {
    case "message":
    case "message_echo":
      return event.message.userId;
    case "comment":
      return event.comment.userId ?? undefined;
    case "consent":
    case "button":
    case "lead":
    case "membership":
      return event.userId;
    default:
      return undefined;
  }
}
