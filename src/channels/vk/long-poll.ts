/**
 * Bots Long Poll for one VK channel (reference §2): `groups.getLongPollServer`, then
 * `GET {server}?act=a_check&key&ts&wait` in a loop. Each update is stored exactly as a callback
 * delivery is (`storeInboundEvents` under its `event_id`), so the same intake worker processes both
 * and a repeat is stored once.
 *
 * - `failed: 1`: history lost in part; go on from the `ts` VK gives.
 * - `failed: 2`: the key expired; get a new key, keep `ts`.
 * - `failed: 3`: information lost; get a new key and a new `ts`.
 * - network failures, VK errors, HTTP errors: a new key after an exponential pause with jitter
 *   (capped); after `failingAfter` failures in a row the channel is reported `failing`
 *   (`vk_long_poll_failing`), and the first success reports it `online` again.
 *
 * `ts` is saved in the channel's settings (`longPollTs`) after the updates it covers are stored,
 * so a restart resumes where the last process stopped; a crash in between repeats a few updates,
 * which their event ids absorb. Only one process polls a channel: the runner holds the channel's
 * lock (runners.ts) and stops when the lock's signal aborts.
 */
import type { Logger } from "pino";
import { AppError } from "../../errors/app-error.ts";
import type { Store } from "../../store/database.ts";
import {
  type ChannelAccount,
  type ChannelStateChanged,
  mergeChannelSettings,
  transitionChannelState,
} from "../../store/repositories/channel-accounts.ts";
import { storeInboundEvents } from "../../store/repositories/inbound-events.ts";
import type { SecretBox } from "../../store/secret-box.ts";
import { eventIdOf, isEnvelope } from "./callback.ts";
import { vkCredentials, vkSettingsSchema } from "./channel.ts";
import { classifyVkError } from "./errors.ts";
import { managementClient, reasonText } from "./management.ts";
import { handleVkTokenInvalid } from "./tokens.ts";

export interface LongPollOptions {
  /** Seconds VK may hold a check open: 25 is VK's advice (proxies), 90 its maximum. */
  wait: number;
  /** The first pause after a failure; doubled for each further failure, with jitter. */
  backoffBaseMs: number;
  backoffCapMs: number;
  /** Failures in a row after which the channel is reported failing. */
  failingAfter: number;
  /** Timeout of each VK API call (getLongPollServer). */
  callTimeoutMs: number;
}

export const longPollDefaults: LongPollOptions = {
  wait: 25,
  backoffBaseMs: 1_000,
  backoffCapMs: 60_000,
  failingAfter: 3,
  callTimeoutMs: 10_000,
};

export interface LongPollDeps {
  store: Store;
  box: SecretBox;
  logger: Logger;
  /** Told of every state change the loop makes (the hub records `channel.status_changed`). */
  onStateChanged?: ChannelStateChanged;
}

type CheckAnswer = { ts: string; updates: unknown[] } | { failed: number; ts?: string | number };

/** Problems this loop reports, and so may clear when polling works again. */
const ownProblems = ["vk_long_poll_failing"];

/** The pause before attempt `failures + 1`: exponential, capped, with "equal jitter". */
export function backoffDelay(failures: number, baseMs: number, capMs: number, random = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export class VkLongPoller {
  readonly #deps: LongPollDeps;
  readonly #channel: ChannelAccount;
  readonly #options: LongPollOptions;
  readonly #log: Logger;

  constructor(deps: LongPollDeps, channel: ChannelAccount, options: Partial<LongPollOptions> = {}) {
    this.#deps = deps;
    this.#channel = channel;
    this.#options = { ...longPollDefaults, ...options };
    this.#log = deps.logger.child({ component: "vk-long-poll", channel_id: channel.id });
  }

  /** Polls until `signal` aborts (stop, disable, delete, or the channel's lock was lost). */
  async run(signal: AbortSignal): Promise<void> {
    const channel = this.#channel;
    const settings = vkSettingsSchema.parse(channel.settings);
    const client = managementClient(
      channel,
      settings,
      vkCredentials(this.#deps.box, channel),
      this.#options,
      (token, error) => {
        handleVkTokenInvalid(this.#deps, channel.id, token, error).catch((err) =>
          this.#log.error({ err }, "could not record a dead token"),
        );
      },
    );
    let ts = settings.longPollTs;
    let server: { url: string; key: string } | undefined;
    let failures = 0;
    let healthy = false;
    try {
      while (!signal.aborted) {
        try {
          if (!client) throw new AppError("vk_no_tokens");
          if (!server) {
            const issued = await client.getLongPollServer();
            this.#log.debug({ ts, issued: issued.ts }, "Long Poll server issued");
            server = { url: issued.server, key: issued.key };
            if (ts === undefined) ts = await this.#saveTs(undefined, issued.ts);
          }
          const answer = await this.#check(server, ts as string, signal);
          this.#log.debug(
            { ts, answer: "failed" in answer ? answer : { ts: answer.ts, updates: answer.updates.length } },
            "Long Poll answered",
          );
          if ("failed" in answer) {
            if (answer.failed === 1 && answer.ts !== undefined) {
              this.#log.warn(
                { ts, next: String(answer.ts) },
                "Long Poll history was lost in part (failed 1)",
              );
              ts = await this.#saveTs(ts, String(answer.ts));
            } else if (answer.failed === 2) {
              server = undefined;
            } else if (answer.failed === 3) {
              this.#log.warn(
                { ts },
                "Long Poll information was lost (failed 3); starting from VK's current ts",
              );
              server = undefined;
              ts = undefined;
            } else {
              throw new AppError("vk_unexpected_response", {
                reason: `Long Poll answered failed ${answer.failed}`,
              });
            }
          } else {
            await this.#store(answer.updates);
            ts = await this.#saveTs(ts, answer.ts);
          }
          failures = 0;
          if (!healthy) healthy = await this.#recovered();
        } catch (thrown) {
          if (signal.aborted) break;
          const error = classifyVkError(thrown, {
            method: "long poll",
            timeoutMs: this.#options.callTimeoutMs,
          });
          failures += 1;
          server = undefined;
          this.#log.warn({ err: error, failures }, "Long Poll failed; retrying after a pause");
          if (failures >= this.#options.failingAfter) {
            healthy = false;
            await this.#failing(error);
          }
          await sleep(
            backoffDelay(failures, this.#options.backoffBaseMs, this.#options.backoffCapMs),
            signal,
          );
        }
      }
    } finally {
      client?.close();
    }
  }

  async #check(server: { url: string; key: string }, ts: string, signal: AbortSignal): Promise<CheckAnswer> {
    const url = new URL(/^https?:\/\//.test(server.url) ? server.url : `https://${server.url}`);
    url.searchParams.set("act", "a_check");
    url.searchParams.set("key", server.key);
    url.searchParams.set("ts", ts);
    url.searchParams.set("wait", String(this.#options.wait));
    const timeout = AbortSignal.timeout((this.#options.wait + 15) * 1000);
    const response = await fetch(url, { signal: AbortSignal.any([signal, timeout]) });
    if (!response.ok) {
      await response.body?.cancel();
      throw new AppError("vk_unexpected_response", {
        reason: `the Long Poll server answered HTTP ${response.status}`,
        method: "long poll",
      });
    }
    const body = (await response.json()) as Record<string, unknown>;
    if (typeof body.failed === "number")
      return { failed: body.failed, ...(body.ts === undefined ? {} : { ts: body.ts as string | number }) };
    if (body.ts === undefined || !Array.isArray(body.updates))
      throw new AppError("vk_unexpected_response", { reason: "a Long Poll answer without ts or updates" });
    return { ts: String(body.ts), updates: body.updates };
  }

  /** Stores the updates as callback deliveries would be stored, in one statement; returns how many were new. */
  async #store(updates: readonly unknown[]): Promise<number> {
    const events = updates.flatMap((update) => {
      if (!isEnvelope(update) || String(update.group_id) !== this.#channel.externalId) {
        this.#log.warn({ update }, "skipped a Long Poll update that is not this community's event");
        return [];
      }
      const payloadJson = JSON.stringify(update);
      return [
        {
          channelAccountId: this.#channel.id,
          externalEventId: eventIdOf(update, payloadJson),
          eventType: update.type,
          payloadJson,
          retryCounter: null,
        },
      ];
    });
    return (await storeInboundEvents(this.#deps.store.db, events)).size;
  }

  async #saveTs(previous: string | undefined, next: string): Promise<string> {
    if (next !== previous)
      await mergeChannelSettings(this.#deps.store.db, this.#channel.id, { longPollTs: next });
    return next;
  }

  /** Polling works: `connecting`, or `failing` because of polling, becomes `online`. */
  async #recovered(): Promise<boolean> {
    const changed = await transitionChannelState(
      this.#deps.store.db,
      this.#channel.id,
      { state: "online", reason: null, problem: null, from: ["connecting"], failingWith: ownProblems },
      this.#deps.onStateChanged,
    );
    if (changed) this.#log.info("VK channel online (Long Poll)");
    return true;
  }

  /** Polling keeps failing: an `online` or `connecting` channel becomes `failing` with the reason. */
  async #failing(error: AppError): Promise<void> {
    const problem = { code: "vk_long_poll_failing", params: { reason: error.message } };
    const changed = await transitionChannelState(
      this.#deps.store.db,
      this.#channel.id,
      { state: "failing", reason: reasonText(problem), problem, from: ["online", "connecting"] },
      this.#deps.onStateChanged,
    ).catch((err) => {
      this.#log.error({ err }, "could not record the channel's state");
      return false;
    });
    if (changed) this.#log.warn({ err: error }, "VK channel failing: Long Poll keeps failing");
  }
}

/** Waits `ms`, or less when `signal` aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
