import { createHash } from "node:crypto";

/** The largest `random_id` VK takes: random_id is an int32, and we keep it positive. */
export const maxRandomId = 0x7fffffff;

/**
 * VK's `random_id` for part `part` (0, 1, …) of our message `messageId`: a deterministic, positive,
 * non-zero int32, so that sending the same part again after a crash or a retry carries the same
 * `random_id` and VK drops the duplicate (principle 3). Different parts of one message get
 * different ids, or VK would drop all but the first part.
 *
 * VK checks uniqueness against the conversation's messages of the last hour (at most the last
 * 100), so two of our messages colliding there has a chance of about 100²/2 in 2³¹ (≈ 2·10⁻⁶) per
 * busy conversation-hour; ids are spread by SHA-256, never by a counter.
 */
export function randomIdFor(messageId: string, part: number): number {
  if (!Number.isSafeInteger(part) || part < 0)
    throw new RangeError(`part must be a non-negative integer, got ${part}`);
  const id = messageId.trim().toLowerCase();
  if (id === "") throw new RangeError("messageId must not be empty");
  const digest = createHash("sha256").update(`switchboard:vk:${id}:${part}`).digest();
  // Uniform over 1 … 2³¹−1: never 0, which would switch VK's duplicate check off.
  return (digest.readUInt32BE(0) % maxRandomId) + 1;
}

/**
 * The `guid` of `wall.createComment`, VK's duplicate guard for comments: the same idea as
 * `random_id`, as a string.
 */
export function commentGuidFor(messageId: string, part: number): string {
  return `sb-${messageId.trim().toLowerCase()}-${part}`;
}
