import type { CatalogueEntry } from "./catalogue.ts";

/**
 * The errors of the send API and the dispatcher: why an item of `POST /v1/messages` was rejected,
 * and why a queued message ended without being delivered. Part of the one catalogue.
 */
export const sendingEntries = {
  too_many_messages: {
    status: 400,
    class: "invalid_input",
    en: {
      message: "One request may carry at most {limit} messages; this one has {count}.",
      remedy: "Split the messages into several requests of at most {limit} each.",
    },
    ru: {
      message: "В одном запросе может быть не больше {limit} сообщений, а в этом {count}.",
      remedy: "Разбейте сообщения на несколько запросов, не больше {limit} в каждом.",
    },
  },
  empty_message: {
    status: 400,
    class: "invalid_input",
    en: {
      message: "The message has no content.",
      remedy:
        "Give a `text` that is not blank, or `attachments`; in the send API a `template` with its `data` does too.",
    },
    ru: {
      message: "В сообщении нет содержимого.",
      remedy:
        "Укажите непустой `text` или `attachments`; в API рассылки подойдёт и шаблон `template` с данными `data`.",
    },
  },
  no_usable_route: {
    status: 422,
    class: "policy",
    en: {
      message: "No route can deliver this message: {reason}.",
      remedy:
        "Name routes (`routes`) through which this recipient can be reached: channels that are enabled and on whose platform the contact has an identity (the client wrote there, or you added it with `PATCH /v1/contacts/<id>`).",
    },
    ru: {
      message: "Ни один маршрут не может доставить это сообщение: {reason}.",
      remedy:
        "Укажите маршруты (`routes`), через которые с получателем можно связаться: включённые каналы, на платформе которых у контакта есть идентификатор (клиент писал туда или вы добавили его через `PATCH /v1/contacts/<id>`).",
    },
  },
  // Devino's `service`: a channel named by its name, where channel_not_found names an id.
  channel_name_not_found: {
    status: 404,
    class: "not_found",
    en: {
      message: "No {kind} channel named `{name}` in this workspace.",
      remedy:
        "Give the channel's `name` exactly as `GET /v1/channels` shows it (case and spaces count), of a kind the request's routes allow; `PATCH /v1/channels/<id>` renames a channel.",
    },
    ru: {
      message: "В этом рабочем пространстве нет канала {kind} с названием `{name}`.",
      remedy:
        "Укажите `name` канала в точности так, как его показывает `GET /v1/channels` (регистр и пробелы важны), причём канала того вида, который допускают маршруты запроса; переименовать канал можно через `PATCH /v1/channels/<id>`.",
    },
  },
  text_too_long_for_routes: {
    status: 422,
    class: "invalid_input",
    en: {
      message:
        "The text has {length} characters as its routes count them, more than any of them takes (the largest: {limit}).",
      remedy:
        'Shorten the text (VK counts an emoji as 2 characters or more, and `&`, `<`, `>` and `"` as 5, 4, 4 and 6, as HTML entities), or send it into a conversation (`POST /v1/conversations/<id>/messages`), which splits long texts into parts.',
    },
    ru: {
      message:
        "В тексте {length} символов по счёту его маршрутов — больше, чем принимает любой из них (самый большой предел: {limit}).",
      remedy:
        'Сократите текст (ВКонтакте считает эмодзи за 2 символа и больше, а `&`, `<`, `>` и `"` — за 5, 4, 4 и 6, как HTML-сущности) или отправьте его в диалог (`POST /v1/conversations/<id>/messages`): там длинный текст делится на части.',
    },
  },
  message_expired: {
    status: 410,
    class: "terminal",
    en: {
      message: "The message was not delivered before its time to live ended ({expiresAt}).",
      remedy:
        "It will not be sent. Look at its status history for what held it back (a rate limit, a failing channel), fix that, and send a new message with a longer `ttl` if it still matters.",
    },
    ru: {
      message: "Сообщение не было доставлено до конца срока жизни ({expiresAt}).",
      remedy:
        "Оно не будет отправлено. Посмотрите в истории статусов, что его задержало (ограничение скорости, неисправный канал), устраните причину и отправьте новое сообщение с бо́льшим `ttl`, если оно ещё нужно.",
    },
  },
  recipient_daily_quota: {
    status: 429,
    class: "rate_limited",
    en: {
      message:
        "The recipient has had {limit} notifications from this channel in the last 24 hours; the next is allowed at {availableAt}.",
      remedy:
        "The platform limits notifications per client (VK: 5 per community per day). Send fewer, give the message a `ttl` that reaches past that time, or answer the client's own message (a `reply` is not counted).",
    },
    ru: {
      message:
        "Получатель уже получил {limit} уведомлений из этого канала за последние 24 часа; следующее можно отправить в {availableAt}.",
      remedy:
        "Платформа ограничивает число уведомлений одному клиенту (ВКонтакте: 5 в сутки от сообщества). Отправляйте реже, задайте `ttl`, который дотягивается до этого времени, или отвечайте на сообщение клиента (ответы `reply` не считаются).",
    },
  },
} satisfies Record<string, CatalogueEntry>;
