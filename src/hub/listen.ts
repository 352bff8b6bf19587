import { createServer } from "node:net";
import { AppError } from "../errors/app-error.ts";

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

/**
 * Takes `host`:`port` for a moment and lets it go, so that a start that could not listen fails
 * before it creates or changes anything (the store, a first start's admin key). Another program
 * may still take the port in the moment between; the real `listen` then fails the same way.
 */
export function ensureCanListen(port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (error) => reject(listenFailure(error, port, host)));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}
