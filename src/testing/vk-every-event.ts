/**
 * One VK user doing everything the hub handles, on the emulator, and what the API must show for
 * it: the same scenario for the Callback API and for Long Poll, so that both modes are held to
 * the same events (a message and its edit, consent both ways, a callback button, membership,
 * a wall comment and its edit, a comment on a photo, a video, a topic and a product, each
 * deleted, and a lead form).
 */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import type { VkEmulator } from "../../emulators/vk/server.ts";
import { assertStatus } from "./http.ts";
import type { TestHub } from "./hub.ts";
import { channelMessages, waitFor } from "./vk-hub.ts";

export async function actOutEveryEvent(world: {
  hub: TestHub;
  vk: VkEmulator;
  groupId: number;
  userId: number;
  channelId: string;
}) {
  const { hub, groupId, userId, channelId } = world;
  const control = world.vk.control;
  const get = async (path: string) => {
    const res = await hub.request("GET", path);
    assertStatus(res, 200);
    return res.body;
  };

  const written = control.writeMessage(groupId, { userId, text: "Есть торт?" });
  // The edit needs its message stored first, to be a version of it.
  await waitFor("the first message", async () =>
    (await channelMessages(hub, channelId)).includes("Есть торт?"),
  );
  control.editMessage(groupId, written.message.id, { text: "Есть медовик?" });
  control.denyMessages(groupId, userId);
  control.allowMessages(groupId, userId);
  control.pressButton(groupId, { userId, type: "callback", payload: { order: 7 } });
  control.join(groupId, userId);
  control.leave(groupId, userId);
  const post = control.createWallPost(groupId, { text: "Новинка" });
  const wall = control.commentWallPost(groupId, post.post.id, { userId, text: "На стене" });
  control.editComment("wall", groupId, wall.comment.id, { text: "На стене, правка" });
  for (const kind of ["photo", "video", "board", "market"] as const) {
    const { comment } = control.comment(kind, groupId, { userId, text: kind, objectId: 5 });
    control.deleteComment(kind, groupId, comment.id);
  }
  control.submitLeadForm(groupId, {
    userId,
    formName: "Заказ",
    answers: [{ key: "first_name", answer: "Иван" }],
  });

  /** What the API shows of it all; the worker applies the events in the background. */
  const observed = async () => {
    const [direct] = (await get(`/v1/conversations?kind=direct&channel_id=${channelId}`)).items;
    const [asked] = (await get(`/v1/conversations/${direct.id}/messages`)).items;
    const threads = (await get(`/v1/conversations?kind=comments&channel_id=${channelId}`)).items;
    const comments = await Promise.all(
      threads.map(async (t: { id: string }) => (await get(`/v1/conversations/${t.id}/messages`)).items[0]),
    );
    return {
      versions: (await get(`/v1/messages/${asked.id}`)).versions.map((v: { text: string }) => v.text),
      // Sorted: the Callback API posts events at once, each on its own, so they may arrive in any order.
      contactEvents: (await get(`/v1/contacts/${direct.contact_id}/events`)).items
        .map((e: { kind: string }) => e.kind)
        .sort(),
      comments: comments
        .map((m: { text: string; deleted_at: string | null }) => [m.text, m.deleted_at !== null])
        .sort(),
      leads: (await get(`/v1/leads?channel_id=${channelId}`)).items.map(
        (l: { answers: { answer: string }[] }) => l.answers[0]?.answer,
      ),
    };
  };
  const expected = {
    versions: ["Есть торт?", "Есть медовик?"],
    contactEvents: [
      "button_pressed",
      "consent_changed",
      "consent_changed",
      "joined_community",
      "left_community",
    ],
    // A thread each for the post, the photo, the video, the topic and the product.
    comments: [
      ["board", true],
      ["market", true],
      ["photo", true],
      ["video", true],
      ["На стене, правка", false],
    ],
    leads: ["Иван"],
  };
  // A look is a dozen requests: taken five times a second, they stay under the key's rate limit.
  // After 10 seconds the assertion shows what differs.
  const deadline = Date.now() + 10_000;
  while (JSON.stringify(await observed()) !== JSON.stringify(expected) && Date.now() < deadline)
    await sleep(200);
  assert.deepEqual(await observed(), expected);
}
