/**
 * Servers under test run in child processes of their own, forked from the benchmark's file with
 * `--serve <spec>`, so that the load generator (the parent) does not share their event loop.
 * BENCH_CPU_PROF=<dir> writes a V8 CPU profile of every server process into <dir>.
 */
import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";

export interface Served<R> {
  ready: R;
  close(): Promise<void>;
}

/** Parent side: forks `file --serve <spec>` and resolves with what the child reports when ready. */
export async function startChild<R>(
  file: string,
  spec: unknown,
  label: string,
): Promise<R & { pid: number; stop(): Promise<void> }> {
  const profileDir = process.env.BENCH_CPU_PROF;
  const child: ChildProcess = fork(file, ["--serve", JSON.stringify(spec)], {
    stdio: "inherit",
    execArgv: [...process.execArgv, ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [])],
  });
  const exited = once(child, "exit");
  const ready = await new Promise<R>((resolve, reject) => {
    child.on("message", (message: { ready?: R }) => {
      if (message?.ready) resolve(message.ready);
    });
    exited.then(([code]) =>
      reject(new Error(`the ${label} server exited with code ${code} before it was ready`)),
    );
  });
  return {
    ...ready,
    pid: child.pid as number,
    async stop() {
      if (child.exitCode !== null) return;
      child.send("close");
      await Promise.race([exited, new Promise((done) => setTimeout(done, 10_000).unref())]);
      if (child.exitCode === null) child.kill();
    },
  };
}

/** Child side: starts the server, reports it ready, and closes it when the parent says so. */
export function serveChild<R>(start: () => Promise<Served<R>>) {
  // Orphaned by a crashed parent: leave rather than hold a port and a database.
  process.on("disconnect", () => process.exit(0));
  start().then(
    ({ ready, close }) => {
      process.on("message", async (message) => {
        if (message !== "close") return;
        await close();
        process.send?.("closed");
        process.disconnect();
      });
      process.send?.({ ready });
    },
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}

/** The baseline: a plain Hono app. GET /bare answers a constant JSON; POST /bare reads the body and answers `ok`. */
export async function serveBare(): Promise<Served<{ url: string }>> {
  const { Hono } = await import("hono");
  const { createAdaptorServer } = await import("@hono/node-server");
  const app = new Hono();
  app.get("/bare", (c) => c.json({ status: "ok" }));
  app.post("/bare", async (c) => {
    await c.req.text();
    return c.text("ok");
  });
  const server = createAdaptorServer({ fetch: app.fetch });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    ready: { url: `http://127.0.0.1:${port}` },
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

/** Runs `main` as the benchmark, or, when forked with --serve, the server `serve` builds from the spec. */
export function benchmark<S, R>(main: () => Promise<number>, serve: (spec: S) => Promise<Served<R>>) {
  if (process.argv[2] === "--serve") {
    serveChild(() => serve(JSON.parse(process.argv[3] as string) as S));
  } else {
    main().then(
      (code) => process.exit(code),
      (error) => {
        console.error(error);
        process.exit(1);
      },
    );
  }
}
