import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { Egress } from "../net/egress.ts";
import { type Clock, type DeliveryOptions, DeliveryWorker } from "../pipeline/webhooks/worker.ts";
import type { Db, Store } from "../store/database.ts";
import { createWorkspace } from "../store/repositories/workspaces.ts";
import { webhookEndpoint } from "../store/schema.ts";
import { SecretBox } from "../store/secret-box.ts";

/** One request a receiver got. */
export interface Receipt {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** How a receiver answers a request: a status, and optionally headers and a body. */
export type Answer =
  | { status: number; headers?: Record<string, string>; body?: string; afterMs?: number }
  | "hang";

/**
 * A webhook receiver on 127.0.0.1 that records every request and answers as `answer` says
 * (200 by default). It can go down and come back on the same port.
 */
export class Receiver {
  readonly receipts: Receipt[] = [];
  /** The most requests it held unanswered at once, in all and by path. */
  maxOpen = 0;
  readonly maxOpenByPath = new Map<string, number>();
  #open = 0;
  readonly #openByPath = new Map<string, number>();
  answer: (receipt: Receipt) => Answer = () => ({ status: 200, body: "ok" });
  #server: Server | undefined;
  #port = 0;
  /** Requests held open by `hang`, answered (or dropped) when the receiver goes down. */
  readonly #held = new Set<() => void>();

  static async start(): Promise<Receiver> {
    const receiver = new Receiver();
    await receiver.up();
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  async up(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const receipt = {
          path: req.url ?? "/",
          headers: req.headers,
          body: Buffer.concat(chunks).toString("utf8"),
          at: Date.now(),
        };
        this.receipts.push(receipt);
        const answer = this.answer(receipt);
        if (answer === "hang") {
          this.#held.add(() => res.destroy());
          return;
        }
        const path = new URL(receipt.path, "http://x").pathname;
        const byPath = (this.#openByPath.get(path) ?? 0) + 1;
        this.#openByPath.set(path, byPath);
        this.maxOpenByPath.set(path, Math.max(this.maxOpenByPath.get(path) ?? 0, byPath));
        this.maxOpen = Math.max(this.maxOpen, ++this.#open);
        setTimeout(() => {
          this.#open--;
          this.#openByPath.set(path, (this.#openByPath.get(path) ?? 1) - 1);
          res.writeHead(answer.status, answer.headers).end(answer.body ?? "");
        }, answer.afterMs ?? 0);
      });
    });
    await new Promise<void>((resolve) => server.listen(this.#port, "127.0.0.1", resolve));
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Stops listening: connections are refused until `up()`. */
  async down(): Promise<void> {
    for (const drop of this.#held) drop();
    this.#held.clear();
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The parsed bodies received, in order. */
  events(): { id: string; type: string; data: Record<string, unknown> }[] {
    return this.receipts.map((r) => JSON.parse(r.body));
  }
}

/** A clock that stands still until moved, so a retry schedule runs without waiting. */
export class TestClock implements Clock {
  #now: number;

  constructor(start = Date.now()) {
    this.#now = start;
  }

  now(): Date {
    return new Date(this.#now);
  }

  advance(ms: number): void {
    this.#now += ms;
  }
}

/** A delivery worker for tests: loopback allowed, a test clock, the default schedule. */
export function testDeliveryWorker(
  deps: { store: Store; box: SecretBox; egress?: Egress },
  options: Partial<DeliveryOptions> & { clock: Clock },
): DeliveryWorker {
  return new DeliveryWorker(
    {
      store: deps.store,
      box: deps.box,
      egress: deps.egress ?? new Egress({ allow: ["127.0.0.1"] }),
      logger: pino({ level: "silent" }),
    },
    {
      concurrency: 8,
      perTarget: 4,
      timeoutMs: 2_000,
      retrySchedule: [5, 300, 1800, 7200, 18000, 36000, 36000],
      disableAfterHours: 120,
      orderHoldAttempts: 4,
      pollMs: 50,
      ...options,
    },
  );
}

/**
 * A webhook endpoint in a new workspace whose signing secret is sealed with the key of 32 bytes
 * `keyByte`: a stored secret that a hub with another key cannot open.
 */
export async function endpointSealedWith(db: Db, keyByte: number): Promise<void> {
  await db.insert(webhookEndpoint).values({
    workspaceId: (await createWorkspace(db, "Shop")).id,
    url: "https://crm.example/hook",
    secret: new SecretBox(Buffer.alloc(32, keyByte)).seal("whsec_x"),
  });
}
