import type { InboundEvent } from "../../channels/events.ts";
import type { VkClients } from "../../channels/vk/channel.ts";
import type { Db } from "../../store/database.ts";
import { identityNeedsName, nameIdentity } from "../../store/repositories/contacts.ts";
import type { IntakeFollowUp } from "./worker.ts";

/**
 * Names new clients: the first event from a platform user without a name asks the platform for
 * it once (VK `users.get`) and fills the identity's display name and, when empty, the contact's
 * name. A failed look-up is tried again on the user's next event.
 */
export function profileFollowUp(db: Db, vk: VkClients): IntakeFollowUp {
  return async ({ channel, event }) => {
    const userId = userOf(event);
    if (channel.kind !== "vk" || !userId || !/^\d+$/.test(userId)) return;
    if (!(await identityNeedsName(db, channel.workspaceId, channel.kind, userId))) return;
    const [user] = await vk.for(channel).getUsers([Number(userId)]);
    if (!user || user.deactivated) return;
    const name = `${user.first_name} ${user.last_name}`.trim();
    if (name) await nameIdentity(db, channel.workspaceId, channel.kind, userId, name);
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
