/**
 * Every knob of the VK emulator, with its default. Defaults follow shared/reference/vk-protocol.md;
 * where the reference says UNCERTAIN the behaviour is a setting here, and docs/emulators.md lists it.
 * Callback timings default short so that tests stay quick; sandbox mode may lengthen them.
 */
import { z } from "zod";

const version = z.string().regex(/^\d+\.\d+$/, 'a version such as "5.199"');
const ms = z.number().int().min(0);

const callbackSchema = z
  .object({
    /** Per-attempt request timeout. UNCERTAIN (§1.5). */
    timeoutMs: ms.default(3000),
    /** Delay before retry n is retryDelaysMs[n-1], the last one repeating. UNCERTAIN (§1.5). */
    retryDelaysMs: z.array(ms).min(1).default([50, 200, 1000]),
    /** Retries after the first attempt of one event. UNCERTAIN (§1.5). */
    maxRetries: z.number().int().min(0).default(3),
    /** Consecutive failed attempts after which a server goes `failed` and stops receiving. */
    failThreshold: z.number().int().min(1).default(10),
    /** `X-Retry-Counter` of the first retry; the first attempt carries no header. UNCERTAIN (§7.2). */
    retryCounterStart: z.number().int().min(0).default(1),
    /** Answer 410/429/503 with `Retry-After` to get the event later (OBSERVED, vksdk). */
    honourRetryAfter: z.boolean().default(true),
    /** Milliseconds per `Retry-After` second; lower it in tests. */
    retryAfterUnitMs: ms.default(1000),
    /** "The resend time range must be less than 3 hours" (vksdk). */
    maxRetryAfterMs: ms.default(3 * 60 * 60 * 1000),
    /** Body `remove` deletes the server (OBSERVED, vksdk). */
    honourRemove: z.boolean().default(true),
    /** Two servers of one community receive one event under the same `event_id`. */
    sameEventIdAcrossServers: z.boolean().default(true),
    /** Wait before the confirmation request that follows add/edit. */
    confirmationDelayMs: ms.default(0),
    /** Event types a new server is subscribed to before any setCallbackSettings. */
    defaultEvents: z.array(z.string()).default([]),
  })
  .prefault({});

const messagesSchema = z
  .object({
    /** Characters (code points) allowed in `message`: 4096 (SDKs) or 9000 (docs). UNCERTAIN (§3.2). */
    textLimit: z.number().int().min(1).default(4096),
    randomId: z
      .object({
        /** Refuse a repeated random_id in one conversation (§3.2). */
        dedupe: z.boolean().default(true),
        /** "messages from the last hour (but no more than 100 last messages)". */
        windowMs: ms.default(60 * 60 * 1000),
        lastMessages: z.number().int().min(1).default(100),
        /** What a duplicate returns: the original's id, 0, or a fresh id. UNCERTAIN (§7.4). */
        onDuplicate: z.enum(["original", "zero", "new"]).default("original"),
      })
      .prefault({}),
    /** Messages older than this cannot be edited (909). */
    editWindowMs: ms.default(24 * 60 * 60 * 1000),
    /** Messages older than this cannot be deleted for everybody (924). */
    deleteForAllWindowMs: ms.default(24 * 60 * 60 * 1000),
    /** messages.delete answer: the 5.199 array or the older `{"<id>":1}` map. UNCERTAIN (§7.6). */
    deleteResponse: z.enum(["array", "map"]).default("array"),
    /** With bot features off, 912 for keyboards/templates only, or for every send. UNCERTAIN. */
    botFeaturesRequiredFor: z.enum(["keyboard", "all"]).default("keyboard"),
    /** How long a message_event's event_id can be answered (vk-io: about 1 minute). */
    messageEventTtlMs: ms.default(60 * 1000),
    /** message_event.payload as a JSON object (clients, vksdk) or a string (schema). UNCERTAIN (§7.5). */
    messageEventPayload: z.enum(["object", "string"]).default("object"),
    /** Escape `< > & "` in texts of events and API answers (§1.7). */
    htmlEscape: z.boolean().default(true),
    /** Newlines as `<br>` (vk-io still unescapes it). UNCERTAIN. */
    newlineAsBr: z.boolean().default(false),
    /** Attachments naming media the emulator does not know: refuse (strict) or pass (lenient). */
    attachmentCheck: z.enum(["strict", "lenient"]).default("strict"),
    keyboard: z
      .object({
        /** `one_time: true` on an inline keyboard: 911 or ignored. UNCERTAIN. */
        inlineOneTime: z.enum(["error", "ignore"]).default("error"),
        /** Button payload length (old docs: 255). */
        payloadMaxLength: z.number().int().min(1).default(255),
        labelMaxLength: z.number().int().min(1).default(40),
      })
      .prefault({}),
    /** `state` of message_typing_state; the schema enum is odd. UNCERTAIN (§7.5). */
    typingState: z.string().default("typing"),
  })
  .prefault({});

const errorCode = z.number().int();

export const optionsSchema = z.object({
  host: z.string().default("127.0.0.1"),
  port: z.number().int().min(0).max(65535).default(0),
  /** Base of the URLs the emulator hands out (upload, long poll, media); defaults to its own URL. */
  publicUrl: z.string().url().optional(),
  /** API version of event objects when a server or Long Poll sets none. */
  apiVersion: version.default("5.199"),
  /** Requests with a lower `v` get error 8. */
  minApiVersion: version.default("5.81"),
  /**
   * The first id of each community's messages, wall posts, comments and leads. VK never gives an
   * id twice; an emulator that starts again empty beside a hub that kept its data (the sandbox)
   * starts them past the ones it gave before.
   */
  firstObjectId: z.number().int().min(1).default(1),
  rateLimit: z
    .object({
      enabled: z.boolean().default(true),
      /** "with a community access token you can make up to 20 requests per second" (§4.3). */
      perSecond: z.number().int().min(1).default(20),
      windowMs: z.number().int().min(1).default(1000),
      /** Count per token or per community. UNCERTAIN. */
      per: z.enum(["token", "community"]).default("token"),
    })
    .prefault({}),
  /** Codes for access failures whose exact code the reference does not pin down. UNCERTAIN. */
  accessErrors: z
    .object({
      missingScope: errorCode.default(15),
      foreignGroup: errorCode.default(15),
      revokedToken: errorCode.default(27),
      messagesDisabled: errorCode.default(15),
    })
    .prefault({}),
  callback: callbackSchema,
  messages: messagesSchema,
  longPoll: z
    .object({
      maxWait: z.number().int().min(0).default(90),
      defaultWait: z.number().int().min(0).default(25),
      /** Events kept per community for `ts` replay; older `ts` gets failed 1. */
      historyLimit: z.number().int().min(1).default(1000),
      /** Keys older than this get failed 2; null keeps them forever. */
      keyTtlMs: ms.nullable().default(null),
    })
    .prefault({}),
  uploads: z
    .object({
      photoMaxBytes: z
        .number()
        .int()
        .min(1)
        .default(50 * 1024 * 1024),
      docMaxBytes: z
        .number()
        .int()
        .min(1)
        .default(200 * 1024 * 1024),
      /** Containers accepted for type=audio_message; MP3 is OBSERVED to pass (§3.5). */
      audioMessageFormats: z.array(z.enum(["ogg", "mp3", "wav", "any"])).default(["ogg", "mp3"]),
      /** Check photo bytes are JPG/PNG/GIF within 14000 px and 1:20. */
      checkPhotoFormat: z.boolean().default(true),
    })
    .prefault({}),
  wall: z
    .object({
      /** Community comments per post within the window before 223. UNCERTAIN. */
      replyFlood: z
        .object({ max: z.number().int().min(1).default(50), windowMs: ms.default(60 * 1000) })
        .prefault({}),
    })
    .prefault({}),
  /** Requests, deliveries and events kept for the control API. */
  logLimit: z.number().int().min(1).default(2000),
});

export type VkEmulatorOptions = z.output<typeof optionsSchema>;
/** What a caller may pass: any subset, nested. */
export type VkEmulatorConfig = z.input<typeof optionsSchema>;

export function resolveOptions(config: VkEmulatorConfig = {}): VkEmulatorOptions {
  return optionsSchema.parse(config);
}

/** "5.199" >= "5.103", compared as numbers. */
export function versionAtLeast(v: string, min: string): boolean {
  const [a = 0, b = 0] = v.split(".").map(Number);
  const [c = 0, d = 0] = min.split(".").map(Number);
  return a !== c ? a > c : b >= d;
}
