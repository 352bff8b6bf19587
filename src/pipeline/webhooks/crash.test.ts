import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { eq } from "drizzle-orm";
import { openStore } from "../../store/database.ts";
import { migrate } from "../../store/migrations.ts";
import { createChannelAccount } from "../../store/repositories/channel-accounts.ts";
import { createConversation } from "../../store/repositories/conversations.ts";
import { createEndpoint } from "../../store/repositories/webhooks.ts";
import { createWorkspace } from "../../store/repositories/workspaces.ts";
import { webhookDelivery } from "../../store/schema.ts";
import { SecretBox } from "../../store/secret-box.ts";
import { Receiver, TestClock, testDeliveryWorker } from "../../testing/webhooks.ts";
import { conversationEvent, recordEvent } from "./events.ts";
import { newSigningSecret } from "./signature.ts";

describe("Webhook delivery across a crash", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "switchboard-crash-"));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it("loses nothing when the delivering process is killed with SIGKILL mid-request", async (t) => {
    const key = randomBytes(32);
    const box = new SecretBox(key);
    const receiver = await Receiver.start();
    t.after(() => receiver.down());

    // The events are stored, with their deliveries, before any process delivers them.
    let store = await openStore({ mode: "embedded", dataDir });
    await migrate(store);
    const workspace = await createWorkspace(store.db, "Crash");
    const channel = await createChannelAccount(store.db, box, {
      workspaceId: workspace.id,
      kind: "vk",
      externalId: "1",
      name: "VK",
      credentials: { tokens: ["t"] },
    });
    await createEndpoint(store.db, workspace.id, {
      url: receiver.url,
      sealedSecret: box.seal(newSigningSecret()),
    });
    const thread = (ref: string) =>
      createConversation(store.db, {
        workspaceId: workspace.id,
        channelAccountId: channel.id,
        contactId: null,
        kind: "comments",
        externalRef: ref,
      });
    const [a, b] = [await thread("wall-1_1"), await thread("wall-1_2")];
    const ids: string[] = [];
    for (const conversation of [a, a, a, b]) {
      ids.push(await recordEvent(store.db, conversationEvent("conversation.updated", conversation)));
    }
    await store.close();

    // The child takes the first request and is killed while the receiver holds it open.
    let firstArrived: () => void = () => {};
    const arrived = new Promise<void>((resolve) => {
      firstArrived = resolve;
    });
    receiver.answer = () => {
      firstArrived();
      return "hang";
    };
    const child = spawn(process.execPath, ["--import", "tsx", "src/testing/webhook-child.ts"], {
      env: { ...process.env, SWITCHBOARD_DATA_DIR: dataDir, SWITCHBOARD_SECRET_KEY: key.toString("base64") },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on("exit", (_code, signal) => resolve(signal)),
    );
    await arrived;
    child.kill("SIGKILL");
    assert.equal(await exited, "SIGKILL");
    const heldBeforeCrash = receiver.receipts.map((r) => r.headers["webhook-id"]);
    assert.ok(heldBeforeCrash.length >= 1);

    // A new process, after the dead one's lease ran out, delivers everything.
    receiver.answer = () => ({ status: 200 });
    store = await openStore({ mode: "embedded", dataDir });
    t.after(() => store.close());
    const clock = new TestClock(Date.now() + 60_000);
    await testDeliveryWorker({ store, box }, { clock }).drain();

    const accepted = receiver.receipts.slice(heldBeforeCrash.length);
    const seen = new Set(accepted.map((r) => r.headers["webhook-id"]));
    assert.deepEqual([...seen].sort(), [...ids].sort(), "every event arrives after the restart");
    const delivered = (conversation: string) =>
      accepted
        .filter((r) => JSON.parse(r.body).data.conversation.id === conversation)
        .map((r) => r.headers["webhook-id"]);
    assert.deepEqual(delivered(a.id), ids.slice(0, 3), "in order within the conversation");
    const retried = accepted.find((r) => r.headers["webhook-id"] === heldBeforeCrash[0]);
    assert.equal(retried?.headers["webhook-attempt"], "2", "the interrupted attempt counts");
    const states = await store.db
      .select({ state: webhookDelivery.state })
      .from(webhookDelivery)
      .where(eq(webhookDelivery.workspaceId, workspace.id));
    assert.deepEqual(
      states.map((s) => s.state),
      ["succeeded", "succeeded", "succeeded", "succeeded"],
    );
  });
});
