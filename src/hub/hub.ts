import { createAdaptorServer } from "@hono/node-server";
import pino, { type Logger } from "pino";
import type { Config } from "../config/settings.ts";
import { AppError } from "../errors/app-error.ts";
import { createApp } from "../http/app.ts";
import { IntakeWorker } from "../pipeline/intake/worker.ts";
import type { Store } from "../store/database.ts";
import { openConfiguredStore, prepareStore, type Say, secretBoxFor } from "./open-store.ts";

export interface Hub {
  /** Where the API answers, e.g. http://127.0.0.1:8080 */
  url: string;
  store: Store;
  close(): Promise<void>;
}

export function createLogger(config: Config): Logger {
  return pino({
    level: config.logLevel,
    base: { service: "switchboard" },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/** Starts the whole hub: store, migrations, bootstrap, HTTP server. */
export async function startHub(config: Config, options: { say: Say; logger?: Logger }): Promise<Hub> {
  const logger = options.logger ?? createLogger(config);
  const box = secretBoxFor(config);
  const store = await openConfiguredStore(config, options.say);
  try {
    await prepareStore(store, options.say);
    const app = createApp({ config, store, box, logger });
    const server = createAdaptorServer({ fetch: app.fetch });
    const port = await listen(server, config.port, config.host);
    // Workers start only once the port is ours: a hub that cannot listen must leave nothing running.
    const intake = new IntakeWorker(store, logger);
    await intake.start();
    const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`;
    logger.info({ url, store: store.mode, location: store.location }, "switchboard is listening");
    return {
      url,
      store,
      async close() {
        await new Promise<void>((done) => server.close(() => done()));
        await intake.stop();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

function listen(server: ReturnType<typeof createAdaptorServer>, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      reject(error.code === "EADDRINUSE" ? new AppError("port_in_use", { port, host }) : error);
    });
    server.listen(port, host, () => {
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}
