import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { AppError, type Translated } from "../errors/app-error.ts";
import { Egress } from "../net/egress.ts";
import { fetchMedia } from "./fetch.ts";

// The test server is on loopback, which the hub refuses unless configured to allow it.
const egress = new Egress({ allow: ["127.0.0.1"] });

let origin = "";
const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://x");
  switch (url.pathname) {
    case "/files/photo%20one.jpg":
      res
        .writeHead(200, { "content-type": "image/jpeg; charset=binary" })
        .end(Buffer.from([0xff, 0xd8, 0xff]));
      return;
    case "/download":
      res
        .writeHead(200, {
          "content-type": "application/pdf",
          "content-disposition": "attachment; filename*=UTF-8''%D0%A1%D1%87%D1%91%D1%82.pdf",
        })
        .end("%PDF");
      return;
    case "/missing":
      res.writeHead(404).end("no");
      return;
    case "/busy":
      res.writeHead(503).end("later");
      return;
    case "/big":
      res.writeHead(200, { "content-length": "2000" }).end(Buffer.alloc(2000));
      return;
    case "/stream":
      res.writeHead(200); // chunked: no length announced
      res.write(Buffer.alloc(600));
      res.end(Buffer.alloc(600));
      return;
    case "/round":
      res.writeHead(302, { location: "/round" }).end();
      return;
    case "/to-loopback":
      res.writeHead(302, { location: `${origin}/download` }).end();
      return;
    case "/slow":
      return; // never answers
    default:
      res.writeHead(500).end();
  }
});

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Fails with `code`, its reason matching `reason` in English and given in Russian too. */
async function failsWith(promise: Promise<unknown>, code: string, reason: RegExp): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.code, code);
    const given = error.params.reason as Translated;
    assert.match(given.en, reason);
    assert.match(given.ru, /[а-яё]/i, `a Russian reason for ${given.en}`);
    return error;
  }
  assert.fail("expected a failure");
}

describe("fetchMedia", () => {
  it("downloads a file with its type and name", async () => {
    const media = await fetchMedia(`${origin}/files/photo%20one.jpg?sig=secret`, { egress });
    assert.deepEqual(media, {
      data: Buffer.from([0xff, 0xd8, 0xff]),
      contentType: "image/jpeg",
      filename: "photo one.jpg",
    });
    const doc = await fetchMedia(`${origin}/download`, { egress });
    assert.equal(doc.filename, "Счёт.pdf");
  });

  it("tells a lasting refusal from a passing one", async () => {
    const missing = await failsWith(
      fetchMedia(`${origin}/missing?token=secret`, { egress }),
      "media_url_unusable",
      /404/,
    );
    assert.equal(missing.params.url, `${origin}/missing`, "no query string in the error");
    // In Russian answers the reason is Russian too, not English inside a Russian sentence.
    assert.equal(
      missing.render("ru").message,
      `Вложение по адресу ${origin}/missing нельзя использовать: сервер ответил 404`,
    );
    const round = await failsWith(
      fetchMedia(`${origin}/round`, { egress }),
      "media_url_unusable",
      /^more than 5 redirects$/,
    );
    assert.match(round.render("ru").message, /: больше 5 перенаправлений$/);
    const busy = await failsWith(fetchMedia(`${origin}/busy`, { egress }), "media_fetch_failed", /503/);
    assert.equal(busy.entry.class, "retryable");
  });

  it("refuses files over the limit, announced or streamed", async () => {
    await failsWith(
      fetchMedia(`${origin}/big`, { maxBytes: 1000, egress }),
      "media_url_unusable",
      /larger than 1000 bytes/,
    );
    await failsWith(
      fetchMedia(`${origin}/stream`, { maxBytes: 1000, egress }),
      "media_url_unusable",
      /larger than 1000 bytes/,
    );
    assert.equal((await fetchMedia(`${origin}/stream`, { maxBytes: 1200, egress })).data.length, 1200);
  });

  it("refuses what is not http(s)", async () => {
    const file = await failsWith(
      fetchMedia("file:///etc/passwd", { egress }),
      "media_url_unusable",
      /http and https/,
    );
    assert.match(file.render("ru").message, /: принимаются только адреса http и https$/);
    const text = await failsWith(fetchMedia("not a url", { egress }), "media_url_unusable", /not a URL/);
    assert.match(text.render("ru").message, /: это не URL-адрес$/);
  });

  it("calls a timeout and a refused connection passing failures", async () => {
    const slow = await failsWith(
      fetchMedia(`${origin}/slow`, { timeoutMs: 200, egress }),
      "media_fetch_failed",
      /no answer within 0.2 s/,
    );
    assert.match(slow.render("ru").message, /: нет ответа за 0.2 с$/);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = await failsWith(
      fetchMedia(`http://127.0.0.1:${port}/x`, { egress }),
      "media_fetch_failed",
      /ECONNREFUSED/,
    );
    assert.match(refused.render("ru").message, /: соединение не удалось \(ECONNREFUSED\)$/);
  });

  it("refuses non-public addresses, before and after a redirect", async () => {
    const guarded = new Egress({ allow: [] });
    const refused = await failsWith(
      fetchMedia(`${origin}/download`, { egress: guarded }),
      "media_url_unusable",
      /127\.0\.0\.1.*not a public address/,
    );
    assert.equal(refused.status, 422);
    assert.match(refused.render("ru").message, /: 127\.0\.0\.1 — не публичный адрес$/);
    for (const inside of ["http://10.0.0.1/x", "http://169.254.169.254/latest", "http://[::1]/x"]) {
      await failsWith(fetchMedia(inside, { egress: guarded }), "media_url_unusable", /not a public address/);
    }
    // The error shows the URL without what may be secret in it: credentials, query, fragment.
    const secret = await failsWith(
      fetchMedia("http://user:s3cret@10.0.0.1/photo.jpg?sig=s3cret#s3cret", { egress: guarded }),
      "media_url_unusable",
      /not a public address/,
    );
    assert.equal(secret.params.url, "http://10.0.0.1/photo.jpg");
    // `localhost` is allowed by name; it redirects to 127.0.0.1, which is not.
    const byName = new Egress({ allow: ["localhost"] });
    const viaName = origin.replace("127.0.0.1", "localhost");
    await failsWith(
      fetchMedia(`${viaName}/to-loopback`, { egress: byName }),
      "media_url_unusable",
      /127\.0\.0\.1.*not a public address/,
    );
    assert.equal(
      (await fetchMedia(`${viaName}/download`, { egress: byName })).contentType,
      "application/pdf",
    );
  });
});
