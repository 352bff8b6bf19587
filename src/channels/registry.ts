import type { ChannelKind } from "../store/repositories/channel-accounts.ts";
import type { InboundAdapter } from "./adapter.ts";
import { vkInbound } from "./vk/inbound.ts";

/** The inbound adapter of each platform the hub can receive from. */
export const inboundAdapters: Partial<Record<ChannelKind, InboundAdapter>> = {
  vk: vkInbound,
};
