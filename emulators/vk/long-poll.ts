/**
 * Bots Long Poll (reference §2): groups.getLongPollServer hands out `{key, server, ts}`;
 * `GET {server}?act=a_check&key&ts&wait` answers at once when events at or after `ts` exist,
 * else waits up to `wait` seconds (at most 90) and answers `{ts, updates: []}`. Failures:
 * `{failed:1, ts}` (history lost, go on from ts; ts is a number here), `{failed:2}` (key expired),
 * `{failed:3}` (information lost). The control API can force each one.
 */
import { Hono } from "hono";
import { envelope, isSubscribed, type VkEvent } from "./events.ts";
import { enact } from "./faults.ts";
import type { Runtime } from "./runtime.ts";
import { hex } from "./state.ts";

type Answer = { ts: string; updates: unknown[] } | { failed: 1; ts: number } | { failed: 2 | 3 };

interface Waiter {
  ts: number;
  answer: (body: Answer) => void;
}

interface Channel {
  nextTs: number;
  /** Events with a smaller ts were dropped from the history. */
  lostBefore: number;
  history: { ts: number; update: unknown }[];
  keys: Map<string, { issuedAt: number; failed?: 2 | 3 }>;
  failNext1: boolean;
  waiters: Set<Waiter>;
}

const maxKeys = 100;

export class LongPoll {
  readonly #channels = new Map<number, Channel>();
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(private readonly runtime: Pick<Runtime, "state" | "options" | "baseUrl">) {}

  /** groups.getLongPollServer: a fresh key; earlier keys stay valid until forced or expired. */
  issue(groupId: number) {
    const channel = this.#channel(groupId);
    const key = hex(20);
    channel.keys.set(key, { issuedAt: Date.now() });
    if (channel.keys.size > maxKeys) {
      const oldest = channel.keys.keys().next().value;
      if (oldest !== undefined) channel.keys.delete(oldest);
    }
    return { key, server: `${this.runtime.baseUrl()}/lp/${groupId}`, ts: String(channel.nextTs) };
  }

  /** The bus calls this for every event. */
  readonly onEvent = (event: VkEvent) => {
    const community = this.runtime.state.communities.get(event.groupId);
    if (!community?.longPoll.enabled || !isSubscribed(community.longPoll.events, event.type)) return;
    const channel = this.#channel(event.groupId);
    channel.history.push({ ts: channel.nextTs, update: envelope(event, community.longPoll.apiVersion) });
    channel.nextTs += 1;
    const limit = this.runtime.options.longPoll.historyLimit;
    while (channel.history.length > limit) {
      const dropped = channel.history.shift();
      if (dropped) channel.lostBefore = dropped.ts + 1;
    }
    for (const waiter of channel.waiters) {
      const updates = this.#since(channel, waiter.ts);
      if (updates.length > 0) waiter.answer({ ts: String(channel.nextTs), updates });
    }
  };

  /** Makes the next check fail (1), or every current key fail (2, 3); pending checks answer now. */
  force(groupId: number, failed: 1 | 2 | 3) {
    const channel = this.#channel(groupId);
    if (failed === 1) {
      if (channel.waiters.size === 0) channel.failNext1 = true;
      for (const waiter of channel.waiters) waiter.answer({ failed: 1, ts: channel.nextTs });
      return;
    }
    for (const key of channel.keys.values()) key.failed = failed;
    for (const waiter of channel.waiters) waiter.answer({ failed });
  }

  /** Answers every pending check with no updates (used by close). */
  close() {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const channel of this.#channels.values()) {
      for (const waiter of channel.waiters) waiter.answer({ ts: String(channel.nextTs), updates: [] });
    }
  }

  reset() {
    this.close();
    this.#channels.clear();
  }

  check(groupId: number, key: string, tsParam: string, waitSeconds: number): Promise<Answer> | Answer {
    const community = this.runtime.state.communities.get(groupId);
    const channel = this.#channel(groupId);
    const issued = channel.keys.get(key);
    if (!community || !issued) return { failed: 2 };
    if (issued.failed) return { failed: issued.failed };
    const ttl = this.runtime.options.longPoll.keyTtlMs;
    if (!community.longPoll.enabled || (ttl !== null && Date.now() - issued.issuedAt > ttl))
      return { failed: 2 };
    const ts = Number(tsParam);
    if (channel.failNext1 || !Number.isInteger(ts) || ts < channel.lostBefore || ts > channel.nextTs) {
      channel.failNext1 = false;
      return { failed: 1, ts: channel.nextTs };
    }
    const updates = this.#since(channel, ts);
    if (updates.length > 0 || waitSeconds <= 0) return { ts: String(channel.nextTs), updates };
    return new Promise<Answer>((resolve) => {
      const waiter: Waiter = {
        ts,
        answer: (body) => {
          clearTimeout(timer);
          this.#timers.delete(timer);
          channel.waiters.delete(waiter);
          resolve(body);
        },
      };
      const timer = setTimeout(
        () => waiter.answer({ ts: String(channel.nextTs), updates: [] }),
        waitSeconds * 1000,
      );
      this.#timers.add(timer);
      channel.waiters.add(waiter);
    });
  }

  routes(runtime: Runtime) {
    const app = new Hono();
    app.on(["GET", "POST"], "/lp/:groupId", async (c) => {
      const groupId = Number(c.req.param("groupId"));
      const fault = runtime.faults.take("lp", { groupId });
      if (fault) {
        const early = await enact(c, fault, runtime.baseUrl());
        if (early) return early;
      }
      if (c.req.query("act") !== "a_check") return c.json({ error: "act must be a_check" }, 400);
      const { maxWait, defaultWait } = runtime.options.longPoll;
      const waitParam = Number(c.req.query("wait") ?? defaultWait);
      const wait = Math.min(maxWait, Math.max(0, Number.isFinite(waitParam) ? waitParam : defaultWait));
      return c.json(await this.check(groupId, c.req.query("key") ?? "", c.req.query("ts") ?? "", wait));
    });
    return app;
  }

  #since(channel: Channel, ts: number) {
    return channel.history.filter((h) => h.ts >= ts).map((h) => h.update);
  }

  #channel(groupId: number): Channel {
    let channel = this.#channels.get(groupId);
    if (!channel) {
      channel = {
        nextTs: 1,
        lostBefore: 0,
        history: [],
        keys: new Map(),
        failNext1: false,
        waiters: new Set(),
      };
      this.#channels.set(groupId, channel);
    }
    return channel;
  }
}
