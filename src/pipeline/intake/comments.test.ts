// Comments of every publication kind, acted out on the VK emulator and relayed to the hub's webhook
// as the Callback API delivers them: each thread follows its comments' edits, deletions and
// restorations, and a deletion (which carries only ids) finds the comment it names.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import pino from "pino";
import type { CommentKind } from "../../../emulators/vk/model.ts";
import { assertStatus } from "../../testing/http.ts";
import { storeKinds } from "../../testing/stores.ts";
import { vkRelay, vkTestbed, vkWorld } from "../../testing/vk-world.ts";
import { IntakeWorker } from "./worker.ts";

const silent = pino({ level: "silent" });

/** The thread each kind opens, as `external_ref` shows it (before the community's id). */
const refPrefixes: Record<CommentKind, string> = {
  wall: "wall",
  photo: "photo",
  video: "video",
  board: "topic",
  market: "market",
};

for (const kind of storeKinds) {
  describe(`VK comments of every kind on ${kind.name}`, () => {
    const bed = vkTestbed(kind);

    for (const commentKind of ["wall", "photo", "video", "board", "market"] as const) {
      it(`follows a ${commentKind} comment through edit, deletion and restoration`, async () => {
        const world = await vkWorld(bed.hub, bed.vk);
        const relay = vkRelay(bed.hub, world, new IntakeWorker(bed.store, silent));
        const user = bed.vk.control.createUser({ firstName: "Вера" });
        const input = { userId: user.id, text: "Сколько стоит?", objectId: 31 };
        const { comment } =
          commentKind === "wall"
            ? bed.vk.control.commentWallPost(
                world.groupId,
                bed.vk.control.createWallPost(world.groupId, { text: "Новинка" }).post.id,
                input,
              )
            : bed.vk.control.comment(commentKind, world.groupId, input);
        await relay();

        const threads = await bed.hub.request(
          "GET",
          `/v1/conversations?kind=comments&channel_id=${world.channel.id}`,
        );
        assertStatus(threads, 200);
        assert.equal(threads.body.items.length, 1);
        const thread = threads.body.items[0];
        assert.match(thread.external_ref, new RegExp(`^${refPrefixes[commentKind]}-${world.groupId}_\\d+$`));
        const stored = async () => {
          const res = await bed.hub.request("GET", `/v1/conversations/${thread.id}/messages`);
          assertStatus(res, 200);
          assert.equal(res.body.items.length, 1);
          return res.body.items[0];
        };
        const first = await stored();
        assert.deepEqual([first.text, first.deleted_at], ["Сколько стоит?", null]);
        const publication = thread.external_ref.slice(refPrefixes[commentKind].length);
        const links: Record<CommentKind, string> = {
          wall: `https://vk.com/wall${publication}?reply=${comment.id}`,
          photo: `https://vk.com/photo${publication}`,
          video: `https://vk.com/video${publication}`,
          board: `https://vk.com/topic${publication}?post=${comment.id}`,
          market: `https://vk.com/market-${world.groupId}?w=product${publication}`,
        };
        assert.equal(first.link, links[commentKind]);

        bed.vk.control.editComment(commentKind, world.groupId, comment.id, {
          text: "Сколько стоит доставка?",
        });
        await relay();
        assert.equal((await stored()).text, "Сколько стоит доставка?");

        bed.vk.control.deleteComment(commentKind, world.groupId, comment.id);
        await relay();
        assert.ok((await stored()).deleted_at, "deleted");

        bed.vk.control.restoreComment(commentKind, world.groupId, comment.id);
        await relay();
        const restored = await stored();
        assert.deepEqual([restored.text, restored.deleted_at], ["Сколько стоит доставка?", null]);
      });
    }

    it("reopens a resolved thread when a client comments again, not when the community does", async () => {
      const world = await vkWorld(bed.hub, bed.vk);
      const relay = vkRelay(bed.hub, world, new IntakeWorker(bed.store, silent));
      const post = bed.vk.control.createWallPost(world.groupId, { text: "Новинка" }).post.id;
      const user = bed.vk.control.createUser({ firstName: "Вера" });
      bed.vk.control.commentWallPost(world.groupId, post, { userId: user.id, text: "Сколько стоит?" });
      await relay();
      const [thread] = (
        await bed.hub.request("GET", `/v1/conversations?kind=comments&channel_id=${world.channel.id}`)
      ).body.items;
      const status = async () => (await bed.hub.request("GET", `/v1/conversations/${thread.id}`)).body.status;
      const resolve = await bed.hub.request("PATCH", `/v1/conversations/${thread.id}`, {
        body: { status: "resolved" },
      });
      assertStatus(resolve, 200);

      // The operator's answer, written before resolving: its echo comes back as the community's
      // comment and must leave the thread resolved.
      const [question] = (await bed.hub.request("GET", `/v1/conversations/${thread.id}/messages`)).body.items;
      const answer = await bed.hub.request("POST", `/v1/conversations/${thread.id}/messages`, {
        body: { text: "1 500 ₽", reply_to_message_id: question.id },
      });
      assertStatus(answer, 201);
      await relay();
      assert.equal(await status(), "resolved", "the community's own comment leaves it resolved");

      const since = new Date();
      bed.vk.control.commentWallPost(world.groupId, post, { userId: user.id, text: "А доставка?" });
      await relay();
      assert.equal(await status(), "open");
      const events = await bed.hub.request("GET", `/v1/events?since=${since.toISOString()}&limit=200`);
      const mine = events.body.items.filter(
        (e: { payload: { data: { conversation?: { id: string } } } }) =>
          e.payload.data.conversation?.id === thread.id,
      );
      assert.deepEqual(
        mine.map((e: { type: string; payload: { data: { conversation: { status: string } } } }) => [
          e.type,
          e.payload.data.conversation.status,
        ]),
        [
          ["comment.received", "open"],
          ["conversation.updated", "open"],
        ],
        "newest first: the thread reopened, then the comment that reopened it",
      );
      const threads = await bed.hub.request(
        "GET",
        `/v1/conversations?kind=comments&channel_id=${world.channel.id}`,
      );
      assert.equal(threads.body.items.length, 1, "still one thread for the publication");
    });
  });
}
