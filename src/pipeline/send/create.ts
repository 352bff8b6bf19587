/**
 * Wires the send service to the channels: one VK client per channel (shared by every send of
 * this process, so each token's pacing holds), and the record of tokens VK refuses for good.
 */
import type { Logger } from "pino";
import type { OutboundAdapter } from "../../channels/adapter.ts";
import type { VkTokenRef } from "../../channels/vk/api.ts";
import { VkClients } from "../../channels/vk/channel.ts";
import { createVkOutbound } from "../../channels/vk/outbound.ts";
import type { AppError } from "../../errors/app-error.ts";
import { fetchMedia } from "../../media/fetch.ts";
import type { Egress } from "../../net/egress.ts";
import type { Db } from "../../store/database.ts";
import {
  type ChannelAccount,
  type ChannelKind,
  markTokenDead,
} from "../../store/repositories/channel-accounts.ts";
import type { SecretBox } from "../../store/secret-box.ts";
import type { RetryClock } from "./retry.ts";
import { SendService } from "./service.ts";

export interface SendServiceDeps {
  db: Db;
  box: SecretBox;
  logger: Logger;
  retryWindowMs?: number;
  ttlMs?: number;
  leaseMs?: number;
  clock?: RetryClock;
  /** The hub's SSRF guard, through which attachments given by URL are fetched. */
  egress: Egress;
  /** Wraps each adapter, e.g. to observe or fault it in tests. */
  wrapAdapter?: (kind: ChannelKind, adapter: OutboundAdapter) => OutboundAdapter;
  /**
   * What to do when VK declares a token dead; the hub passes the channel-level handling (warning,
   * state, pollers told). Without it the token is only recorded dead.
   */
  onTokenInvalid?: (channel: ChannelAccount, token: VkTokenRef, error: AppError) => Promise<unknown>;
}

export function createSendService(deps: SendServiceDeps): SendService {
  const log = deps.logger.child({ component: "send" });
  const pending = new Set<Promise<unknown>>();
  const clients = new VkClients(deps.box, (channel, token, error) => {
    log.warn({ channel_id: channel.id, token: token.index, code: error.code }, "VK refused a token for good");
    const record = deps.onTokenInvalid
      ? deps.onTokenInvalid(channel, token, error)
      : markTokenDead(deps.db, deps.box, channel.id, token.fingerprint);
    const task: Promise<unknown> = record
      .catch((err) => log.error({ err, channel_id: channel.id }, "could not record a dead token"))
      .finally(() => pending.delete(task));
    pending.add(task);
  });
  const wrap = deps.wrapAdapter ?? ((_kind, adapter) => adapter);
  return new SendService(
    deps.db,
    { vk: wrap("vk", createVkOutbound(clients)) },
    {
      ...(deps.retryWindowMs === undefined ? {} : { retryWindowMs: deps.retryWindowMs }),
      ...(deps.ttlMs === undefined ? {} : { ttlMs: deps.ttlMs }),
      ...(deps.leaseMs === undefined ? {} : { leaseMs: deps.leaseMs }),
      ...(deps.clock ? { clock: deps.clock } : {}),
      fetchMedia: (url) => fetchMedia(url, { egress: deps.egress }),
      settle: async () => {
        while (pending.size > 0) await Promise.allSettled([...pending]);
      },
      close: () => clients.close(),
    },
  );
}
