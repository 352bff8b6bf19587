/**
 * `::bot_info`: a client (or an admin testing the bot) writes the command and the hub itself
 * answers in that conversation with the channel's state, mode, last event time and queue depth,
 * so "is the connection alive, or is my bot the problem?" has an answer without a dashboard
 * (seed 001 describes it for WhatsApp; here it works for every channel that can send).
 *
 * It runs as an intake follow-up: after the client's message is committed, never inside the
 * intake transaction and never holding intake up. The answer is sent under an idempotency key
 * derived from the client's message, so handling the same message twice answers once.
 */
import { AppError } from "../../errors/app-error.ts";
import type { Language } from "../../errors/catalogue.ts";
import type { Db } from "../../store/database.ts";
import { type ChannelAccount, findChannelAccount } from "../../store/repositories/channel-accounts.ts";
import { countPendingInboundEvents } from "../../store/repositories/inbound-events.ts";
import { countOutboundInFlight, findMessageByExternalId } from "../../store/repositories/messages.ts";
import { type AppliedEvent, type IntakeFollowUp, settleAll } from "../intake/worker.ts";
import type { SendService } from "./service.ts";

export const defaultBotInfoCommand = "::bot_info";

/** The channel's command: its `botInfoCommand` setting, `::bot_info` by default, "" for none. */
export function botInfoCommand(channel: ChannelAccount): string {
  const value = channel.settings.botInfoCommand;
  return typeof value === "string" ? value.trim() : defaultBotInfoCommand;
}

/** The follow-up that answers the command; pass it to the intake worker as `followUp`. */
export function botInfoFollowUp(db: Db, sender: SendService): IntakeFollowUp {
  const answer = async ({ channel, event }: AppliedEvent) => {
    if (event.type !== "message") return;
    const command = botInfoCommand(channel);
    if (command === "" || event.message.text?.trim() !== command) return;
    const asked = await findMessageByExternalId(db, channel.id, event.message.externalId);
    if (!asked?.conversationId || asked.direction !== "inbound") return;
    const text = await describeChannel(db, channel.id, answerLanguage(event.locale));
    const result = await sender.send(channel.workspaceId, asked.conversationId, {
      text,
      author: { kind: "bot", ref: "bot_info" },
      idempotencyKey: `switchboard:bot_info:${asked.id}`,
    });
    if (!result.ok) throw result.error;
  };
  return (applied) => settleAll(applied.map(answer));
}

/**
 * Russian for the clients whose app speaks a language of Russia or the CIS (who read Russian
 * rather than English), English for the others and when the platform does not say.
 */
function answerLanguage(locale: string | undefined): Language {
  return locale !== undefined && ["ru", "uk", "be", "kk", "uz"].includes(locale) ? "ru" : "en";
}

const wording = {
  en: {
    title: "Switchboard bot info",
    channel: "Channel",
    state: (state: string, since: string) => `State: ${state} since ${since}`,
    reason: "Reason",
    mode: "Mode",
    lastEvent: "Last event",
    noEvent: "none yet",
    queue: (inbound: number, outbound: number) =>
      `Queue: ${inbound} inbound event(s) waiting, ${outbound} outbound message(s) queued or sending`,
  },
  ru: {
    title: "Switchboard: состояние бота",
    channel: "Канал",
    state: (state: string, since: string) => `Состояние: ${state} с ${since}`,
    reason: "Причина",
    mode: "Режим",
    lastEvent: "Последнее событие",
    noEvent: "ещё не было",
    queue: (inbound: number, outbound: number) =>
      `Очередь: входящих событий ждут ${inbound}, исходящих сообщений в очереди или в отправке ${outbound}`,
  },
} satisfies Record<Language, unknown>;

/**
 * The answer's text: plain lines, the same for every platform. States, modes and times stay as
 * the API writes them, so that what the client sees can be looked up.
 */
export async function describeChannel(db: Db, channelId: string, language: Language): Promise<string> {
  const channel = await findChannelAccount(db, channelId);
  if (!channel) throw new AppError("channel_not_found", { id: channelId });
  const [inbound, outbound] = await Promise.all([
    countPendingInboundEvents(db, channel.id),
    countOutboundInFlight(db, channel.id),
  ]);
  const words = wording[language];
  const mode = typeof channel.settings.mode === "string" ? channel.settings.mode : "—";
  const lines = [
    words.title,
    `${words.channel}: ${channel.name} (${channel.kind} ${channel.externalId})`,
    words.state(channel.state, channel.stateChangedAt.toISOString()),
    ...(channel.stateReason ? [`${words.reason}: ${channel.stateReason}`] : []),
    `${words.mode}: ${mode}`,
    `${words.lastEvent}: ${channel.lastEventAt ? channel.lastEventAt.toISOString() : words.noEvent}`,
    words.queue(inbound, outbound),
  ];
  return lines.join("\n");
}
