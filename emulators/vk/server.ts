/**
 * The VK emulator: VK API (`/method/<name>`), Callback API delivery, Bots Long Poll (`/lp/<id>`),
 * upload servers (`/upload/…`, `/media/…`), the control API (`/_control/…`) and a sandbox page
 * (`/`), all on one HTTP port. An adapter reaches it exactly as it reaches VK; only the base URL
 * differs (vk-io: `apiBaseUrl: emulator.apiBaseUrl` plus an `http.Agent`).
 */
import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import { createControl, type VkControl } from "./actions/index.ts";
import { methods } from "./api/index.ts";
import { apiRoutes } from "./api/transport.ts";
import { CallbackDelivery } from "./callback.ts";
import { resolveOptions, type VkEmulatorConfig, type VkEmulatorOptions } from "./config.ts";
import { controlRoutes } from "./control.ts";
import { EventBus } from "./events.ts";
import { Faults } from "./faults.ts";
import { LongPoll } from "./long-poll.ts";
import type { RequestRecord, Runtime } from "./runtime.ts";
import { VkState } from "./state.ts";
import { uiPage } from "./ui.ts";
import { UploadServer } from "./uploads.ts";

export interface VkEmulator {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** `${url}/method`: vk-io's `apiBaseUrl`. */
  readonly apiBaseUrl: string;
  /** The same actions as the control API, in process and typed. */
  readonly control: VkControl;
  /** The raw state behind both (read it; change it through `control`). */
  readonly state: VkState;
  readonly options: VkEmulatorOptions;
  close(): Promise<void>;
}

export type { VkControl } from "./actions/index.ts";
export type { VkEmulatorConfig, VkEmulatorOptions } from "./config.ts";

export async function startVkEmulator(config: VkEmulatorConfig = {}): Promise<VkEmulator> {
  const options = resolveOptions(config);
  let url = "";
  const baseUrl = () => options.publicUrl?.replace(/\/+$/, "") ?? url;
  const state = new VkState(options.apiVersion, options.firstObjectId);
  const requests: RequestRecord[] = [];
  const partial = {
    options,
    state,
    bus: new EventBus(options.logLimit),
    callbacks: new CallbackDelivery(state, options.callback, options.logLimit),
    longPoll: new LongPoll({ state, options, baseUrl }),
    faults: new Faults(),
    requests,
    baseUrl,
  };
  const runtime: Runtime = { ...partial, uploads: new UploadServer(partial) };
  runtime.bus.subscribe(runtime.callbacks.onEvent);
  runtime.bus.subscribe(runtime.longPoll.onEvent);

  const api = apiRoutes(runtime, methods);
  const control = createControl(runtime, () => {
    state.reset();
    runtime.faults.clear();
    runtime.longPoll.reset();
    runtime.callbacks.reset();
    runtime.bus.log.length = 0;
    requests.length = 0;
    api.resetRateLimits();
  });

  const app = new Hono();
  app.route("/", api.app);
  app.route("/", runtime.longPoll.routes(runtime));
  app.route("/", runtime.uploads.routes());
  app.route("/_control", controlRoutes(control));
  app.get("/", (c) => c.html(uiPage(`${baseUrl()}/method`)));
  app.get("/_control/ui", (c) => c.redirect("/"));

  const server = createAdaptorServer({ fetch: app.fetch });
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : options.port);
    });
  });
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  url = `http://${host}:${port}`;

  let closed: Promise<void> | undefined;
  return {
    url,
    apiBaseUrl: `${url}/method`,
    control,
    state,
    options,
    close() {
      closed ??= new Promise<void>((done) => {
        runtime.longPoll.close();
        runtime.callbacks.close();
        server.close(() => done());
        if ("closeAllConnections" in server) server.closeAllConnections();
      });
      return closed;
    },
  };
}
