/**
 * Requests Node's HTTP server refuses before the app sees them. Headers over Node's limit
 * (`http.maxHeaderSize`: 16 KiB unless Node runs with `--max-http-header-size`) are answered
 * with the catalogued `headers_too_large` body instead of Node's bare 431; everything else is
 * answered as Node does.
 */
import { randomUUID } from "node:crypto";
import http, { type Server } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { AppError } from "../errors/app-error.ts";

/** Node's own answers to the other request errors, as its server writes them. */
const nodeAnswers: Record<string, number> = {
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

export function answerClientErrors(server: Server, logger?: Logger): void {
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    // Nothing may be written once an answer to this connection has begun.
    const answered = (socket as Duplex & { _httpMessage?: { _headerSent?: boolean } })._httpMessage
      ?._headerSent;
    if (socket.writable && !answered) {
      if (error.code === "HPE_HEADER_OVERFLOW") {
        const requestId = randomUUID();
        logger?.info({ request_id: requestId, status: 431 }, "request headers over the limit");
        socket.write(headersTooLarge(http.maxHeaderSize, requestId));
      } else {
        const status = nodeAnswers[error.code ?? ""] ?? 400;
        socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\n\r\n`);
      }
    }
    socket.destroy(error);
  });
}

/**
 * The whole 431 answer, in English: the headers that would say which language the caller reads
 * are the ones that could not be read.
 */
function headersTooLarge(limit: number, requestId: string): string {
  const error = new AppError("headers_too_large", { limit });
  const body = JSON.stringify({ error: { ...error.render("en"), request_id: requestId } });
  return [
    `HTTP/1.1 431 ${http.STATUS_CODES[431]}`,
    "Content-Type: application/json",
    `Content-Length: ${Buffer.byteLength(body)}`,
    `X-Request-Id: ${requestId}`,
    "Connection: close",
    "",
    body,
  ].join("\r\n");
}
