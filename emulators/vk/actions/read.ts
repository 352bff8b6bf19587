/**
 * Reading back what happened: everything a community sent (messages with their random_id,
 * keyboards and attachments, edits, deletions, comments, callback-button answers), conversations,
 * uploads with their bytes, and the logs of events, callback deliveries and API calls.
 */
import type { Runtime } from "../runtime.ts";
import { ControlError } from "../state.ts";
import { commentView, messageView, uploadView } from "./views.ts";

export function readActions(runtime: Runtime) {
  const { state } = runtime;

  return {
    /** What the community did through the API, oldest first. */
    outbox(groupId: number) {
      state.community(groupId);
      const messages = state
        .conversationsOf(groupId)
        .flatMap((c) => c.messages.filter((m) => m.out === 1))
        .sort((a, b) => a.id - b.id)
        .map(messageView);
      return {
        messages,
        edits: state.edits.filter((e) => e.groupId === groupId),
        deletions: state.deletions.filter((d) => d.groupId === groupId),
        comments: [...state.comments.values()]
          .filter((c) => c.groupId === groupId && c.fromId === -groupId)
          .map(commentView),
        eventAnswers: [...state.messageEvents.values()]
          .filter((e) => e.groupId === groupId && e.answer)
          .map((e) => ({
            eventId: e.eventId,
            userId: e.userId,
            peerId: e.peerId,
            payload: e.payload,
            ...e.answer,
          })),
      };
    },

    /** Both directions of one conversation, oldest first. */
    conversation(groupId: number, peerId: number) {
      state.community(groupId);
      return state.conversation(groupId, peerId).messages.map(messageView);
    },

    conversations(groupId: number) {
      return state.conversationsOf(groupId).map((c) => {
        const last = c.messages.at(-1);
        return { peerId: c.peerId, messages: c.messages.length, last: last ? messageView(last) : null };
      });
    },

    comments(groupId: number) {
      return [...state.comments.values()].filter((c) => c.groupId === groupId).map(commentView);
    },

    uploads(filter: { groupId?: number; kind?: string } = {}) {
      return state.uploads
        .filter((u) => filter.groupId === undefined || u.groupId === filter.groupId)
        .filter((u) => filter.kind === undefined || u.kind === filter.kind)
        .map(uploadView);
    },

    /** The bytes exactly as they arrived, to check codec, channels or sample rate. */
    uploadBytes(uploadId: number) {
      const upload = state.uploads.find((u) => u.id === uploadId);
      if (!upload) throw new ControlError(404, `no upload ${uploadId}`);
      return { bytes: upload.bytes, contentType: upload.contentType, filename: upload.filename };
    },

    events(filter: { groupId?: number; type?: string } = {}) {
      return runtime.bus.log.filter(
        (e) =>
          (filter.groupId === undefined || e.groupId === filter.groupId) &&
          (filter.type === undefined || e.type === filter.type),
      );
    },

    deliveries(filter: { groupId?: number; serverId?: number } = {}) {
      return runtime.callbacks.log.filter(
        (d) =>
          (filter.groupId === undefined || d.groupId === filter.groupId) &&
          (filter.serverId === undefined || d.serverId === filter.serverId),
      );
    },

    requests(filter: { method?: string; groupId?: number } = {}) {
      return runtime.requests.filter(
        (r) =>
          (filter.method === undefined || r.method === filter.method) &&
          (filter.groupId === undefined || r.groupId === filter.groupId),
      );
    },
  };
}
