/**
 * For tests only: a few lines of node:http answering VK-shaped JSON, enough to prove the client's
 * base URL, token rotation, agent and error mapping. The full conformance suite runs against the
 * VK emulator (emulators/vk).
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface StubRequest {
  /** e.g. `/method/messages.send` or `/upload/photo`. */
  path: string;
  /** Form fields (for API calls) and query parameters. */
  params: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** An answer that is not VK JSON: a status, a body and its content type. */
export class RawAnswer {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly contentType = "text/plain",
  ) {}
}

export type StubHandler = (request: StubRequest) => unknown;

export interface VkStub {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** `<origin>/method`, the `apiBaseUrl` to give the client. */
  apiBaseUrl: string;
  requests: StubRequest[];
  /** The API calls only: method name and form fields. */
  calls(): { method: string; params: Record<string, string> }[];
  close(): Promise<void>;
}

export async function startVkStub(handler: StubHandler): Promise<VkStub> {
  const requests: StubRequest[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? "/", "http://stub");
    const params = Object.fromEntries(url.searchParams);
    if ((req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded"))
      Object.assign(params, Object.fromEntries(new URLSearchParams(body.toString("utf8"))));
    const request = { path: url.pathname, params, headers: req.headers, body };
    requests.push(request);
    try {
      const answer = await handler(request);
      if (answer instanceof RawAnswer) {
        res.writeHead(answer.status, { "content-type": answer.contentType }).end(answer.body);
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
    } catch (error) {
      res.writeHead(500, { "content-type": "text/plain" }).end(String(error));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    apiBaseUrl: `${origin}/method`,
    requests,
    calls: () =>
      requests
        .filter((r) => r.path.startsWith("/method/"))
        .map((r) => ({ method: r.path.slice("/method/".length), params: r.params })),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** VK's error body. */
export function vkError(code: number, message: string) {
  return { error: { error_code: code, error_msg: message, request_params: [] } };
}
