import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import type { Logger } from "pino";
import { AppError } from "../errors/app-error.ts";
import { answerClientErrors } from "../http/client-errors.ts";
import { pickLanguage } from "../http/errors.ts";

/** Errors of `listen` that mean the address is not this machine's to take (or not at all). */
const unavailable = new Set(["EADDRNOTAVAIL", "ENOTFOUND", "EAI_AGAIN", "EAI_FAIL", "EAI_NONAME", "EACCES"]);

/**
 * A server's failure to listen, as the catalogue says it: the port taken (by whom it was meant
 * for: the hub, or the sandbox's VK emulator), or an address or port this process cannot have.
 * Anything else is returned as it is.
 */
export function listenFailure(
  error: unknown,
  port: number,
  host: string,
  server: "hub" | "emulator" = "hub",
) {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "EADDRINUSE")
    return new AppError(server === "hub" ? "port_in_use" : "emulator_port_in_use", { port, host });
  if (code && unavailable.has(code))
    return new AppError("listen_failed", { port, host, reason: (error as Error).message }, { cause: error });
  return error;
}

type Fetch = (request: Request) => Response | Promise<Response>;

export interface EarlyServer {
  /** The port it listens on (the one the system chose, for port 0). */
  port: number;
  /** From now on, requests go to `fetch` (the hub's app). */
  serve(fetch: Fetch): void;
  /** Stops taking connections and resolves once those it has are answered. */
  close(): Promise<void>;
}

/** Seconds a caller is asked to wait while the hub starts (a start takes a few). */
const startingRetryAfter = 2;

/**
 * The hub's HTTP server, listening before the hub opens or changes anything: a start that cannot
 * have its address fails before it creates a store or an admin key, and no other program can take
 * the address while the store is opened and migrated. Until `serve` is called, every request is
 * answered `503 hub_starting`, with Retry-After.
 */
export async function listenEarly(port: number, host: string, logger: Logger): Promise<EarlyServer> {
  let serving: Fetch | undefined;
  const server = createAdaptorServer({
    fetch: (request: Request) => (serving ? serving(request) : answerStarting(request)),
  }) as Server;
  // A reverse proxy or load balancer keeps its connections to the hub open for up to a minute
  // (nginx's upstream keepalive_timeout, AWS's idle timeout: 60 s). Closing one sooner, as Node's
  // 5 s would, races a request the proxy is sending on it: that request fails (a 502). Idle
  // connections still end at once when the hub stops (`close`).
  server.keepAliveTimeout = 65_000;
  answerClientErrors(server, logger);
  const bound = await new Promise<number>((resolve, reject) => {
    server.once("error", (error) => reject(listenFailure(error, port, host)));
    server.listen(port, host, () => {
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
  return {
    port: bound,
    serve(fetch) {
      serving = fetch;
    },
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

/** The answer to every request while the hub starts, in the catalogue's shape. */
function answerStarting(request: Request): Response {
  const error = new AppError("hub_starting", {}, { retryAfter: startingRetryAfter });
  const requestId = randomUUID();
  const language = pickLanguage(request.headers.get("accept-language") ?? undefined);
  return Response.json(
    { error: { ...error.render(language), request_id: requestId } },
    { status: error.status, headers: { "retry-after": String(error.retryAfter), "x-request-id": requestId } },
  );
}
