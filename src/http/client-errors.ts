/**
 * Requests Node's HTTP server refuses before the app sees them. Headers over Node's limit
 * (`http.maxHeaderSize`: 16 KiB unless Node runs with `--max-http-header-size`) are answered
 * with the catalogued `headers_too_large` body instead of Node's bare 431, and a request line
 * whose URL holds raw non-ASCII (`?q=Анна` as curl sends it) with `url_malformed` instead of a
 * bare 400; everything else is answered as Node does.
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
      const refusal = catalogued(error.code);
      if (refusal) {
        const requestId = randomUUID();
        logger?.info(
          { request_id: requestId, status: refusal.status, code: refusal.code },
          "request refused unread",
        );
        socket.write(answer(refusal, requestId));
      } else {
        const status = nodeAnswers[error.code ?? ""] ?? 400;
        socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\n\r\n`);
      }
    }
    socket.destroy(error);
  });
}

/** The catalogued refusal of what Node's parser could not read, if it has one. */
function catalogued(parserCode: string | undefined): AppError | undefined {
  switch (parserCode) {
    case "HPE_HEADER_OVERFLOW":
      return new AppError("headers_too_large", { limit: http.maxHeaderSize });
    case "HPE_INVALID_URL":
      return new AppError("url_malformed");
    default:
      return undefined;
  }
}

/**
 * The whole answer, in English: the headers that would say which language the caller reads
 * were never read.
 */
function answer(error: AppError, requestId: string): string {
  const body = JSON.stringify({ error: { ...error.render("en"), request_id: requestId } });
  return [
    `HTTP/1.1 ${error.status} ${http.STATUS_CODES[error.status]}`,
    "Content-Type: application/json",
    `Content-Length: ${Buffer.byteLength(body)}`,
    `X-Request-Id: ${requestId}`,
    "Connection: close",
    "",
    body,
  ].join("\r\n");
}
