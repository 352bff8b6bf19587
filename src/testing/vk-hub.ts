/**
 * A test hub served over real HTTP, so that the VK emulator can post callbacks to it, with its
 * workers (intake, VK channel runners) running on short timings; and small helpers for the VK
 * channel suites.
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import pino from "pino";
import type { SettingName } from "../config/settings.ts";
import { startWorkers, type WorkerOptions, type Workers } from "../hub/hub.ts";
import type { Store } from "../store/database.ts";
import type { SecretBox } from "../store/secret-box.ts";
import { createTestHub, type TestHub, type TestResponse } from "./hub.ts";

/** Silent unless SWITCHBOARD_TEST_LOG names a level (e.g. debug), to see what the workers did. */
export const silentLogger = pino({ level: process.env.SWITCHBOARD_TEST_LOG ?? "silent" });

/** Workers that notice things within a fraction of a second. */
export const fastWorkers: WorkerOptions = {
  intake: { pollMs: 50, leaseMs: 2_000 },
  dispatch: { pollMs: 50, idleReleaseMs: 1_000, expirySweepMs: 100 },
  vk: {
    rescanMs: 150,
    callbackCheckMs: 150,
    callbackRepairMs: 400,
    callTimeoutMs: 3_000,
    longPoll: { wait: 1, backoffBaseMs: 20, backoffCapMs: 150, failingAfter: 2, callTimeoutMs: 3_000 },
  },
};

export interface ServedHub extends TestHub {
  /** Where the hub listens, e.g. http://127.0.0.1:41234 (its `publicUrl` unless told otherwise). */
  url: string;
  workers: Workers | undefined;
  /** Starts the workers again on the same store (a restart of the process's background work). */
  restartWorkers(): Promise<Workers>;
  stopWorkers(): Promise<void>;
  close(): Promise<void>;
}

export interface ServeOptions {
  /** The hub's `publicUrl` is its own address (default), or none (a hub VK cannot reach). */
  publicUrl?: boolean;
  overrides?: Partial<Record<SettingName, unknown>>;
  workers?: WorkerOptions | false;
  box?: SecretBox;
}

export async function serveTestHub(store: Store, options: ServeOptions = {}): Promise<ServedHub> {
  let handler: (request: Request) => Response | Promise<Response> = () =>
    new Response("starting", { status: 503 });
  const server = createAdaptorServer({ fetch: (request: Request) => handler(request) });
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
  const url = `http://127.0.0.1:${port}`;
  const hub = await createTestHub(
    store,
    { ...(options.publicUrl === false ? {} : { publicUrl: url }), ...options.overrides },
    options.box ? { box: options.box } : {},
  );
  handler = hub.fetch;
  const workerOptions = options.workers === false ? undefined : (options.workers ?? fastWorkers);
  const start = () =>
    startWorkers(
      {
        store,
        box: hub.box,
        logger: silentLogger,
        egress: hub.egress,
        config: hub.config,
        sender: hub.sender,
      },
      workerOptions ?? fastWorkers,
    );
  const served: ServedHub = {
    ...hub,
    url,
    workers: workerOptions ? await start() : undefined,
    async restartWorkers() {
      await served.stopWorkers();
      served.workers = await start();
      return served.workers;
    },
    async stopWorkers() {
      await served.workers?.stop();
      served.workers = undefined;
    },
    async close() {
      await served.stopWorkers();
      await new Promise<void>((done) => {
        server.close(() => done());
        if ("closeAllConnections" in server) server.closeAllConnections();
      });
    },
  };
  return served;
}

/** Polls `probe` until it returns something truthy, or fails after `timeoutMs` saying what it waited for. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T> | T,
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The texts of every message the API lists in the workspace's conversations of `channelId`. */
export async function channelMessages(hub: TestHub, channelId: string): Promise<string[]> {
  const conversations = await hub.request("GET", "/v1/conversations?limit=200");
  assert.equal(conversations.status, 200, JSON.stringify(conversations.body));
  const texts: string[] = [];
  for (const conversation of conversations.body.items as { id: string; channel_id: string }[]) {
    if (conversation.channel_id !== channelId) continue;
    const messages: TestResponse = await hub.request(
      "GET",
      `/v1/conversations/${conversation.id}/messages?limit=200`,
    );
    assert.equal(messages.status, 200, JSON.stringify(messages.body));
    for (const message of messages.body.items as { text: string | null }[])
      if (message.text) texts.push(message.text);
  }
  return texts;
}

/** The `channel.status_changed` events of `channelId` as [previous state, state], oldest first. */
export async function channelStateChanges(hub: TestHub, channelId: string): Promise<[string, string][]> {
  const events = await hub.request("GET", "/v1/events?type=channel.status_changed&limit=200");
  assert.equal(events.status, 200, JSON.stringify(events.body));
  return (
    events.body.items as {
      payload: { data: { channel: { id: string; state: string }; previous_state: string } };
    }[]
  )
    .map((event) => event.payload.data)
    .filter((data) => data.channel.id === channelId)
    .map((data): [string, string] => [data.previous_state, data.channel.state])
    .reverse();
}
