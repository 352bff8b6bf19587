import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A tiny file server on loopback for attachments given by URL: each path answers its file, others 404. */
export async function startFiles(files: Record<string, { body: Buffer; type: string }>) {
  const server: Server = createServer((req, res) => {
    const file = files[req.url ?? ""];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "Content-Type": file.type, "Content-Length": file.body.length }).end(file.body);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
