/**
 * The control surface in one object: set up, act as a user, read back, inject faults. The HTTP
 * control API is a thin layer over it, and tests may call it in process (`emulator.control`).
 */
import type { FaultInput } from "../faults.ts";
import type { Runtime } from "../runtime.ts";
import { communityActions } from "./community.ts";
import { messagingActions } from "./messaging.ts";
import { readActions } from "./read.ts";
import { setupActions } from "./setup.ts";

export function createControl(runtime: Runtime, reset: () => void) {
  return {
    ...setupActions(runtime),
    ...messagingActions(runtime),
    ...communityActions(runtime),
    ...readActions(runtime),

    addFault: (input: FaultInput) => runtime.faults.add(input),
    faults: () => runtime.faults.list(),
    removeFault: (id: number) => runtime.faults.remove(id),
    clearFaults: () => runtime.faults.clear(),

    /** The next check fails with 1, or every current key fails with 2 or 3 (§2). */
    failLongPoll(groupId: number, failed: 1 | 2 | 3) {
      runtime.state.community(groupId);
      runtime.longPoll.force(groupId, failed);
    },

    /** Forgets everything: state, logs, faults, pending deliveries and polls. */
    reset,
  };
}

export type VkControl = ReturnType<typeof createControl>;
export type { CommentInput, LeadInput, WallPostInput } from "./community.ts";
export type { PressInput, UserAttachment, WriteInput } from "./messaging.ts";
export type { CommunityPatch, ServerPatch, UserPatch } from "./setup.ts";
