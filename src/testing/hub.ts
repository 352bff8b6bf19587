import { randomBytes } from "node:crypto";
import pino, { type Logger } from "pino";
import { loadConfig } from "../config/load-config.ts";
import type { Config, SettingName } from "../config/settings.ts";
import { createApp } from "../http/app.ts";
import { Egress } from "../net/egress.ts";
import { createSendService } from "../pipeline/send/create.ts";
import type { SendService } from "../pipeline/send/service.ts";
import type { Store } from "../store/database.ts";
import { createApiKey } from "../store/repositories/api-keys.ts";
import { createWorkspace } from "../store/repositories/workspaces.ts";
import { SecretBox } from "../store/secret-box.ts";

export interface Caller {
  workspaceId: string;
  key: string;
}

export interface TestHub {
  config: Config;
  store: Store;
  box: SecretBox;
  /** The send service of the API, for workers (the dispatcher) to share. */
  sender: SendService;
  egress: Egress;
  /** The admin of the first workspace. */
  admin: Caller;
  /** A plain key of a second workspace, to prove isolation. */
  stranger: Caller;
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  /** The app itself, to serve over real HTTP (a platform emulator posting webhooks). */
  fetch(request: Request): Response | Promise<Response>;
}

/** What the test hub builds its send service from. */
export interface SenderDeps {
  db: Store["db"];
  box: SecretBox;
  logger: Logger;
  config: Config;
  /** The test hub's own guard (`TestHub.egress`), through which attachments by URL are fetched. */
  egress: Egress;
}

export interface TestHubOptions {
  /** Builds the hub's send service (e.g. with a wrapped adapter); the default one otherwise. */
  sender?: (deps: SenderDeps) => SendService;
  /** The credentials key; another hub on the same store must share it to read the channels' tokens. */
  box?: SecretBox;
}

export interface RequestOptions {
  key?: string | null;
  body?: unknown;
  /** Sent as is, for malformed bodies. */
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON came back
  body: any;
}

/** An app over `store` with two workspaces, driven in-process through `app.request`. */
export async function createTestHub(
  store: Store,
  overrides: Partial<Record<SettingName, unknown>> = {},
  options: TestHubOptions = {},
): Promise<TestHub> {
  // Test receivers and file servers listen on loopback, which a real hub refuses by default.
  const config = loadConfig({ env: {}, flags: { egressAllow: ["127.0.0.1"], ...overrides } });
  const egress = new Egress({ allow: config.egressAllow });
  const box = options.box ?? new SecretBox(randomBytes(32));
  const logger = pino({ level: "silent" });
  const deps: SenderDeps = {
    db: store.db,
    box,
    logger,
    config,
    egress,
  };
  const sender =
    options.sender?.(deps) ?? createSendService({ ...deps, retryWindowMs: config.sendRetryWindow * 1000 });
  const app = createApp({ config, store, box, logger, egress, sender });
  const caller = async (name: string, admin: boolean): Promise<Caller> => {
    const workspace = await createWorkspace(store.db, name);
    const { secret } = await createApiKey(store.db, {
      workspaceId: workspace.id,
      name: `${name} key`,
      admin,
    });
    return { workspaceId: workspace.id, key: secret };
  };
  const admin = await caller("First", true);
  const stranger = await caller("Second", false);
  return {
    config,
    store,
    box,
    sender,
    egress,
    admin,
    stranger,
    fetch: (request) => app.fetch(request),
    async request(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      const key = options.key === undefined ? admin.key : options.key;
      if (key !== null) headers.authorization = `Bearer ${key}`;
      let body: string | undefined = options.rawBody;
      if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers["content-type"] ??= "application/json";
      }
      const response = await app.request(path, { method, headers, body });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {}
      return { status: response.status, headers: response.headers, body: parsed };
    },
  };
}
