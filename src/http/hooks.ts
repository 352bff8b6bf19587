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

  const channelFor = async (kind: ChannelKind, id: string) => {
    const cached = cache.get(id);
    if (cached && cached.until > Date.now()) return cached;
    const channel = await findChannelAccount(store.db, id);
    if (!channel || channel.kind !== kind) throw new AppError("channel_not_found", { id });
    const entry = { channel, credentials: readCredentials(box, channel), until: Date.now() + channelCacheMs };
    cache.set(id, entry);
    return entry;
  };

  app.post("/hooks/:kind/:channelId", limitBody(config.bodyLimit), async (c) => {
    const kind = c.req.param("kind") as ChannelKind;
    const adapter = inboundAdapters[kind];
    if (!adapter) throw new AppError("channel_kind_unsupported", { kind });
    const { channel, credentials } = await channelFor(kind, c.req.param("channelId"));
    const verdict = adapter.readWebhook(channel, credentials, {
      body: await c.req.text(),
      header: (name) => c.req.header(name),
    });
    if (verdict.action === "refuse") throw verdict.error;
    if (verdict.action === "answer") return c.text(verdict.body);
    await writer.write({
      channelAccountId: channel.id,
      externalEventId: verdict.eventId,
      eventType: verdict.eventType,
      payload: verdict.payload,
      retryCounter: verdict.retryCounter,
    });
    return c.text(verdict.answer);
  });

  return app;
}
