/** The parts of a running emulator, handed to every route module. */
import type { CallbackDelivery } from "./callback.ts";
import type { VkEmulatorOptions } from "./config.ts";
import type { EventBus } from "./events.ts";
import type { Faults } from "./faults.ts";
import type { LongPoll } from "./long-poll.ts";
import type { VkState } from "./state.ts";
import type { UploadServer } from "./uploads.ts";

export interface RequestRecord {
  id: number;
  method: string;
  /** Parameters without the token. */
  params: Record<string, string>;
  groupId: number | null;
  /** `ok`, the VK error code, or what a fault did to the connection. */
  result: "ok" | number | "dropped" | `http ${number}`;
  at: number;
}

export interface Runtime {
  readonly options: VkEmulatorOptions;
  readonly state: VkState;
  readonly bus: EventBus;
  readonly callbacks: CallbackDelivery;
  readonly longPoll: LongPoll;
  readonly faults: Faults;
  readonly uploads: UploadServer;
  /** API calls, newest last, for the control API. */
  readonly requests: RequestRecord[];
  /** Where handed-out URLs point (upload, long poll, media). */
  baseUrl(): string;
}
