/**
 * Callback API delivery (reference §1): the confirmation handshake after a server is added or
 * edited, then one JSON POST per event to every `ok` server subscribed to its type. An attempt
 * fails on a non-200 status, a body other than exactly `ok` (a BOM counts), or a timeout; retries
 * carry `X-Retry-Counter`; `failThreshold` failures in a row turn the server `failed`.
 */
import { createHash } from "node:crypto";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { VkEmulatorOptions } from "./config.ts";
import { envelope, isSubscribed, newEventId, type VkEvent } from "./events.ts";
import type { CallbackServer } from "./model.ts";
import type { VkState } from "./state.ts";

type Options = VkEmulatorOptions["callback"];

export interface DeliveryRecord {
  id: number;
  groupId: number;
  serverId: number;
  url: string;
  type: string;
  eventId: string;
  /** 0 for the first attempt. */
  attempt: number;
  /** The `X-Retry-Counter` sent, if any. */
  retryCounter: number | null;
  request: unknown;
  status: number | null;
  body: string;
  error?: string;
  outcome: "ok" | "failed" | "deferred" | "removed" | "confirmed" | "refused";
  /** No further attempt will follow for this event and server. */
  final: boolean;
  durationMs: number;
  at: number;
}

interface PostResult {
  status: number | null;
  body: Buffer;
  retryAfter: string | undefined;
  error?: string;
}

const deferStatuses = new Set([410, 429, 503]);

export class CallbackDelivery {
  readonly log: DeliveryRecord[] = [];
  readonly #timers = new Map<string, Set<NodeJS.Timeout>>();
  readonly #generation = new Map<string, number>();
  /** Requests on the wire, destroyed by close(). */
  readonly #inflight = new Set<{ destroy(): void }>();
  #nextId = 1;
  #closed = false;

  constructor(
    private readonly state: VkState,
    private readonly options: Options,
    private readonly logLimit: number,
  ) {}

  /** The bus calls this for every event. */
  readonly onEvent = (event: VkEvent) => {
    const community = this.state.communities.get(event.groupId);
    if (!community) return;
    for (const server of community.servers.values()) {
      if (server.status === "ok" && isSubscribed(server.events, event.type)) this.#deliver(server, event, 0);
    }
  };

  /** Starts the handshake a new or edited server gets; a newer handshake supersedes an older one. */
  confirm(server: CallbackServer) {
    const key = keyOf(server);
    const generation = (this.#generation.get(key) ?? 0) + 1;
    this.#generation.set(key, generation);
    this.cancel(server);
    server.status = "unconfigured";
    this.#later(server, this.options.confirmationDelayMs, () => void this.#handshake(server, generation));
  }

  /** Forgets the server's pending retries (deleted, failed, or edited). */
  cancel(server: CallbackServer) {
    const key = keyOf(server);
    for (const timer of this.#timers.get(key) ?? []) clearTimeout(timer);
    this.#timers.delete(key);
  }

  /** Forgets pending retries, handshakes and the log (control reset). */
  reset() {
    for (const timers of this.#timers.values()) for (const timer of timers) clearTimeout(timer);
    this.#timers.clear();
    this.#generation.clear();
    this.log.length = 0;
  }

  close() {
    this.#closed = true;
    for (const request of this.#inflight) request.destroy();
    for (const timers of this.#timers.values()) for (const timer of timers) clearTimeout(timer);
    this.#timers.clear();
  }

  async #handshake(server: CallbackServer, generation: number) {
    const community = this.state.communities.get(server.groupId);
    if (this.#closed || !community || community.servers.get(server.id) !== server) return;
    server.status = "wait";
    const request = {
      type: "confirmation",
      group_id: server.groupId,
      event_id: newEventId(),
      v: server.apiVersion,
      ...(server.secretKey ? { secret: server.secretKey } : {}),
    };
    const started = Date.now();
    const result = await post(server.url, request, {}, this.options.timeoutMs, this.#inflight);
    if (this.#generation.get(keyOf(server)) !== generation || community.servers.get(server.id) !== server)
      return;
    const expected = server.confirmationCode ?? community.confirmationCode;
    const confirmed = result.status === 200 && result.body.equals(Buffer.from(expected));
    server.status = confirmed ? "ok" : "failed";
    server.consecutiveFailures = 0;
    this.#record(server, "confirmation", request.event_id, 0, null, request, result, started, {
      outcome: confirmed ? "confirmed" : "refused",
      final: true,
    });
  }

  #deliver(server: CallbackServer, event: VkEvent, attempt: number) {
    if (this.#closed || server.status !== "ok") return;
    const eventId = this.options.sameEventIdAcrossServers
      ? event.eventId
      : createHash("sha1").update(`${event.eventId}:${server.id}`).digest("hex");
    const body = envelope(event, server.apiVersion, { secret: server.secretKey, eventId });
    const retryCounter = attempt === 0 ? null : this.options.retryCounterStart + attempt - 1;
    const headers: Record<string, string> =
      retryCounter === null ? {} : { "X-Retry-Counter": String(retryCounter) };
    const started = Date.now();
    void post(server.url, body, headers, this.options.timeoutMs, this.#inflight).then((result) => {
      const community = this.state.communities.get(server.groupId);
      if (this.#closed || community?.servers.get(server.id) !== server) return;
      const record = (outcome: DeliveryRecord["outcome"], final: boolean) =>
        this.#record(server, event.type, eventId, attempt, retryCounter, body, result, started, {
          outcome,
          final,
        });
      const text = result.body.toString("latin1");
      const canRetry = attempt < this.options.maxRetries;

      if (result.status === 200 && text === "ok") {
        server.consecutiveFailures = 0;
        return record("ok", true);
      }
      if (result.status === 200 && text === "remove" && this.options.honourRemove) {
        this.cancel(server);
        community.servers.delete(server.id);
        return record("removed", true);
      }
      const retryAfter = parseRetryAfter(result.retryAfter);
      if (
        this.options.honourRetryAfter &&
        result.status !== null &&
        deferStatuses.has(result.status) &&
        retryAfter !== undefined
      ) {
        record("deferred", !canRetry);
        const delay = Math.min(retryAfter * this.options.retryAfterUnitMs, this.options.maxRetryAfterMs);
        if (canRetry) this.#later(server, delay, () => this.#deliver(server, event, attempt + 1));
        return;
      }
      server.consecutiveFailures += 1;
      if (server.consecutiveFailures >= this.options.failThreshold) {
        server.status = "failed";
        this.cancel(server);
        return record("failed", true);
      }
      record("failed", !canRetry);
      if (canRetry) {
        const delays = this.options.retryDelaysMs;
        const delay = delays[Math.min(attempt, delays.length - 1)] ?? 0;
        this.#later(server, delay, () => this.#deliver(server, event, attempt + 1));
      }
    });
  }

  #later(server: CallbackServer, delayMs: number, run: () => void) {
    if (this.#closed) return;
    const key = keyOf(server);
    const timers = this.#timers.get(key) ?? new Set();
    this.#timers.set(key, timers);
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, delayMs);
    timers.add(timer);
  }

  #record(
    server: CallbackServer,
    type: string,
    eventId: string,
    attempt: number,
    retryCounter: number | null,
    request: unknown,
    result: PostResult,
    started: number,
    fields: Pick<DeliveryRecord, "outcome" | "final">,
  ) {
    this.log.push({
      id: this.#nextId++,
      groupId: server.groupId,
      serverId: server.id,
      url: server.url,
      type,
      eventId,
      attempt,
      retryCounter,
      request,
      status: result.status,
      body: result.body.toString("utf8").slice(0, 500),
      ...(result.error ? { error: result.error } : {}),
      ...fields,
      durationMs: Date.now() - started,
      at: started,
    });
    if (this.log.length > this.logLimit) this.log.shift();
  }
}

const keyOf = (server: CallbackServer) => `${server.groupId}:${server.id}`;

/** Seconds from `Retry-After` (delta-seconds or an HTTP date). */
function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** One JSON POST over a fresh connection; never rejects. */
function post(
  url: string,
  body: unknown,
  headers: Record<string, string>,
  timeoutMs: number,
  inflight: Set<{ destroy(): void }>,
): Promise<PostResult> {
  return new Promise((resolve) => {
    const payload = Buffer.from(JSON.stringify(body));
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      resolve({ status: null, body: Buffer.alloc(0), retryAfter: undefined, error: "invalid url" });
      return;
    }
    const send = target.protocol === "https:" ? httpsRequest : httpRequest;
    let settled = false;
    const finish = (result: PostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      inflight.delete(request);
      resolve(result);
    };
    const request = send(
      target,
      {
        method: "POST",
        agent: false,
        headers: { "Content-Type": "application/json", "Content-Length": payload.length, ...headers },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          finish({
            status: response.statusCode ?? null,
            body: Buffer.concat(chunks),
            retryAfter: headerValue(response.headers["retry-after"]),
          }),
        );
        response.on("error", (error) => finish(failure(error.message)));
      },
    );
    const timer = setTimeout(() => {
      finish(failure("timeout"));
      request.destroy();
    }, timeoutMs);
    inflight.add(request);
    request.on("error", (error) => finish(failure(error.message)));
    request.end(payload);
  });
}

const failure = (error: string): PostResult => ({
  status: null,
  body: Buffer.alloc(0),
  retryAfter: undefined,
  error,
});
const headerValue = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);
