/**
 * The emulator against the client the hub uses: vk-io with `apiBaseUrl` pointed here and an
 * http agent, nothing else changed. Skipped when vk-io is not installed (the emulator itself
 * does not need it).
 */
import assert from "node:assert/strict";
import { Agent, createServer } from "node:http";
import type { Agent as HttpsAgent } from "node:https";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { startVkEmulator, type VkEmulator } from "./server.ts";
import { waitFor } from "./test-support.ts";

const vkIo = await import("vk-io").catch(() => undefined);

/** A 2×2 PNG header is enough for the upload server's probe. */
const png = Buffer.concat([
  Buffer.from("89504e470d0a1a0a0000000d49484452", "hex"),
  Buffer.from([0, 0, 0, 2, 0, 0, 0, 2]),
  Buffer.alloc(16),
]);

describe("VK emulator: with vk-io", { skip: vkIo === undefined ? "vk-io is not installed" : false }, () => {
  let emulator: VkEmulator;
  let groupId: number;
  let userId: number;
  let token: string;
  // vk-io types `agent` as an https.Agent; an http:// URL needs an http.Agent (reference §5).
  const agent = new Agent({ keepAlive: true }) as unknown as HttpsAgent;
  const client = (options: Record<string, unknown> = {}) => {
    if (!vkIo) throw new Error("vk-io is not installed");
    return new vkIo.VK({ token, apiBaseUrl: emulator.apiBaseUrl, agent, apiLimit: 20, ...options });
  };

  before(async () => {
    emulator = await startVkEmulator();
    const community = emulator.control.createCommunity({ name: "vk-io shop" });
    groupId = community.id;
    token = community.tokens[0]?.value ?? "";
    userId = emulator.control.createUser({ firstName: "Olga", allowsMessages: true }).id;
  });
  after(async () => {
    await emulator.close();
    agent.destroy();
  });

  it("calls methods and surfaces VK errors as APIError", async () => {
    const vk = client();
    const { groups } = (await vk.api.groups.getById({})) as unknown as { groups: { id: number }[] };
    assert.equal(groups[0]?.id, groupId);
    const sent = await vk.api.messages.send({
      peer_ids: userId,
      random_id: vkIo?.getRandomId(),
      message: "hi",
    });
    assert.equal((sent as unknown as { peer_id: number }[])[0]?.peer_id, userId);
    emulator.control.denyMessages(groupId, userId);
    await assert.rejects(
      vk.api.messages.send({ peer_id: userId, random_id: 1, message: "x" }),
      (error: { code?: number }) => error.code === 901,
    );
    emulator.control.allowMessages(groupId, userId);
  });

  it("uploads a photo and a voice message with vk.upload and sends them", async () => {
    const vk = client();
    const photo = await vk.upload.messagePhoto({
      source: { value: png, filename: "p.png" },
      peer_id: userId,
    });
    const voice = await vk.upload.audioMessage({
      source: { value: Buffer.from("OggS fake voice"), filename: "v.ogg" },
      peer_id: userId,
    });
    await vk.api.messages.send({
      peer_id: userId,
      random_id: vkIo?.getRandomId(),
      attachment: [String(photo), String(voice)].join(","),
    });
    const last = emulator.control.outbox(groupId).messages.at(-1);
    assert.deepEqual(
      last?.attachments.map((a) => a.type),
      ["photo", "audio_message"],
    );
    assert.equal(emulator.control.uploads({ kind: "audio_message" }).at(-1)?.filename, "v.ogg");
  });

  it("receives message_new through Bots Long Poll", async () => {
    emulator.control.updateCommunity(groupId, { longPoll: { enabled: true, events: ["message_new"] } });
    const vk = client({ pollingGroupId: groupId });
    const texts: string[] = [];
    vk.updates.on("message_new", (context) => {
      texts.push(context.text ?? "");
    });
    await vk.updates.start();
    try {
      emulator.control.writeMessage(groupId, { userId, text: "via long poll <3" });
      await waitFor(() => texts.length === 1, 3000, "the long poll update");
      assert.deepEqual(texts, ["via long poll <3"]);
    } finally {
      await vk.updates.stop();
      emulator.control.failLongPoll(groupId, 2);
    }
  });

  it("confirms vk-io's webhook and delivers message_new to it", async () => {
    const code = emulator.control.community(groupId).confirmationCode;
    const vk = client({ webhookConfirmation: code, webhookSecret: "hook-secret" });
    const texts: string[] = [];
    vk.updates.on("message_new", (context) => {
      texts.push(context.text ?? "");
    });
    const server = createServer(vk.updates.getWebhookCallback("/vk"));
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/vk`;
      const { server_id } = await vk.api.groups.addCallbackServer({
        group_id: groupId,
        url,
        title: "hub",
        secret_key: "hook-secret",
      });
      await waitFor(
        () => emulator.control.community(groupId).servers[0]?.status === "ok",
        3000,
        "confirmation",
      );
      await vk.api.groups.setCallbackSettings({ group_id: groupId, server_id, message_new: 1 });
      emulator.control.writeMessage(groupId, { userId, text: "via callback" });
      await waitFor(() => texts.length === 1, 3000, "the callback");
      assert.deepEqual(texts, ["via callback"]);
    } finally {
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
    }
  });
});
