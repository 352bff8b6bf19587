/**
 * Helpers for the emulator's tests: an API caller that speaks like vk-io (POST urlencoded,
 * `access_token` and `v` in the body), a tiny callback receiver, and polling for a condition.
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import type { VkEmulatorConfig } from "./config.ts";
import { startVkEmulator, type VkEmulator } from "./server.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests read VK's JSON loosely, as a client would.
export type Json = Record<string, any>;

export async function emulatorWithCommunity(config: VkEmulatorConfig = {}) {
  const vk = await startVkEmulator(config);
  const community = vk.control.createCommunity({ name: "Shop" });
  const user = vk.control.createUser({ firstName: "Ivan", lastName: "Petrov", allowsMessages: true });
  const token = community.tokens[0]?.value ?? "";
  return { vk, community, user, token, call: caller(vk, token) };
}

/** `call(method, params)` → the parsed JSON answer (`{response}` or `{error}`). */
export function caller(vk: VkEmulator, token: string | undefined) {
  return async (method: string, params: Record<string, string | number | boolean> = {}): Promise<Json> => {
    const body = new URLSearchParams({ v: "5.199", ...(token ? { access_token: token } : {}) });
    for (const [key, value] of Object.entries(params)) body.set(key, String(value));
    const response = await fetch(`${vk.apiBaseUrl}/${method}`, { method: "POST", body });
    if (response.status !== 200) throw new Error(`HTTP ${response.status} from ${method}`);
    return (await response.json()) as Json;
  };
}

// biome-ignore lint/suspicious/noExplicitAny: tests read the control API's JSON loosely.
export async function control(vk: VkEmulator, method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${vk.url}/_control${path}`, {
    method,
    headers: { "Content-Type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const data = (await response.json()) as unknown;
  if (!response.ok) throw new Error(`control ${method} ${path}: ${response.status} ${JSON.stringify(data)}`);
  return data;
}

export interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  body: Json;
  at: number;
}

export interface Reply {
  status?: number;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Answer this late. */
  delayMs?: number;
}

/** A callback server: answers `confirmationCode` to confirmation, else what `reply` says (default `ok`). */
export async function startReceiver(confirmationCode: string, reply: (r: Received) => Reply = () => ({})) {
  const received: Received[] = [];
  const state = { reply };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const entry: Received = { headers: req.headers, raw, body: JSON.parse(raw) as Json, at: Date.now() };
      received.push(entry);
      const answer: Reply =
        entry.body.type === "confirmation" ? { body: confirmationCode } : state.reply(entry);
      setTimeout(() => {
        res.writeHead(answer.status ?? 200, { "Content-Type": "text/plain", ...answer.headers });
        res.end(answer.body ?? "ok");
      }, answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/vk`,
    received,
    events: () => received.filter((r) => r.body.type !== "confirmation"),
    set reply(next: (r: Received) => Reply) {
      state.reply = next;
    },
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

export async function waitFor<T>(
  check: () => T | undefined | false,
  timeoutMs = 3000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 10));
  }
}

export const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
