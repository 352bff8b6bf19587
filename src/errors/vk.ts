import type { CatalogueEntry, ErrorClass } from "./catalogue.ts";

/**
 * VK's errors, each with the upstream code it mirrors, and the errors of the VK adapter's own
 * steps (network, text splitting, keyboards, uploads, voice conversion). Part of the one catalogue.
 *
 * HTTP statuses, for when the hub answers an API caller with one of these:
 * - 429 for VK's rate limits and flood control (retry after `Retry-After`);
 * - 502/503/504 for failures on VK's side or on the way there (a retry may succeed);
 * - 424 (Failed Dependency) when the channel's VK token is invalid or lacks a right: the caller's
 *   own API key is fine, so 401/403 would mislead, and repeating will not help until an admin acts;
 * - 422 for policy refusals and for content VK will not take, 404 for things VK does not know,
 *   409 for a state that must change first.
 *
 * Texts use `{vkMessage}` (VK's own `error_msg`, trimmed) where VK's detail helps the admin.
 * The remedies follow Salebot's VK FAQ (seed 000) where it has one.
 */

type Text = readonly [message: string, remedy: string];

function entry(
  status: number,
  errorClass: ErrorClass,
  en: Text,
  ru: Text,
  upstream?: number,
): CatalogueEntry {
  return {
    status,
    class: errorClass,
    ...(upstream === undefined ? {} : { upstream: String(upstream) }),
    en: { message: en[0], remedy: en[1] },
    ru: { message: ru[0], remedy: ru[1] },
  };
}

const tokenRightsEn = "messages, photos, docs, wall and community management (manage)";
const tokenRightsRu = "сообщения сообщества, фотографии, документы, стена и управление сообществом";

export const vkEntries = {
  // ── VK API error codes (VK's errors.json, API 5.199) ───────────────────────
  vk_unknown_error: entry(
    502,
    "retryable",
    [
      "VK failed with an unknown error: {vkMessage}",
      "Nothing to change: the hub sends again later. If it keeps failing for hours, check https://vk.com/support and the hub's log.",
    ],
    [
      "ВКонтакте вернул неизвестную ошибку: {vkMessage}",
      "Ничего менять не нужно: хаб повторит отправку позже. Если ошибка держится часами, проверьте https://vk.com/support и журнал хаба.",
    ],
    1,
  ),
  vk_unknown_method: entry(
    502,
    "terminal",
    [
      "VK does not know the method the hub called: {vkMessage}",
      "Check the channel's `apiBaseUrl` (it must end with `/method`, default https://api.vk.ru/method) and `apiVersion` (5.199); if both are right, report it to the hub's maintainers.",
    ],
    [
      "ВКонтакте не знает метод, который вызвал хаб: {vkMessage}",
      "Проверьте в настройках канала `apiBaseUrl` (должен заканчиваться на `/method`, по умолчанию https://api.vk.ru/method) и `apiVersion` (5.199); если они верны, сообщите разработчикам хаба.",
    ],
    3,
  ),
  vk_auth_failed: entry(
    424,
    "auth",
    [
      "VK rejected the community's access token: {vkMessage}",
      `The token is invalid, expired or was deleted. In the community open Manage → API usage → Access tokens, create a new token with the rights ${tokenRightsEn}, replace the old one in the channel's settings and delete the old one in VK. If it still fails, delete all the community's tokens and create them again.`,
    ],
    [
      "ВКонтакте отклонил ключ доступа сообщества: {vkMessage}",
      `Ключ недействителен, истёк или удалён («Invalid session»). В сообществе откройте «Управление → Работа с API → Ключи доступа», создайте новый ключ с правами: ${tokenRightsRu}, замените им старый в настройках канала и удалите старый во ВКонтакте. Если не помогло — удалите все ключи сообщества и создайте их заново.`,
    ],
    5,
  ),
  vk_too_many_requests: entry(
    429,
    "retryable",
    [
      "VK refused the call: more than 20 requests per second with one community token.",
      "Nothing to do for this message: the hub sends it again after a second. If it happens often, add one or two more access tokens to the channel (Manage → API usage → Access tokens): the hub spreads its calls across them.",
    ],
    [
      "ВКонтакте отклонил вызов: больше 20 запросов в секунду с одним ключом сообщества.",
      "Для этого сообщения ничего делать не нужно: хаб повторит его через секунду. Если это случается часто, добавьте в канал ещё один-два ключа доступа («Управление → Работа с API → Ключи доступа»): хаб распределяет вызовы между ними.",
    ],
    6,
  ),
  vk_permission_denied: entry(
    424,
    "auth",
    [
      "The community's access token lacks the right for this action: {vkMessage}",
      `Create a new token in Manage → API usage → Access tokens with the rights ${tokenRightsEn}, and replace the old one in the channel's settings.`,
    ],
    [
      "У ключа доступа сообщества нет права на это действие: {vkMessage}",
      `Создайте новый ключ в «Управление → Работа с API → Ключи доступа» с правами: ${tokenRightsRu}, и замените им старый в настройках канала.`,
    ],
    7,
  ),
  vk_invalid_request: entry(
    422,
    "invalid_input",
    [
      "VK says the request is invalid: {vkMessage}",
      "Check the message's fields (text, attachments, keyboard); if they look right, report the error with its `request_id` to the hub's maintainers.",
    ],
    [
      "ВКонтакте считает запрос некорректным: {vkMessage}",
      "Проверьте поля сообщения (текст, вложения, клавиатуру); если они в порядке, сообщите об ошибке и её `request_id` разработчикам хаба.",
    ],
    8,
  ),
  vk_flood_control: entry(
    429,
    "retryable",
    [
      "VK's flood control stopped the call: too many identical actions in a short time.",
      "The hub sends again later. Avoid sending the same text to many people at once; vary the text or spread the mailing over time.",
    ],
    [
      "Антифлуд ВКонтакте остановил вызов: слишком много одинаковых действий за короткое время.",
      "Хаб повторит отправку позже. Не рассылайте один и тот же текст многим получателям сразу: меняйте текст или растяните рассылку во времени.",
    ],
    9,
  ),
  vk_internal_error: entry(
    503,
    "retryable",
    [
      "VK had an internal server error.",
      "Nothing to change: the hub tries again later. When connecting a community, try again in an hour or two; it usually goes through then.",
    ],
    [
      "Внутренняя ошибка сервера ВКонтакте.",
      "Менять ничего не нужно: хаб повторит попытку позже. Если ошибка возникла при подключении сообщества, попробуйте подключиться через час-два — как правило, тогда всё проходит.",
    ],
    10,
  ),
  vk_captcha_needed: entry(
    429,
    "rate_limited",
    [
      "VK asks for a captcha: it takes the recent activity for a robot's.",
      "The hub cannot solve captchas and waits instead. Send fewer messages per second and fewer identical ones; community tokens rarely get this, so check that the channel uses a community token, not a personal one.",
    ],
    [
      "ВКонтакте требует ввести капчу: недавние действия похожи на действия робота.",
      "Хаб не решает капчу и ждёт. Отправляйте меньше сообщений в секунду и меньше одинаковых; с ключом сообщества это случается редко, поэтому проверьте, что в канале ключ сообщества, а не личный.",
    ],
    14,
  ),
  vk_access_denied: entry(
    422,
    "policy",
    [
      "VK denied access: {vkMessage}",
      "Usually the community's messages are switched off. In the community open Manage → Messages and set Community messages to Enabled, then send again.",
    ],
    [
      "ВКонтакте запретил доступ: {vkMessage}",
      "Обычно это значит, что в сообществе выключены сообщения. Откройте «Управление → Сообщения», установите «Сообщения сообщества: Включены» и отправьте снова.",
    ],
    15,
  ),
  vk_user_deleted: entry(
    422,
    "terminal",
    [
      "The VK user was deleted or banned.",
      "The message cannot be delivered through VK; reach the contact through another channel.",
    ],
    [
      "Пользователь ВКонтакте удалён или заблокирован.",
      "Доставить сообщение через ВКонтакте нельзя; свяжитесь с контактом через другой канал.",
    ],
    18,
  ),
  vk_group_auth_failed: entry(
    424,
    "auth",
    [
      "VK rejected the community's access token: {vkMessage}",
      `This happens when the token was deleted in the community's settings. Add a new one: Manage → API usage → Access tokens → Create token, with the rights ${tokenRightsEn}, and put it in the channel's settings.`,
    ],
    [
      "ВКонтакте отклонил ключ доступа сообщества: {vkMessage}",
      `Так бывает, когда ключ удалили в управлении сообществом. Добавьте новый ключ: «Управление → Работа с API → Ключи доступа → Создать ключ» с правами: ${tokenRightsRu}, — и укажите его в настройках канала.`,
    ],
    27,
  ),
  vk_rate_limit_reached: entry(
    429,
    "retryable",
    [
      "VK's limit for this kind of action is used up for now.",
      "The hub tries again later. If mailings hit it regularly, send fewer messages per day or spread them out.",
    ],
    [
      "Лимит ВКонтакте на такие действия пока исчерпан.",
      "Хаб повторит попытку позже. Если рассылки регулярно упираются в лимит, отправляйте меньше сообщений в сутки или распределите их во времени.",
    ],
    29,
  ),
  vk_invalid_parameter: entry(
    422,
    "invalid_input",
    [
      "VK says a parameter is missing or invalid: {vkMessage}",
      "Fix the field VK names (for example an empty text with no attachment). If it happened while connecting a community, the community has too many Callback API servers: delete the unused ones in Manage → API usage → Callback API and connect again.",
    ],
    [
      "ВКонтакте сообщает, что параметр не указан или неверен: {vkMessage}",
      "Исправьте поле, которое назвал ВКонтакте (например, пустой текст без вложений). Если ошибка возникла при подключении сообщества — в нём исчерпан лимит серверов Callback API: удалите лишние неиспользуемые серверы в «Управление → Работа с API → Callback API» и подключите снова.",
    ],
    100,
  ),
  vk_not_found: entry(
    404,
    "not_found",
    [
      "VK did not find what the call refers to: {vkMessage}",
      "Check the ids (message, server, post) the request names; the object may have been deleted in VK.",
    ],
    [
      "ВКонтакте не нашёл объект вызова: {vkMessage}",
      "Проверьте идентификаторы (сообщения, сервера, записи) в запросе; возможно, объект удалён во ВКонтакте.",
    ],
    104,
  ),
  vk_invalid_user_id: entry(
    422,
    "invalid_input",
    [
      "VK says the user id is invalid.",
      "Check the contact's VK id: it must be the number of a VK user (the id in a vk.com/id… link).",
    ],
    [
      "ВКонтакте считает идентификатор пользователя неверным.",
      "Проверьте VK id контакта: это должен быть номер пользователя ВКонтакте (число из ссылки vk.com/id…).",
    ],
    113,
  ),
  vk_group_access_denied: entry(
    424,
    "auth",
    [
      "The access token has no access to this VK community.",
      "The token belongs to another community or its owner lost the admin role. Create a token in this community (Manage → API usage → Access tokens) and put it in the channel's settings.",
    ],
    [
      "У ключа доступа нет доступа к этому сообществу ВКонтакте.",
      "Ключ выпущен для другого сообщества или его владелец больше не администратор. Создайте ключ в этом сообществе («Управление → Работа с API → Ключи доступа») и укажите его в настройках канала.",
    ],
    203,
  ),
  vk_comments_closed: entry(
    422,
    "policy",
    [
      "Comments on this VK post are closed.",
      "Open comments on the post in VK, or answer the client in private messages.",
    ],
    [
      "Комментарии к этой записи ВКонтакте закрыты.",
      "Откройте комментарии к записи во ВКонтакте или ответьте клиенту в личных сообщениях.",
    ],
    212,
  ),
  vk_links_forbidden: entry(
    422,
    "policy",
    [
      "VK forbids links in this comment.",
      "Remove the links from the text and send again, or send the link in private messages.",
    ],
    [
      "ВКонтакте запрещает ссылки в этом комментарии.",
      "Уберите ссылки из текста и отправьте снова или пришлите ссылку в личных сообщениях.",
    ],
    222,
  ),
  vk_too_many_replies: entry(
    422,
    "policy",
    [
      "The VK comment thread has too many replies.",
      "Answer in a new comment on the post instead of replying inside the thread, or write to the client in private messages.",
    ],
    [
      "В ветке комментариев ВКонтакте слишком много ответов.",
      "Ответьте новым комментарием к записи, а не внутри ветки, или напишите клиенту в личные сообщения.",
    ],
    223,
  ),
  vk_recipient_blacklisted: entry(
    422,
    "policy",
    [
      "The client has put the community on their blacklist.",
      "Only the client can lift it; reach them through another channel.",
    ],
    [
      "Клиент добавил сообщество в чёрный список.",
      "Снять запрет может только сам клиент; свяжитесь с ним через другой канал.",
    ],
    900,
  ),
  vk_messages_not_allowed: entry(
    422,
    "policy",
    [
      "The client has not allowed messages from the community, or has refused them.",
      "VK lets a community write only to people who allowed it. The error goes away only when the client allows messages again (for example by writing to the community); until then use another channel.",
    ],
    [
      "Клиент не разрешил или запретил сообщения от сообщества.",
      "Сообщество может писать только тем, кто это разрешил. Ошибка пропадёт, только когда клиент снова разрешит сообщения (например, напишет в сообщество); до тех пор используйте другой канал.",
    ],
    901,
  ),
  vk_privacy_settings: entry(
    422,
    "policy",
    [
      "The client's privacy settings do not let the community write to them.",
      "Only the client can change this; reach them through another channel.",
    ],
    [
      "Настройки приватности клиента не позволяют сообществу ему писать.",
      "Изменить это может только сам клиент; свяжитесь с ним через другой канал.",
    ],
    902,
  ),
  vk_edit_too_old: entry(
    422,
    "terminal",
    [
      "VK cannot edit this message any more: it is too old.",
      "Send a new message with the correction instead.",
    ],
    [
      "ВКонтакте больше не позволяет редактировать это сообщение: оно слишком старое.",
      "Отправьте исправление новым сообщением.",
    ],
    909,
  ),
  vk_message_too_big: entry(
    422,
    "invalid_input",
    [
      "VK says the message is too big.",
      "Send fewer attachments or a shorter text, or split the message into several.",
    ],
    [
      "ВКонтакте сообщает, что сообщение слишком большое.",
      "Уменьшите число вложений или длину текста либо разделите сообщение на несколько.",
    ],
    910,
  ),
  vk_keyboard_invalid: entry(
    422,
    "invalid_input",
    [
      "VK rejected the keyboard format.",
      "Check the buttons: at most 5 per row, 10 rows and 40 buttons (inline: 6 rows, 10 buttons), labels up to 40 characters, payloads up to 255 characters of JSON.",
    ],
    [
      "ВКонтакте отклонил формат клавиатуры.",
      "Проверьте кнопки: не больше 5 в ряду, 10 рядов и 40 кнопок (у встроенной клавиатуры — 6 рядов и 10 кнопок), подписи до 40 символов, payload до 255 символов JSON.",
    ],
    911,
  ),
  vk_bot_features_disabled: entry(
    422,
    "policy",
    [
      "VK refused: this is a chat-bot feature and the community has bot features switched off.",
      "In the community open Manage → Messages → Bot settings and enable Bot features, then send again.",
    ],
    [
      "ВКонтакте отказал: это функция чат-бота, а в сообществе выключены возможности ботов.",
      "В сообществе откройте «Управление → Сообщения → Настройки для бота» и включите «Возможности ботов», затем отправьте снова.",
    ],
    912,
  ),
  vk_too_many_forwarded: entry(
    422,
    "invalid_input",
    [
      "The message forwards too many messages.",
      "Forward fewer messages at once (split them across several messages).",
    ],
    [
      "В сообщении слишком много пересланных сообщений.",
      "Пересылайте меньше сообщений за раз (разделите их на несколько сообщений).",
    ],
    913,
  ),
  vk_message_too_long: entry(
    422,
    "invalid_input",
    [
      "VK says the message text is too long.",
      "Let the hub split long texts (the default), or lower the channel's text limit; VK's documented limit is 9000 characters, SDKs split at 4096.",
    ],
    [
      "ВКонтакте сообщает, что текст сообщения слишком длинный.",
      "Разрешите хабу делить длинные тексты (так по умолчанию) или уменьшите лимит текста в настройках канала; по документации ВКонтакте предел — 9000 символов, библиотеки делят по 4096.",
    ],
    914,
  ),
  vk_chat_access_denied: entry(
    422,
    "policy",
    [
      "The community has no access to this VK chat.",
      "Add the community to the chat in VK (or check the chat id), then send again.",
    ],
    [
      "У сообщества нет доступа к этой беседе ВКонтакте.",
      "Добавьте сообщество в беседу во ВКонтакте (или проверьте идентификатор беседы) и отправьте снова.",
    ],
    917,
  ),
  vk_edit_unsupported: entry(
    422,
    "invalid_input",
    ["VK cannot edit this kind of message.", "Send a new message instead of editing this one."],
    [
      "ВКонтакте не позволяет редактировать сообщения такого вида.",
      "Отправьте новое сообщение вместо редактирования.",
    ],
    920,
  ),
  vk_forward_unsupported: entry(
    422,
    "invalid_input",
    ["VK cannot forward these messages.", "Quote the text in a new message instead of forwarding it."],
    ["ВКонтакте не может переслать эти сообщения.", "Процитируйте текст в новом сообщении вместо пересылки."],
    921,
  ),
  vk_delete_for_all_denied: entry(
    422,
    "terminal",
    [
      "VK cannot delete this message for everybody (it is too old or not the community's).",
      "Delete it only for the community, or send a correction as a new message.",
    ],
    [
      "ВКонтакте не может удалить это сообщение для всех (оно слишком старое или не от сообщества).",
      "Удалите его только у сообщества или отправьте исправление новым сообщением.",
    ],
    924,
  ),
  vk_not_chat_admin: entry(
    422,
    "policy",
    [
      "The community is not an admin of this VK chat.",
      "Make the community an admin of the chat in VK, then repeat.",
    ],
    [
      "Сообщество не является администратором этой беседы ВКонтакте.",
      "Назначьте сообщество администратором беседы во ВКонтакте и повторите.",
    ],
    925,
  ),
  vk_chat_not_found: entry(
    404,
    "not_found",
    ["The VK chat does not exist.", "Check the chat id; the chat may have been deleted."],
    ["Беседы ВКонтакте не существует.", "Проверьте идентификатор беседы; возможно, она удалена."],
    927,
  ),
  vk_peer_not_allowed: entry(
    422,
    "policy",
    [
      "VK does not let the community interact with this recipient.",
      "Reach the contact through another channel.",
    ],
    [
      "ВКонтакте не позволяет сообществу взаимодействовать с этим получателем.",
      "Свяжитесь с контактом через другой канал.",
    ],
    932,
  ),
  vk_chat_member_not_found: entry(
    404,
    "not_found",
    [
      "The user is not a member of this VK chat.",
      "Check the user and chat ids; the user may have left the chat.",
    ],
    [
      "Пользователь не состоит в этой беседе ВКонтакте.",
      "Проверьте идентификаторы пользователя и беседы; возможно, пользователь вышел из беседы.",
    ],
    935,
  ),
  vk_contact_not_found: entry(
    404,
    "not_found",
    [
      "VK does not know this recipient.",
      "Check the contact's VK id; the account may no longer exist. Reach the contact through another channel.",
    ],
    [
      "ВКонтакте не знает такого получателя.",
      "Проверьте VK id контакта; возможно, страницы больше нет. Свяжитесь с контактом через другой канал.",
    ],
    936,
  ),
  vk_too_many_posts: entry(
    422,
    "invalid_input",
    [
      "The message has too many wall posts attached.",
      "Attach fewer posts and send the rest in another message.",
    ],
    [
      "К сообщению прикреплено слишком много записей.",
      "Прикрепите меньше записей, остальные отправьте отдельным сообщением.",
    ],
    940,
  ),
  vk_intent_not_allowed: entry(
    422,
    "policy",
    [
      "The community may not use this message intent.",
      "Send without the intent (or with `default`), or use an intent that fits VK's mailing rules for this message.",
    ],
    [
      "Сообществу нельзя использовать этот intent сообщения.",
      "Отправьте без intent (или с `default`) либо выберите intent, подходящий по правилам рассылок ВКонтакте.",
    ],
    943,
  ),
  vk_intent_limit_reached: entry(
    429,
    "rate_limited",
    [
      "The community has used up VK's limit for this message intent.",
      "Wait until VK resets the limit (the hub retries later), or send fewer messages with this intent.",
    ],
    [
      "Сообщество исчерпало лимит ВКонтакте для этого intent.",
      "Дождитесь, пока ВКонтакте сбросит лимит (хаб повторит позже), или отправляйте меньше сообщений с этим intent.",
    ],
    944,
  ),
  vk_chat_disabled: entry(
    422,
    "terminal",
    [
      "The VK chat was disabled.",
      "The chat cannot receive messages any more; reach its members another way.",
    ],
    [
      "Беседа ВКонтакте отключена.",
      "Беседа больше не принимает сообщения; свяжитесь с участниками другим способом.",
    ],
    945,
  ),
  vk_chat_not_supported: entry(
    422,
    "terminal",
    [
      "VK does not support this chat for community messages.",
      "Send to the user directly, or reach them through another channel.",
    ],
    [
      "ВКонтакте не поддерживает эту беседу для сообщений сообщества.",
      "Напишите пользователю напрямую или через другой канал.",
    ],
    946,
  ),
  vk_pinned_edit_too_early: entry(
    409,
    "retryable",
    ["VK cannot edit this pinned message yet.", "Repeat the edit in a little while."],
    [
      "ВКонтакте пока не позволяет редактировать это закреплённое сообщение.",
      "Повторите редактирование немного позже.",
    ],
    949,
  ),
  vk_reply_window_expired: entry(
    422,
    "policy",
    [
      "VK no longer lets the community reply: the time to reply has passed.",
      "Wait for the client to write again, or reach them through another channel.",
    ],
    [
      "ВКонтакте больше не позволяет сообществу ответить: время для ответа истекло.",
      "Дождитесь нового сообщения от клиента или свяжитесь с ним через другой канал.",
    ],
    950,
  ),
  vk_donut_chat_denied: entry(
    422,
    "policy",
    [
      "This VK chat is for VK Donut subscribers only.",
      "Write to the user directly, or give the community access to the Donut chat in VK.",
    ],
    [
      "Эта беседа ВКонтакте только для подписчиков VK Donut.",
      "Напишите пользователю напрямую или дайте сообществу доступ к беседе VK Donut.",
    ],
    962,
  ),
  vk_message_not_forwardable: entry(
    422,
    "invalid_input",
    ["This VK message cannot be forwarded.", "Quote its text in a new message instead."],
    ["Это сообщение ВКонтакте нельзя переслать.", "Процитируйте его текст в новом сообщении."],
    969,
  ),
  vk_notifications_only_group: entry(
    422,
    "policy",
    [
      "The recipient is a community that only receives notifications; it cannot be written to.",
      "Reach it another way.",
    ],
    [
      "Получатель — сообщество только для уведомлений, ему нельзя написать.",
      "Свяжитесь с ним другим способом.",
    ],
    985,
  ),
  vk_message_request_needed: entry(
    422,
    "policy",
    [
      "VK requires a message request before the community can write to this user.",
      "Wait for the client to write first or to accept a message request; until then use another channel.",
    ],
    [
      "ВКонтакте требует запрос на переписку, прежде чем сообщество сможет написать этому пользователю.",
      "Дождитесь, пока клиент напишет первым или примет запрос на переписку; до тех пор используйте другой канал.",
    ],
    987,
  ),
  vk_message_request_pending: entry(
    422,
    "policy",
    [
      "The user has not answered the community's message request yet.",
      "Wait until the client accepts the request; until then use another channel.",
    ],
    [
      "Пользователь ещё не ответил на запрос сообщества на переписку.",
      "Дождитесь, пока клиент примет запрос; до тех пор используйте другой канал.",
    ],
    988,
  ),
  vk_chat_writing_disabled: entry(
    422,
    "policy",
    [
      "Writing is disabled in this VK chat.",
      "Ask the chat's admins to allow writing, or reach the members another way.",
    ],
    [
      "В этой беседе ВКонтакте запрещено писать.",
      "Попросите администраторов беседы разрешить сообщения или свяжитесь с участниками другим способом.",
    ],
    1012,
  ),
  vk_callback_servers_limit: entry(
    409,
    "conflict",
    [
      "The community already has the most Callback API servers VK allows (10).",
      "In the community open Manage → API usage → Callback API, delete the extra and unused servers, then connect again. Keep only one server per hub: two servers pointing at the hub deliver every message twice.",
    ],
    [
      "В сообществе уже подключено максимальное число серверов Callback API (10).",
      "В сообществе откройте «Управление → Работа с API → Callback API», удалите лишние и неиспользуемые серверы и подключите снова. Оставляйте для хаба один сервер: два сервера с адресом хаба присылают каждое сообщение дважды.",
    ],
    2000,
  ),
  vk_method_unavailable_for_group: entry(
    502,
    "terminal",
    [
      "VK does not allow this call with a community token (error {vkCode}): {vkMessage}",
      "The community's tokens are fine; this action needs a feature the hub cannot use with them. Report it to the hub's maintainers with the `request_id`.",
    ],
    [
      "ВКонтакте не разрешает этот вызов с ключом сообщества (ошибка {vkCode}): {vkMessage}",
      "Ключи сообщества в порядке; для этого действия нужна возможность, недоступная хабу с такими ключами. Сообщите разработчикам хаба и укажите `request_id`.",
    ],
  ),
  vk_api_error: entry(
    502,
    "terminal",
    [
      "VK refused the call with error {vkCode}: {vkMessage}",
      "Look up the error code in VK's documentation (dev.vk.com/reference/errors) and change what it names; report it to the hub's maintainers so it gets its own entry here.",
    ],
    [
      "ВКонтакте отклонил вызов с ошибкой {vkCode}: {vkMessage}",
      "Найдите код ошибки в документации ВКонтакте (dev.vk.com/reference/errors) и исправьте то, что она называет; сообщите разработчикам хаба, чтобы у этой ошибки появилось своё описание.",
    ],
  ),

  // ── Connecting a community (POST /v1/channels) and keeping it connected ────
  vk_token_wrong_community: entry(
    422,
    "invalid_input",
    [
      "Token {index} belongs to VK community {actual}, not to community {groupId}.",
      "Create the token in community {groupId} itself (Manage → API usage → Access tokens → Create token), or correct `group_id`: a community's tokens do not work for another community.",
    ],
    [
      "Ключ {index} выпущен для сообщества ВКонтакте {actual}, а не для сообщества {groupId}.",
      "Создайте ключ в самом сообществе {groupId} («Управление → Работа с API → Ключи доступа → Создать ключ») или исправьте `group_id`: ключи одного сообщества не работают в другом.",
    ],
  ),
  vk_token_rights_missing: entry(
    422,
    "invalid_input",
    [
      "Token {index} lacks rights the hub needs: {missing}.",
      `Create a new token in Manage → API usage → Access tokens with the rights ${tokenRightsEn} ticked, and connect again with it in place of the old one.`,
    ],
    [
      "У ключа {index} нет прав, нужных хабу: {missing}.",
      `Создайте новый ключ в «Управление → Работа с API → Ключи доступа», отметив права: ${tokenRightsRu}, — и подключите канал снова, указав его вместо старого.`,
    ],
  ),
  vk_manage_right_missing: entry(
    422,
    "invalid_input",
    [
      "None of the tokens may manage the community (the `manage` right), and the hub needs it to set up the Callback API or Bots Long Poll.",
      `Create a token with community management ticked, together with the other rights (${tokenRightsEn}), in Manage → API usage → Access tokens, and add it to \`tokens\`.`,
    ],
    [
      "Ни у одного ключа нет права управления сообществом (`manage`), а оно нужно хабу, чтобы настроить Callback API или Bots Long Poll.",
      `Создайте ключ с правом «управление сообществом» вместе с остальными правами (${tokenRightsRu}) в «Управление → Работа с API → Ключи доступа» и добавьте его в \`tokens\`.`,
    ],
  ),
  vk_public_url_missing: entry(
    422,
    "invalid_input",
    [
      "Callback mode needs the hub's public address, and none is configured.",
      "Set `publicUrl` (SWITCHBOARD_PUBLIC_URL) to the https address at which VK reaches this hub and restart it, or connect with `mode: long_poll`, which needs no public address.",
    ],
    [
      "Для режима Callback нужен публичный адрес хаба, а он не настроен.",
      "Укажите `publicUrl` (SWITCHBOARD_PUBLIC_URL) — https-адрес, по которому ВКонтакте достучится до хаба, — и перезапустите его, либо подключите канал с `mode: long_poll`: этому режиму публичный адрес не нужен.",
    ],
  ),
  vk_callback_server_failed: entry(
    502,
    "terminal",
    [
      "VK cannot deliver events to the hub: the Callback API server at {url} is `failed`.",
      "VK must reach {url} from the internet: check that `publicUrl` is this hub's public https address, that a proxy in front of the hub forwards `/hooks/` to it, and that the hub answers. The hub asks VK to confirm the server again every few minutes; connect the channel again (`POST /v1/channels`) to retry at once. A hub without a public address should use `mode: long_poll`.",
    ],
    [
      "ВКонтакте не может доставить события хабу: сервер Callback API по адресу {url} в состоянии `failed`.",
      "ВКонтакте должен доставать до {url} из интернета: проверьте, что `publicUrl` — публичный https-адрес этого хаба, что прокси перед хабом передаёт ему `/hooks/` и что хаб отвечает. Хаб сам просит ВКонтакте заново подтвердить сервер каждые несколько минут; чтобы повторить сразу, подключите канал ещё раз (`POST /v1/channels`). Хабу без публичного адреса нужен `mode: long_poll`.",
    ],
  ),
  vk_callback_server_unconfirmed: entry(
    504,
    "retryable",
    [
      "VK has not confirmed the Callback API server at {url} yet (its status is `{status}`).",
      "This usually takes seconds, and the hub checks again by itself. If it stays so, check that {url} is reachable from the internet and answers VK's confirmation request (look for POST /hooks/vk/… in the hub's log).",
    ],
    [
      "ВКонтакте ещё не подтвердил сервер Callback API по адресу {url} (его статус — `{status}`).",
      "Обычно это занимает секунды, и хаб сам проверит ещё раз. Если статус не меняется, проверьте, что {url} доступен из интернета и отвечает на запрос подтверждения ВКонтакте (ищите POST /hooks/vk/… в журнале хаба).",
    ],
  ),
  vk_callback_server_missing: entry(
    409,
    "conflict",
    [
      "The hub's Callback API server (id {serverId}) is no longer in the community: it was deleted in VK.",
      "Connect the channel again (`POST /v1/channels` with the same `group_id` and tokens): the hub adds the server back.",
    ],
    [
      "Сервера Callback API хаба (id {serverId}) больше нет в сообществе: его удалили во ВКонтакте.",
      "Подключите канал ещё раз (`POST /v1/channels` с тем же `group_id` и ключами): хаб добавит сервер заново.",
    ],
  ),
  vk_long_poll_failing: entry(
    503,
    "retryable",
    [
      "Bots Long Poll keeps failing: {reason}",
      "The hub keeps retrying with growing pauses (up to a minute). Check the hub's internet access to VK, that Long Poll is still enabled in Manage → API usage → Long Poll API, and that the tokens are valid; connecting the channel again enables Long Poll again.",
    ],
    [
      "Bots Long Poll постоянно завершается ошибкой: {reason}",
      "Хаб продолжает попытки с растущими паузами (до минуты). Проверьте доступ хаба в интернет к ВКонтакте, что Long Poll по-прежнему включён в «Управление → Работа с API → Long Poll API» и что ключи действительны; повторное подключение канала снова включает Long Poll.",
    ],
  ),

  // Warnings: shown on the channel (`warnings`) and by `switchboard doctor`, never as an answer.
  vk_single_token: entry(
    422,
    "policy",
    [
      "The channel has a single access token: VK allows 20 requests per second per token, and a bot with too few tokens stops answering under load.",
      `Create one or two more tokens with the rights ${tokenRightsEn} (Manage → API usage → Access tokens) and add them to the channel's \`tokens\`: the hub spreads its calls across them.`,
    ],
    [
      "У канала один ключ доступа: ВКонтакте разрешает 20 запросов в секунду на ключ, и бот с недостаточным числом ключей перестаёт отвечать под нагрузкой.",
      `Создайте ещё один-два ключа с правами: ${tokenRightsRu} («Управление → Работа с API → Ключи доступа») — и добавьте их в \`tokens\` канала: хаб распределяет вызовы между ключами.`,
    ],
  ),
  vk_token_rights_limited: entry(
    422,
    "policy",
    [
      "Token {index} lacks the rights {missing}: calls that need them fail whenever they go through this token.",
      `Replace it with a token that has all the rights (${tokenRightsEn}): Manage → API usage → Access tokens → Create token.`,
    ],
    [
      "У ключа {index} нет прав {missing}: вызовы, которым они нужны, не проходят, когда идут через этот ключ.",
      `Замените его ключом со всеми правами (${tokenRightsRu}): «Управление → Работа с API → Ключи доступа → Создать ключ».`,
    ],
  ),
  vk_foreign_callback_server: entry(
    409,
    "conflict",
    [
      "Callback API server “{title}” ({url}) also receives {events} from this community. If it belongs to another bot or an old integration, clients' messages are handled twice: this is the usual cause of duplicate messages.",
      "In the community open Manage → API usage → Callback API and delete the servers you no longer use (the hub never deletes servers it did not create); then connect the channel again to refresh this list.",
    ],
    [
      "Сервер Callback API «{title}» ({url}) тоже получает {events} этого сообщества. Если это другой бот или старая интеграция, сообщения клиентов обрабатываются дважды: обычная причина дублирования сообщений.",
      "В сообществе откройте «Управление → Работа с API → Callback API» и удалите неиспользуемые серверы (хаб никогда не удаляет серверы, которые создал не он); затем подключите канал ещё раз, чтобы обновить этот список.",
    ],
  ),
  vk_long_poll_enabled_elsewhere: entry(
    409,
    "conflict",
    [
      "Bots Long Poll is also enabled in this community: another program may be receiving the same events.",
      "If nothing else should read this community's events, switch Long Poll off in Manage → API usage → Long Poll API. If you switch this channel to `mode: long_poll`, the hub takes Long Poll over.",
    ],
    [
      "В сообществе также включён Bots Long Poll: те же события может получать другая программа.",
      "Если больше никто не должен получать события сообщества, выключите Long Poll в «Управление → Работа с API → Long Poll API». Если перевести канал в `mode: long_poll`, хаб сам возьмёт Long Poll на себя.",
    ],
  ),
  vk_token_dead: entry(
    424,
    "auth",
    [
      "VK refused token {index} (error {vkCode}); the hub no longer uses it.",
      `The token was deleted or has expired. Create a new one with the rights ${tokenRightsEn} (Manage → API usage → Access tokens) and connect the channel again with the working tokens.`,
    ],
    [
      "ВКонтакте отклонил ключ {index} (ошибка {vkCode}); хаб им больше не пользуется.",
      `Ключ удалён или истёк. Создайте новый с правами: ${tokenRightsRu} («Управление → Работа с API → Ключи доступа») — и подключите канал снова с действующими ключами.`,
    ],
  ),
  vk_bot_features_unchecked: entry(
    422,
    "policy",
    [
      "The hub could not check that bot features are enabled in the community: {reason}",
      "Check it yourself: Manage → Messages → Bot settings → Bot features must be enabled, or keyboards and button answers fail with VK error 912.",
    ],
    [
      "Хаб не смог проверить, включены ли в сообществе возможности ботов: {reason}",
      "Проверьте сами: в «Управление → Сообщения → Настройки для бота» должны быть включены «Возможности ботов», иначе клавиатуры и ответы на кнопки не пройдут (ошибка ВКонтакте 912).",
    ],
  ),
  vk_disconnect_incomplete: entry(
    502,
    "retryable",
    [
      "The hub could not undo its setup in the VK community: {reason}",
      "Finish it by hand: in the community open Manage → API usage, delete the Callback API server whose address ends with /hooks/vk/{channelId}, and switch Long Poll off if nothing else uses it.",
    ],
    [
      "Хабу не удалось отменить свою настройку в сообществе ВКонтакте: {reason}",
      "Завершите вручную: в сообществе откройте «Управление → Работа с API», удалите сервер Callback API, адрес которого заканчивается на /hooks/vk/{channelId}, и выключите Long Poll, если им больше никто не пользуется.",
    ],
  ),

  // ── The adapter's own failures ─────────────────────────────────────────────
  vk_network_error: entry(
    504,
    "retryable",
    [
      "VK could not be reached: {reason}",
      "The hub tries again later. If it lasts, check the hub's internet access and DNS, any proxy or firewall between the hub and VK, and the channel's `apiBaseUrl`.",
    ],
    [
      "Не удалось связаться с ВКонтакте: {reason}",
      "Хаб повторит попытку позже. Если ошибка не проходит, проверьте доступ хаба в интернет и DNS, прокси или межсетевой экран между хабом и ВКонтакте, а также `apiBaseUrl` в настройках канала.",
    ],
  ),
  vk_unexpected_response: entry(
    502,
    "retryable",
    [
      "VK answered with something that is not a VK API response: {reason}",
      "Usually a passing failure of VK or of a proxy on the way; the hub tries again. If it persists, check that the channel's `apiBaseUrl` points at the VK API (default https://api.vk.ru/method).",
    ],
    [
      "ВКонтакте ответил не в формате VK API: {reason}",
      "Обычно это временный сбой ВКонтакте или прокси по пути; хаб повторит попытку. Если ошибка не проходит, проверьте, что `apiBaseUrl` канала указывает на VK API (по умолчанию https://api.vk.ru/method).",
    ],
  ),
  vk_no_tokens: entry(
    424,
    "auth",
    [
      "The VK channel has no working access token.",
      `A community bot without enough tokens stops answering. In the community open Manage → API usage → Access tokens, create at least two tokens with the rights ${tokenRightsEn}, and add them to the channel's settings; the hub spreads its calls across them.`,
    ],
    [
      "У канала ВКонтакте нет действующего ключа доступа.",
      `Бот сообщества без достаточного числа ключей перестаёт отвечать. В сообществе откройте «Управление → Работа с API → Ключи доступа», создайте не меньше двух ключей с правами: ${tokenRightsRu}, — и добавьте их в настройки канала; хаб распределяет вызовы между ключами.`,
    ],
  ),
  vk_text_too_long: entry(
    422,
    "invalid_input",
    [
      "The text has {length} characters, more than the {limit} one VK message takes, and it may not be split.",
      "Shorten the text. A new message can go out as several instead: leave `split: false` out of the request (splitting is the default). An edit changes one VK message, so its text must fit; a split message's parts are edited each by its own id.",
    ],
    [
      "В тексте {length} символов — больше, чем {limit}, которые вмещает одно сообщение ВКонтакте, а делить его нельзя.",
      "Сократите текст. Новое сообщение хаб может отправить несколькими: уберите `split: false` из запроса (по умолчанию текст делится). Правка меняет одно сообщение ВКонтакте, поэтому текст должен в него поместиться; части разделённого сообщения правятся каждая по своему id.",
    ],
  ),
  vk_button_event_expired: entry(
    410,
    "terminal",
    [
      "VK no longer accepts an answer to this button press: {vkMessage}",
      "VK takes the answer to a callback button within about a minute of the press, and only once. Answer presses as they arrive; for a late answer, send the client a message instead.",
    ],
    [
      "ВКонтакте больше не принимает ответ на это нажатие кнопки: {vkMessage}",
      "ВКонтакте принимает ответ на нажатие callback-кнопки примерно в течение минуты и только один раз. Отвечайте на нажатия сразу; если ответ запоздал, отправьте клиенту сообщение.",
    ],
  ),
  vk_comment_reply_unsupported: entry(
    422,
    "policy",
    [
      "VK lets a community answer comments through the API only on wall posts, not on a {kind}.",
      "Answer this comment in VK itself (the conversation has a link to it), or write to the client in private messages.",
    ],
    [
      "ВКонтакте позволяет сообществу отвечать через API только на комментарии к записям на стене, а не к объекту «{kind}».",
      "Ответьте на этот комментарий во ВКонтакте (ссылка на него есть в диалоге) или напишите клиенту в личные сообщения.",
    ],
  ),
  vk_user_id_invalid: entry(
    400,
    "invalid_input",
    [
      '"{id}" is not a VK user id.',
      "Give the user's numeric id, as in vk.com/id123456 (123456); a short name such as vk.com/durov is not an id.",
    ],
    [
      "«{id}» — не идентификатор пользователя ВКонтакте.",
      "Укажите числовой id пользователя, как в адресе vk.com/id123456 (123456); короткое имя вроде vk.com/durov — не id.",
    ],
  ),
  vk_too_many_attachments: entry(
    422,
    "invalid_input",
    [
      "The message has {count} attachments; VK takes at most {limit} in one message.",
      "Send the attachments in several messages.",
    ],
    [
      "В сообщении {count} вложений, а ВКонтакте принимает не больше {limit} в одном сообщении.",
      "Отправьте вложения несколькими сообщениями.",
    ],
  ),
  vk_attachment_invalid: entry(
    422,
    "invalid_input",
    [
      "`{value}` is not a VK attachment.",
      "Give attachments as VK writes them: type, owner id, underscore, media id and optional access key, e.g. `photo-123_456` or `doc100_200_abc`.",
    ],
    [
      "`{value}` — не вложение ВКонтакте.",
      "Указывайте вложения так, как их пишет ВКонтакте: тип, id владельца, подчёркивание, id объекта и при необходимости ключ доступа, например `photo-123_456` или `doc100_200_abc`.",
    ],
  ),
  vk_upload_failed: entry(
    502,
    "retryable",
    [
      "Uploading the file to VK failed: {reason}",
      "The hub tries again later. If it keeps failing, check that the hub's machine reaches VK's upload servers (such as `pu.vk.com`) through its firewall.",
    ],
    [
      "Не удалось загрузить файл во ВКонтакте: {reason}",
      "Хаб повторит попытку позже. Если ошибка не проходит, проверьте, что машина хаба достаёт до серверов загрузки ВКонтакте (например, `pu.vk.com`) через свой файрвол.",
    ],
  ),
  vk_file_refused: entry(
    422,
    "invalid_input",
    [
      "VK refused the file: {reason}",
      "Sending the same file again will not help. Photos must be JPG, PNG or GIF, at most 50 MB, width plus height at most 14000 px; documents at most 200 MB and neither MP3 nor an executable. Send audio as `voice`, other images as `document`, and programs packed in a ZIP archive.",
    ],
    [
      "ВКонтакте не принял файл: {reason}",
      "Повторная отправка того же файла не поможет. Фото — JPG, PNG или GIF, до 50 МБ, ширина плюс высота не больше 14000 px; документы — до 200 МБ, не MP3 и не исполняемые файлы. Аудио отправляйте как `voice`, другие изображения — как `document`, программы — в ZIP-архиве.",
    ],
  ),
  vk_keyboard_too_many_rows: entry(
    422,
    "invalid_input",
    [
      "`{path}` has {count} rows; VK allows at most {limit} in this keyboard.",
      "Use fewer rows: a standard keyboard holds 10, an inline one 6.",
    ],
    [
      "В `{path}` {count} рядов, а ВКонтакте допускает не больше {limit} в такой клавиатуре.",
      "Сократите число рядов: в обычной клавиатуре до 10, во встроенной до 6.",
    ],
  ),
  vk_keyboard_row_size: entry(
    422,
    "invalid_input",
    [
      "Row `{path}` has {count} buttons; a VK keyboard row holds 1 to {limit}.",
      "Put 1 to 5 buttons in each row; remove empty rows.",
    ],
    [
      "В ряду `{path}` {count} кнопок, а ряд клавиатуры ВКонтакте вмещает от 1 до {limit}.",
      "Разместите в каждом ряду от 1 до 5 кнопок; уберите пустые ряды.",
    ],
  ),
  vk_keyboard_too_many_buttons: entry(
    422,
    "invalid_input",
    [
      "`{path}` has {count} buttons; VK allows at most {limit} in this keyboard.",
      "Use fewer buttons: a standard keyboard holds 40, an inline one 10.",
    ],
    [
      "В `{path}` {count} кнопок, а ВКонтакте допускает не больше {limit} в такой клавиатуре.",
      "Сократите число кнопок: в обычной клавиатуре до 40, во встроенной до 10.",
    ],
  ),
  vk_keyboard_label_invalid: entry(
    422,
    "invalid_input",
    [
      "The label of `{path}` must have 1 to {limit} characters.",
      "Give every text, callback and link button a short, non-empty label.",
    ],
    [
      "Подпись `{path}` должна содержать от 1 до {limit} символов.",
      "Дайте каждой текстовой, callback- и ссылочной кнопке короткую непустую подпись.",
    ],
  ),
  vk_keyboard_link_invalid: entry(
    422,
    "invalid_input",
    [
      "The link of `{path}` must be an http or https URL.",
      "Give link buttons a full address such as https://example.com/page.",
    ],
    [
      "Ссылка `{path}` должна быть адресом http или https.",
      "Укажите для кнопки-ссылки полный адрес, например https://example.com/page.",
    ],
  ),
  vk_keyboard_payload_invalid: entry(
    422,
    "invalid_input",
    [
      "The payload of `{path}` must be a JSON value of at most {limit} characters once serialised.",
      "Keep button payloads small (an id or a short command) and JSON-serialisable.",
    ],
    [
      "Payload `{path}` должен быть значением JSON длиной не больше {limit} символов после сериализации.",
      "Делайте payload кнопок коротким (идентификатор или короткая команда) и сериализуемым в JSON.",
    ],
  ),
  vk_keyboard_one_time_inline: entry(
    422,
    "invalid_input",
    [
      "`{path}` is both inline and one-time; VK does not support one-time inline keyboards.",
      "Drop `one_time` for an inline keyboard, or make the keyboard standard.",
    ],
    [
      "`{path}` одновременно встроенная и одноразовая, а ВКонтакте не поддерживает одноразовые встроенные клавиатуры.",
      "Уберите `one_time` у встроенной клавиатуры или сделайте клавиатуру обычной.",
    ],
  ),

  // ── Media conversion and fetching (voice messages, attachments by URL) ─────
  ffmpeg_missing: entry(
    500,
    "terminal",
    [
      "ffmpeg is not installed on the hub's machine, and voice messages need it.",
      "Install ffmpeg (for example `apt-get install ffmpeg` on Debian or Ubuntu, `brew install ffmpeg` on macOS) so that `ffmpeg` is on the hub's PATH, then send again.",
    ],
    [
      "На машине хаба не установлен ffmpeg, а он нужен для голосовых сообщений.",
      "Установите ffmpeg (например, `apt-get install ffmpeg` в Debian или Ubuntu, `brew install ffmpeg` в macOS), чтобы команда `ffmpeg` была в PATH хаба, и отправьте снова.",
    ],
  ),
  media_conversion_failed: entry(
    422,
    "invalid_input",
    [
      "The audio could not be converted to a voice message: {reason}",
      "Send a playable audio file (MP3, WAV, M4A, OGG and the like); check that it opens in a media player.",
    ],
    [
      "Не удалось преобразовать аудио в голосовое сообщение: {reason}",
      "Пришлите воспроизводимый аудиофайл (MP3, WAV, M4A, OGG и т. п.); проверьте, что он открывается в проигрывателе.",
    ],
  ),
  media_voice_too_long: entry(
    422,
    "invalid_input",
    [
      "The voice message lasts {duration} s; VK takes at most {limit} s.",
      "Shorten the recording to 5 minutes, or send it as an audio file (document) instead.",
    ],
    [
      "Голосовое сообщение длится {duration} с, а ВКонтакте принимает не больше {limit} с.",
      "Сократите запись до 5 минут или отправьте её как аудиофайл (документ).",
    ],
  ),
  media_fetch_failed: entry(
    502,
    "retryable",
    [
      "The attachment at {url} could not be downloaded: {reason}",
      "The hub tries again later. Check that the address is reachable from the hub's machine and answers quickly.",
    ],
    [
      "Не удалось скачать вложение по адресу {url}: {reason}",
      "Хаб повторит попытку позже. Проверьте, что адрес доступен с машины хаба и отвечает быстро.",
    ],
  ),
  media_url_unusable: entry(
    422,
    "invalid_input",
    [
      "The attachment at {url} cannot be used: {reason}",
      "Give a public http or https address of the file itself (not a page about it), within the size limit, that answers without a login. A server on the hub's own network (a private or loopback address) is reached only when the hub's `egressAllow` setting (`SWITCHBOARD_EGRESS_ALLOW`, `--egress-allow`) lists it.",
    ],
    [
      "Вложение по адресу {url} нельзя использовать: {reason}",
      "Укажите публичный адрес http или https самого файла (а не страницы о нём), в пределах допустимого размера, доступный без входа в систему. Сервер во внутренней сети хаба (частный или loopback-адрес) доступен, только если он указан в настройке хаба `egressAllow` (`SWITCHBOARD_EGRESS_ALLOW`, `--egress-allow`).",
    ],
  ),
} satisfies Record<string, CatalogueEntry>;
