import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { startVkEmulator, type VkEmulator } from "../../emulators/vk/server.ts";
import { createTestHub, type TestHub } from "./hub.ts";
import { storeKinds } from "./stores.ts";
import { vkClient, vkWorld } from "./vk-world.ts";

describe("a test hub's egressAllow", () => {
  const [pglite] = storeKinds;
  let store: Awaited<ReturnType<NonNullable<typeof pglite>["open"]>>;
  let vk: VkEmulator;
  // A document on this machine, which only a guard that allows 127.0.0.1 lets the hub fetch.
  const files = createServer((_req, res) =>
    res.writeHead(200, { "Content-Type": "application/pdf" }).end("%PDF"),
  );
  let documentUrl: string;

  before(async () => {
    store = await (pglite as NonNullable<typeof pglite>).open();
    vk = await startVkEmulator();
    await new Promise<void>((done) => files.listen(0, "127.0.0.1", done));
    documentUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}/report.pdf`;
  });
  after(async () => {
    files.close();
    await vk.close();
    await store.drop();
  });

  /** Sends the document to a new VK client of `hub`'s first workspace, through its API. */
  async function sendDocument(hub: TestHub) {
    const world = await vkWorld(hub, vk);
    const client = await vkClient(hub, world);
    return hub.request("POST", `/v1/conversations/${client.conversation.id}/messages`, {
      body: { attachments: [{ kind: "document", url: documentUrl }] },
    });
  }

  it("stays with its hub: a test hub that allows less does not change another's", async () => {
    const open = await createTestHub(store);
    const strict = await createTestHub(store, { egressAllow: [] });
    const refused = await sendDocument(strict);
    assert.equal(refused.body.error?.code, "media_url_unusable", JSON.stringify(refused.body));
    // The hub made before the strict one still fetches what its own setting allows.
    const sent = await sendDocument(open);
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
  });
});
