/**
 * What the world hears when an outbound message's status changes, recorded in the transaction
 * that changed it: the `message.sent` and `message.status_changed` events for webhooks, and, when
 * the send request gave a `status_url`, a status callback there in Devino's format (seed 002),
 * delivered by the same machinery as the webhooks (signed, retried, logged, in order per message).
 *
 * Only the statuses a sender acts on are announced: `sent`, `delivered`, `read`, and the ends
 * `failed`, `expired`, `rate_limited`. The passes through `queued` and `sending` of each retry
 * stay in the message's status history.
 */
import { catalogue, isErrorCode } from "../../errors/catalogue.ts";
import type { Db } from "../../store/database.ts";
import type { ChannelKind } from "../../store/repositories/channel-accounts.ts";
import { findMessages, type Message } from "../../store/repositories/messages.ts";
import { messageStatuses } from "../../store/schema.ts";
import { enqueueCallbacks, messageEvent, recordEvents, statusChangedEvent } from "../webhooks/events.ts";

/** Not announced (see above); every other status is, a new one included. */
const unannounced: readonly Message["status"][] = ["received", "queued", "sending"];
const announced = new Set(messageStatuses.filter((status) => !unannounced.includes(status)));

/** Devino's names of the statuses a callback reports. */
const devinoStatus: Partial<Record<Message["status"], string>> = {
  sent: "SENT",
  delivered: "DELIVERED",
  read: "READ",
  failed: "UNDELIVERABLE",
  expired: "EXPIRED",
  rate_limited: "RATELIMIT",
};

/** Devino's names of the channels (its `routes`); other kinds keep the hub's name, upper-cased. */
const devinoChannel: Partial<Record<ChannelKind, string>> = { vk: "VK", ok: "OK" };

/**
 * Announces the status each of `messageIds` has now (read again, inside `db`'s transaction) after
 * `previous`. Nothing is announced for statuses that are not in the list above.
 */
export async function announceStatus(
  db: Db,
  messageIds: string | readonly string[],
  previous: Message["status"],
  channelKind: ChannelKind,
): Promise<void> {
  const ids = typeof messageIds === "string" ? [messageIds] : messageIds;
  if (ids.length === 0) return;
  const rows = (await findMessages(db, ids)).filter(
    (row) => row.status !== previous && announced.has(row.status),
  );
  await recordEvents(
    db,
    rows.flatMap((row) => [
      ...(row.status === "sent" ? [messageEvent("message.sent", row)] : []),
      statusChangedEvent(row, previous),
    ]),
  );
  await enqueueCallbacks(
    db,
    rows.flatMap((row) =>
      row.callbackUrl
        ? [
            {
              workspaceId: row.workspaceId,
              url: row.callbackUrl,
              body: statusCallback(row, channelKind),
              orderingKey: row.partOf ?? row.id,
            },
          ]
        : [],
    ),
  );
}

/**
 * Devino's status callback: `[{channel, messageId, ts, status, errorCode, callbackData}]`.
 * `errorCode` is 0 without an error, the platform's own code when the error mirrors one (VK 901),
 * else 1; `error` adds the hub's catalogue code, which Devino's format has no room for.
 */
function statusCallback(row: Message, channelKind: ChannelKind) {
  const code = row.errorCode && row.status !== "sent" ? row.errorCode : null;
  const upstream = code && isErrorCode(code) ? Number(catalogue[code].upstream) : Number.NaN;
  return [
    {
      channel: devinoChannel[channelKind] ?? channelKind.toUpperCase(),
      messageId: row.partOf ?? row.id,
      ts: (row.status === "sent" && row.dispatchedAt ? row.dispatchedAt : row.updatedAt).getTime(),
      status: devinoStatus[row.status] ?? "UNKNOWN",
      errorCode: code === null ? 0 : Number.isFinite(upstream) ? upstream : 1,
      ...(code === null ? {} : { error: code }),
      ...(row.callbackData === null ? {} : { callbackData: row.callbackData }),
    },
  ];
}
