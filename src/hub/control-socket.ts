/**
 * The control socket of a hub on an embedded store: a Unix socket in the data directory through
 * which a command that cannot open the store while the hub holds it (`switchboard doctor`) asks
 * the hub instead. The file system decides who may ask, as it does for the store itself: the
 * socket is its owner's alone (0600), and says nothing a reader of the data directory could not
 * read there.
 */
import { chmodSync, rmSync } from "node:fs";
import { createServer, request } from "node:http";
import { join } from "node:path";
import type { Logger } from "pino";
import type { CheckResult } from "./diagnosis.ts";

/** What the hub says of itself and its store when doctor asks. */
export interface HubDiagnosis {
  pid: number;
  /** Where its API answers. */
  url: string;
  /** The checks of its store: migrations, stored secrets, channels (diagnosis.ts). */
  checks: CheckResult[];
}

export interface ControlSocket {
  path: string;
  close(): Promise<void>;
}

export function controlSocketPath(dataDir: string): string {
  return join(dataDir, "hub.sock");
}

/**
 * The longest socket path the system takes (`sun_path` less its NUL). Node does not refuse a
 * longer one: it cuts it short and listens somewhere else.
 */
const longestPath = process.platform === "darwin" ? 103 : 107;

/**
 * Listens on the data directory's control socket, answering `GET /diagnosis` with `diagnose()`.
 * The caller holds the data directory's lock, so a socket file found there is a dead hub's and
 * is replaced. Undefined, with a warning, when the directory's path is too long for a socket or
 * the socket cannot be made there.
 */
export async function openControlSocket(
  dataDir: string,
  diagnose: () => Promise<HubDiagnosis>,
  logger: Logger,
): Promise<ControlSocket | undefined> {
  const path = controlSocketPath(dataDir);
  if (Buffer.byteLength(path) > longestPath) {
    logger.warn(
      { path, longest: longestPath },
      "the data directory's path is too long for the control socket: doctor cannot ask this hub about its channels",
    );
    return undefined;
  }
  const server = createServer((req, res) => {
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    if (req.method !== "GET" || req.url !== "/diagnosis") return answer(404, { error: "unknown request" });
    diagnose().then(
      (diagnosis) => answer(200, diagnosis),
      (error: unknown) => {
        logger.error({ err: error }, "the control socket's diagnosis failed");
        answer(500, { error: (error as Error).message });
      },
    );
  });
  try {
    rmSync(path, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => {
        server.off("error", reject);
        resolve();
      });
    });
    chmodSync(path, 0o600);
  } catch (error) {
    // Doctor's way in is not worth a hub that does not start (some mounted file systems take no sockets).
    server.close();
    logger.warn(
      { err: error, path },
      "the control socket cannot be opened: doctor cannot ask this hub about its channels",
    );
    return undefined;
  }
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Asks the hub that holds `dataDir` for its diagnosis. Rejects with the reason it got none: no
 * socket (a hub still starting, an older hub, a path too long for one), no answer in
 * `timeoutMs`, or a failed one.
 */
export function askHub(dataDir: string, timeoutMs: number): Promise<HubDiagnosis> {
  const socketPath = controlSocketPath(dataDir);
  return new Promise((resolve, reject) => {
    const asking = request({ socketPath, path: "/diagnosis", timeout: timeoutMs, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        try {
          const body = JSON.parse(text);
          if (res.statusCode === 200) resolve(body as HubDiagnosis);
          else reject(new Error(`the hub answered ${res.statusCode}: ${body.error ?? text}`));
        } catch {
          reject(new Error(`the hub answered ${res.statusCode} with something other than JSON`));
        }
      });
    });
    asking.on("timeout", () => asking.destroy(new Error(`no answer in ${timeoutMs / 1000} s`)));
    asking.on("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "ENOENT" || error.code === "ECONNREFUSED"
          ? new Error(
              `nothing answers at its control socket ${socketPath} (a hub opens it once its store is ready; a hub older than this version has none)`,
            )
          : error,
      ),
    );
    asking.end();
  });
}
