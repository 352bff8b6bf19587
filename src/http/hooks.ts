import { Hono } from "hono";
import { inboundAdapters } from "../channels/registry.ts";
import { AppError } from "../errors/app-error.ts";
import { InboundWriter } from "../pipeline/intake/writer.ts";
import {
  type ChannelAccount,
  type ChannelKind,
  findChannelAccount,
  readCredentials,
} from "../store/repositories/channel-accounts.ts";
import type { AppDeps, AppEnv } from "./context.ts";
import { limitBody } from "./middleware/json-body.ts";

/** How long a channel and its decrypted credentials are reused between webhook requests. */
const channelCacheMs = 5_000;

/**
 * Platform webhooks: `POST /hooks/<kind>/<channel id>`. Ack fast, persist raw: the event is
 * committed under its platform id before the answer, and processed later by the intake worker.
 */
export function hookRoutes({ store, box, config }: AppDeps) {
  const app = new Hono<AppEnv>();
  const writer = new InboundWriter(store);
  const cache = new Map<
    string,
    { channel: ChannelAccount; credentials: Record<string, unknown>; until: number }
  >();

  const channelFor = async (kind: ChannelKind, id: string, fresh = false) => {
    const cached = cache.get(id);
    if (!fresh && cached && cached.until > Date.now()) return { ...cached, cached: true };
    const channel = await findChannelAccount(store.db, id);
    if (!channel || channel.kind !== kind) throw new AppError("channel_not_found", { id });
    const entry = { channel, credentials: readCredentials(box, channel), until: Date.now() + channelCacheMs };
    cache.set(id, entry);
    return { ...entry, cached: false };
  };

  app.post("/hooks/:kind/:channelId", limitBody(config.bodyLimit), async (c) => {
    const kind = c.req.param("kind") as ChannelKind;
    const adapter = inboundAdapters[kind];
    if (!adapter) throw new AppError("channel_kind_unsupported", { kind });
    const id = c.req.param("channelId");
    const request = { body: await c.req.text(), header: (name: string) => c.req.header(name) };
    let { channel, credentials, cached } = await channelFor(kind, id);
    let verdict = adapter.readWebhook(channel, credentials, request);
    // A confirmation (or a refusal) may depend on what a connect stored a moment ago, possibly in
    // another process: the cache never answers those, so a fresh code or secret is always used.
    if (verdict.action !== "store" && cached) {
      ({ channel, credentials } = await channelFor(kind, id, true));
      verdict = adapter.readWebhook(channel, credentials, request);
    }
    if (verdict.action === "refuse") throw verdict.error;
    if (verdict.action === "answer") return c.text(verdict.body);
    await writer.write({
      channelAccountId: channel.id,
      externalEventId: verdict.eventId,
      eventType: verdict.eventType,
      payloadJson: verdict.payloadJson,
      retryCounter: verdict.retryCounter,
    });
    return c.text(verdict.answer);
  });

  return app;
}
