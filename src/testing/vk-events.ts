import { randomBytes } from "node:crypto";

/** A VK Callback API envelope of community `groupId`, with a fresh `event_id`. */
export function vkEnvelope(
  groupId: number,
  secret: string,
  type: string,
  object: unknown,
  overrides: Record<string, unknown> = {},
) {
  return {
    type,
    group_id: groupId,
    event_id: randomBytes(20).toString("hex"),
    v: "5.199",
    secret,
    object,
    ...overrides,
  };
}

/**
 * A maker of VK message objects (user 7 writing to the community), each with the next id and
 * date from `firstId`; `fields` override any of them.
 */
export function vkMessageMaker(firstId: number) {
  let counter = 0;
  return (fields: Record<string, unknown> = {}) => {
    counter += 1;
    return {
      id: firstId + counter,
      date: 1_700_000_000 + counter,
      from_id: 7,
      peer_id: 7,
      out: 0,
      text: `hello ${counter}`,
      conversation_message_id: counter,
      attachments: [],
      version: 1,
      ...fields,
    };
  };
}
