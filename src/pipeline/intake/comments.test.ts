// Comments of every publication kind, acted out on the VK emulator and relayed to the hub's webhook
// as the Callback API delivers them: each thread follows its comments' edits, deletions and
// restorations, and a deletion (which carries only ids) finds the comment it names.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import type { CommentKind } from "../../../emulators/vk/model.ts";
import { assertStatus } from "../../testing/http.ts";
import { storeKinds } from "../../testing/stores.ts";
import { openVkTestbed, vkRelay, vkWorld } from "../../testing/vk-world.ts";
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
    let testbed: Awaited<ReturnType<typeof openVkTestbed>>;
    let store: typeof testbed.store;
    let hub: typeof testbed.hub;
    let vk: typeof testbed.vk;

    before(async () => {
      testbed = await openVkTestbed(kind);
      ({ store, hub, vk } = testbed);
    });
    after(() => testbed.close());

    for (const commentKind of ["wall", "photo", "video", "board", "market"] as const) {
      it(`follows a ${commentKind} comment through edit, deletion and restoration`, async () => {
        const world = await vkWorld(hub, vk);
        const relay = vkRelay(hub, world, new IntakeWorker(store, silent));
        const user = vk.control.createUser({ firstName: "Вера" });
        const input = { userId: user.id, text: "Сколько стоит?", objectId: 31 };
        const { comment } =
          commentKind === "wall"
            ? vk.control.commentWallPost(
                world.groupId,
                vk.control.createWallPost(world.groupId, { text: "Новинка" }).post.id,
                input,
              )
            : vk.control.comment(commentKind, world.groupId, input);
        await relay();

        const threads = await hub.request(
          "GET",
          `/v1/conversations?kind=comments&channel_id=${world.channel.id}`,
        );
        assertStatus(threads, 200);
        assert.equal(threads.body.items.length, 1);
        const thread = threads.body.items[0];
        assert.match(thread.external_ref, new RegExp(`^${refPrefixes[commentKind]}-${world.groupId}_\\d+$`));
        const stored = async () => {
          const res = await hub.request("GET", `/v1/conversations/${thread.id}/messages`);
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

        vk.control.editComment(commentKind, world.groupId, comment.id, { text: "Сколько стоит доставка?" });
        await relay();
        assert.equal((await stored()).text, "Сколько стоит доставка?");

        vk.control.deleteComment(commentKind, world.groupId, comment.id);
        await relay();
        assert.ok((await stored()).deleted_at, "deleted");

        vk.control.restoreComment(commentKind, world.groupId, comment.id);
        await relay();
        const restored = await stored();
        assert.deepEqual([restored.text, restored.deleted_at], ["Сколько стоит доставка?", null]);
      });
    }
  });
}
