/**
 * The error catalogue: the single source of every error code the hub can return or print.
 * Codes are stable API; never rename one. Add an entry here before using a new code anywhere.
 * `{name}` placeholders in texts are filled from the error's params. Each platform's errors live
 * in a file of their own beside this one (vk.ts), as do the send API's (sending.ts); all are
 * merged here.
 */
import { sendingEntries } from "./sending.ts";
import { vkEntries } from "./vk.ts";

export const errorClasses = [
  "invalid_input",
  "auth",
  "not_found",
  "conflict",
  "rate_limited",
  "policy",
  "retryable",
  "terminal",
] as const;
export type ErrorClass = (typeof errorClasses)[number];

export interface LocalizedText {
  message: string;
  remedy: string;
}

export interface CatalogueEntry {
  status: number;
  class: ErrorClass;
  /** The platform's own code when the error mirrors one (e.g. VK 901). */
  upstream?: string;
  en: LocalizedText;
  ru: LocalizedText;
  /**
   * What the `switchboard` command prints instead, for a code that the API and the command both
   * raise and whose text above does not fit a person at the command line: a remedy that names API
   * routes they are not calling, a message about "this workspace" when the command looks in the
   * whole store. A part left out is the API's.
   */
  cli?: Record<Language, Partial<LocalizedText>>;
}

const entries = {
  // ── Request shape ──────────────────────────────────────────────────────────
  validation_failed: {
    status: 400,
    class: "invalid_input",
    en: {
      message: "The request has invalid fields.",
      remedy: "Fix the fields listed in `details` (each names its path) and send the request again.",
    },
    ru: {
      message: "В запросе есть недопустимые поля.",
      remedy: "Исправьте поля из списка `details` (у каждого указан путь) и отправьте запрос снова.",
    },
  },
  malformed_json: {
    status: 400,
    class: "invalid_input",
    en: {
      message: "The request body is not valid JSON.",
      remedy: "Send a well-formed JSON document with `Content-Type: application/json`.",
    },
    ru: {
      message: "Тело запроса не является корректным JSON.",
      remedy: "Отправьте корректный JSON-документ с заголовком `Content-Type: application/json`.",
    },
  },
  unsupported_media_type: {
    status: 415,
    class: "invalid_input",
    en: {
      message: "The request body must be JSON, got `{contentType}`.",
      remedy: "Send the body as JSON with `Content-Type: application/json`.",
    },
    ru: {
      message: "Тело запроса должно быть в формате JSON, получено `{contentType}`.",
      remedy: "Отправьте тело в формате JSON с заголовком `Content-Type: application/json`.",
    },
  },
  body_too_large: {
    status: 413,
    class: "invalid_input",
    en: {
      message: "The request body is larger than the limit of {limit} bytes.",
      remedy:
        "Send a smaller body (split a batch into several requests), or raise `bodyLimit` (SWITCHBOARD_BODY_LIMIT) in the hub's configuration.",
    },
    ru: {
      message: "Тело запроса больше допустимых {limit} байт.",
      remedy:
        "Отправьте тело меньшего размера (разбейте пакет на несколько запросов) или увеличьте `bodyLimit` (SWITCHBOARD_BODY_LIMIT) в настройках хаба.",
    },
  },
  // Answered by the HTTP server itself, before the request's language can be read: English only.
  headers_too_large: {
    status: 431,
    class: "invalid_input",
    en: {
      message: "The request's headers are larger than the hub reads ({limit} bytes in all).",
      remedy:
        "Send fewer or shorter headers: the API needs `Authorization`, `Content-Type`, and at most `Accept-Language`, `Idempotency-Key` and `X-Request-Id`. A large cookie or proxy header is the usual cause.",
    },
    ru: {
      message: "Заголовки запроса больше, чем читает хаб (всего {limit} байт).",
      remedy:
        "Отправляйте меньше заголовков или короче: API нужны `Authorization`, `Content-Type` и разве что `Accept-Language`, `Idempotency-Key` и `X-Request-Id`. Обычно причина — большая cookie или заголовок прокси.",
    },
  },
  url_malformed: {
    status: 400,
    class: "invalid_input",
    en: {
      message:
        "The request's address holds characters a URL cannot carry as they are (letters outside ASCII, control characters such as a tab).",
      remedy:
        "Percent-encode the query's values (`?q=%D0%90%D0%BD%D0%BD%D0%B0` for `?q=Анна`): HTTP libraries do when given the parameters apart, and curl does with `--get --data-urlencode 'q=Анна'`.",
    },
    ru: {
      message:
        "В адресе запроса есть символы, которые URL не может нести как есть (буквы не из ASCII, управляющие символы вроде табуляции).",
      remedy:
        "Закодируйте значения параметров (`?q=%D0%90%D0%BD%D0%BD%D0%B0` вместо `?q=Анна`): HTTP-библиотеки делают это, если передать параметры отдельно, а curl — с `--get --data-urlencode 'q=Анна'`.",
    },
  },
  invalid_cursor: {
    status: 400,
    class: "invalid_input",
    en: {
      message: "The pagination cursor is not valid for this list.",
      remedy:
        "Pass the `next_cursor` value from the previous page of the same list unchanged, or omit it to start over.",
    },
    ru: {
      message: "Курсор пагинации не подходит для этого списка.",
      remedy:
        "Передайте без изменений значение `next_cursor` из предыдущей страницы этого же списка или не передавайте его, чтобы начать сначала.",
    },
  },
  invalid_phone: {
    status: 400,
    class: "invalid_input",
    en: {
      message: "`{value}` is not a valid phone number.",
      remedy:
        "Give the number in international format with the country code, e.g. +79161234567; a number without one is read with the hub's default country ({country}).",
    },
    ru: {
      message: "`{value}` — некорректный номер телефона.",
      remedy:
        "Укажите номер в международном формате с кодом страны, например +79161234567; номер без кода читается по стране по умолчанию ({country}).",
    },
  },
  route_not_found: {
    status: 404,
    class: "not_found",
    en: {
      message: "There is no `{method} {path}` in this API.",
      remedy: "Check the method and path against the API reference at /docs.",
    },
    ru: {
      message: "В API нет метода `{method} {path}`.",
      remedy: "Сверьте метод и путь со справочником API по адресу /docs.",
    },
  },

  // ── Authentication ─────────────────────────────────────────────────────────
  // {reason}: what the Authorization header lacks, in the answer's language; never the key.
  auth_missing: {
    status: 401,
    class: "auth",
    en: {
      message: "The request carries no API key the hub can read: {reason}.",
      remedy:
        "Send the key in the header `Authorization: Bearer <key>`. Create a key with `switchboard keys create`.",
    },
    ru: {
      message: "В запросе нет API-ключа, который хаб может прочитать: {reason}.",
      remedy:
        "Передайте ключ в заголовке `Authorization: Bearer <ключ>`. Создать ключ можно командой `switchboard keys create`.",
    },
  },
  // Names the settings, never this hub's own path or URL: the answer goes to anyone without a valid key.
  auth_invalid: {
    status: 401,
    class: "auth",
    en: {
      message: "The API key is unknown or revoked.",
      remedy:
        "Check that the whole key was copied and that it is this hub's. On the hub's machine `switchboard keys list` shows the active keys and `switchboard keys create` makes a new one; run them on the hub's store (its `--data-dir` or SWITCHBOARD_DATA_DIR, or its `--database-url` or DATABASE_URL). The sandbox prints its key at each start: the same one, kept in `sandbox.key` in its data directory, until it is revoked, and a new one after that.",
    },
    ru: {
      message: "API-ключ неизвестен или отозван.",
      remedy:
        "Проверьте, что ключ скопирован целиком и относится к этому хабу. На машине хаба `switchboard keys list` показывает действующие ключи, а `switchboard keys create` создаёт новый; запускайте их с хранилищем хаба (его `--data-dir` или SWITCHBOARD_DATA_DIR либо `--database-url` или DATABASE_URL). Песочница выводит свой ключ при каждом запуске: один и тот же, он хранится в `sandbox.key` в её каталоге данных, пока его не отзовут, а после этого — новый.",
    },
  },
  admin_required: {
    status: 403,
    class: "auth",
    en: {
      message: "This action needs an admin API key.",
      remedy:
        'Use an admin key. An admin key makes another with `POST /v1/api-keys` and `{"admin": true}`; on the hub\'s machine `switchboard keys create --admin` does (with the embedded store, while the hub is stopped).',
    },
    ru: {
      message: "Для этого действия нужен API-ключ администратора.",
      remedy:
        'Используйте ключ администратора. Ключ администратора создаёт другой запросом `POST /v1/api-keys` с `{"admin": true}`; на машине хаба это делает команда `switchboard keys create --admin` (со встроенным хранилищем — пока хаб остановлен).',
    },
  },

  // ── Outgoing webhooks ──────────────────────────────────────────────────────
  webhook_url_refused: {
    status: 400,
    class: "invalid_input",
    en: {
      message: "The hub will not send requests to `{url}`: {reason}.",
      remedy:
        "Give a public http(s) address. To reach a host on a private network on purpose, add it to `egressAllow` (SWITCHBOARD_EGRESS_ALLOW) in the hub's configuration.",
    },
    ru: {
      message: "Хаб не будет отправлять запросы на `{url}`: {reason}.",
      remedy:
        "Укажите публичный адрес http(s). Чтобы намеренно обращаться к узлу частной сети, добавьте его в `egressAllow` (SWITCHBOARD_EGRESS_ALLOW) в настройках хаба.",
    },
  },
  replay_endpoint_required: {
    status: 400,
    class: "invalid_input",
    en: {
      message: "The event `{id}` is not a status callback: say which endpoint to send it to.",
      remedy:
        'Send `{"endpoint_id": "…"}` with the id of one of the workspace\'s endpoints (`GET /v1/webhooks`). Only a status callback (type `callback`) is replayed to its own URL without one.',
    },
    ru: {
      message: "Событие `{id}` не является статусным колбэком: укажите, на какой вебхук его отправить.",
      remedy:
        'Передайте `{"endpoint_id": "…"}` с идентификатором одного из вебхуков рабочего пространства (`GET /v1/webhooks`). Без него повторно отправляется только статусный колбэк (тип `callback`) — на его собственный адрес.',
    },
  },
  webhook_endpoint_disabled: {
    status: 409,
    class: "conflict",
    en: {
      message: "The webhook endpoint `{id}` is disabled ({reason}).",
      remedy:
        'Fix the receiver, then enable the endpoint with `PATCH /v1/webhooks/{id}` and `{"enabled": true}`; its pending events are delivered then, and `POST /v1/webhooks/{id}/recover` re-sends the failed ones.',
    },
    ru: {
      message: "Вебхук `{id}` отключён ({reason}).",
      remedy:
        'Исправьте приёмник и включите вебхук через `PATCH /v1/webhooks/{id}` с `{"enabled": true}`; ожидающие события будут доставлены, а `POST /v1/webhooks/{id}/recover` повторно отправит неудавшиеся.',
    },
  },

  // ── Resources ──────────────────────────────────────────────────────────────
  workspace_not_found: {
    status: 404,
    class: "not_found",
    en: {
      message: "There is no workspace with id `{id}`.",
      remedy:
        "Check the id. A plain API key sees only its own workspace (its id is the `workspace_id` in `GET /v1/api-keys`); an admin key lists every workspace with `GET /v1/workspaces`.",
    },
    ru: {
      message: "Рабочего пространства с идентификатором `{id}` нет.",
      remedy:
        "Проверьте идентификатор. Обычный API-ключ видит только своё рабочее пространство (его идентификатор — `workspace_id` в ответе `GET /v1/api-keys`); ключ администратора получает список всех через `GET /v1/workspaces`.",
    },
    cli: {
      en: {
        remedy:
          "Check the id: `switchboard keys list` ends each key's line with the id of its workspace. Without `--workspace`, `switchboard keys create` uses the default workspace.",
      },
      ru: {
        remedy:
          "Проверьте идентификатор: `switchboard keys list` выводит в конце строки каждого ключа идентификатор его рабочего пространства. Без `--workspace` команда `switchboard keys create` использует рабочее пространство по умолчанию.",
      },
    },
  },
  api_key_not_found: {
    ...notFound("API key", "API-ключ", listedBy("GET /v1/api-keys")),
    // `switchboard keys revoke` looks for the key in the whole store, not in a caller's workspace.
    cli: {
      en: {
        message: "There is no API key with id `{id}`.",
        remedy: "Check the id: `switchboard keys list` begins each key's line with its id.",
      },
      ru: {
        message: "API-ключа с идентификатором `{id}` нет.",
        remedy: "Проверьте идентификатор: `switchboard keys list` выводит его в начале строки каждого ключа.",
      },
    },
  },
  channel_not_found: notFound("channel account", "канал", listedBy("GET /v1/channels")),
  contact_not_found: notFound("contact", "контакт", listedBy("GET /v1/contacts")),
  conversation_not_found: notFound("conversation", "диалог", listedBy("GET /v1/conversations")),
  lead_not_found: notFound("lead", "заявка", listedBy("GET /v1/leads")),
  message_not_found: notFound(
    "message",
    "сообщение",
    listedBy("GET /v1/conversations/<conversation id>/messages"),
  ),
  webhook_endpoint_not_found: notFound("webhook endpoint", "вебхук", listedBy("GET /v1/webhooks")),
  webhook_event_not_found: notFound("event", "событие", listedBy("GET /v1/events")),
  // No route lists recoveries: the id comes only from the answer that started one.
  webhook_recovery_not_found: notFound("recovery", "восстановление", {
    en: "Check the id: it is the `id` in the answer of the `POST /v1/webhooks/<endpoint id>/recover` or `POST /v1/callbacks/recover` that started the recovery.",
    ru: "Проверьте идентификатор: это `id` из ответа на запрос `POST /v1/webhooks/<id вебхука>/recover` или `POST /v1/callbacks/recover`, который запустил восстановление.",
  }),
  contact_event_not_found: {
    status: 404,
    class: "not_found",
    en: {
      message: "No contact event with id `{id}` in this workspace.",
      remedy:
        "Check the id: it is the `id` of a contact event (such as `button_pressed`) as the hub delivered it.",
    },
    ru: {
      message: "В этом рабочем пространстве нет события контакта с идентификатором `{id}`.",
      remedy:
        "Проверьте идентификатор: это `id` события контакта (например, `button_pressed`), которое передал хаб.",
    },
  },
  contact_identity_taken: {
    status: 409,
    class: "conflict",
    en: {
      message: "The identity {channelKind}:{externalId} already belongs to contact {contactId}.",
      remedy: "Update that contact instead, or merge the two contacts with `POST /v1/contacts/{id}/merge`.",
    },
    ru: {
      message: "Идентификатор {channelKind}:{externalId} уже принадлежит контакту {contactId}.",
      remedy: "Измените тот контакт или объедините контакты через `POST /v1/contacts/{id}/merge`.",
    },
  },
  conversation_already_open: {
    status: 409,
    class: "conflict",
    en: {
      message:
        "The client already has the open conversation `{openId}` on this channel, so the resolved conversation `{id}` cannot be reopened beside it.",
      remedy:
        "Go on in `{openId}`, where the client's new messages arrive; or resolve it first (`PATCH /v1/conversations/{openId}` with `status` `resolved`), then reopen this one.",
    },
    ru: {
      message:
        "У клиента уже есть открытый диалог `{openId}` в этом канале, поэтому решённый диалог `{id}` нельзя открыть снова рядом с ним.",
      remedy:
        "Продолжайте в `{openId}`, куда приходят новые сообщения клиента; или сначала решите его (`PATCH /v1/conversations/{openId}` со `status` `resolved`), затем откройте снова этот.",
    },
  },
  contact_merge_self: {
    status: 400,
    class: "invalid_input",
    en: {
      message: "A contact cannot be merged into itself.",
      remedy: "Pass the id of the other contact as `source_contact_id`.",
    },
    ru: {
      message: "Контакт нельзя объединить с самим собой.",
      remedy: "Передайте в `source_contact_id` идентификатор другого контакта.",
    },
  },
  last_workspace_key: {
    status: 409,
    class: "conflict",
    en: {
      message:
        "This is the workspace's last active key; revoking it would lock the workspace out of the API.",
      remedy:
        "Create another key for the workspace first (`POST /v1/api-keys` with this key, `POST /v1/workspaces/{id}/api-keys` with an admin key, or `switchboard keys create --workspace <id>`), then revoke this one.",
    },
    ru: {
      message:
        "Это последний действующий ключ рабочего пространства; после его отзыва пространство потеряет доступ к API.",
      remedy:
        "Сначала создайте для пространства другой ключ (`POST /v1/api-keys` этим ключом, `POST /v1/workspaces/{id}/api-keys` ключом администратора или `switchboard keys create --workspace <id>`), затем отзовите этот.",
    },
    cli: {
      en: {
        remedy:
          "Create another key for the workspace first with `switchboard keys create --workspace <workspace id>` (`switchboard keys list` ends each key's line with the id of its workspace), then revoke this one.",
      },
      ru: {
        remedy:
          "Сначала создайте для пространства другой ключ: `switchboard keys create --workspace <идентификатор пространства>` (`switchboard keys list` выводит в конце строки каждого ключа идентификатор его рабочего пространства), затем отзовите этот.",
      },
    },
  },

  last_admin_key: {
    status: 409,
    class: "conflict",
    en: {
      message: "This is the last active admin key; revoking it would lock everyone out of the admin API.",
      remedy: "Create another admin key first (`switchboard keys create --admin`), then revoke this one.",
    },
    ru: {
      message:
        "Это последний действующий ключ администратора; после его отзыва административный API станет недоступен.",
      remedy:
        "Сначала создайте другой ключ администратора (`switchboard keys create --admin`), затем отзовите этот.",
    },
  },

  // ── Sending ────────────────────────────────────────────────────────────────
  contact_refused_messages: {
    status: 422,
    class: "policy",
    en: {
      message: "The client refused messages from this channel.",
      remedy:
        "The client has forbidden the community (or account) to write to them. The error goes away only when the client allows messages again, for example by writing to the community; until then reach them through another channel.",
    },
    ru: {
      message: "Клиент отказался от получения сообщений из этого канала.",
      remedy:
        "Клиент запретил сообществу (или аккаунту) писать ему. Ошибка пропадёт, только когда клиент снова разрешит сообщения — например, напишет в сообщество; до тех пор свяжитесь с ним через другой канал.",
    },
  },
  recipient_unknown: {
    status: 422,
    class: "invalid_input",
    en: {
      message: "Conversation `{id}` has no client with a {kind} identity to send to.",
      remedy:
        "Send in a conversation whose contact wrote through this channel, or add the contact's identity on this platform (`PATCH /v1/contacts/<contact id>`).",
    },
    ru: {
      message: "В диалоге `{id}` нет клиента с идентификатором {kind}, которому можно написать.",
      remedy:
        "Отправляйте в диалог, контакт которого писал через этот канал, или добавьте контакту идентификатор на этой платформе (`PATCH /v1/contacts/<id контакта>`).",
    },
  },
  channel_credentials_lost: {
    status: 424,
    class: "auth",
    en: {
      message:
        "The channel has no credentials: they were sealed with an encryption key that was lost, and `switchboard secrets forget` dropped them.",
      remedy:
        "Connect the channel again with its tokens (VK: `POST /v1/channels` with the community's `group_id` and its tokens). It keeps its id, conversations and history.",
    },
    ru: {
      message:
        "У канала нет учётных данных: они были зашифрованы потерянным ключом, и `switchboard secrets forget` их удалил.",
      remedy:
        "Подключите канал заново с его токенами (ВКонтакте: `POST /v1/channels` с `group_id` сообщества и его токенами). Его id, диалоги и история сохранятся.",
    },
  },
  channel_disabled: {
    status: 409,
    class: "conflict",
    en: {
      message: "Channel `{id}` is disabled: nothing is sent through it.",
      remedy: "Enable it with `POST /v1/channels/{id}/enable`, then send again.",
    },
    ru: {
      message: "Канал `{id}` отключён: через него ничего не отправляется.",
      remedy: "Включите его запросом `POST /v1/channels/{id}/enable` и отправьте снова.",
    },
  },
  channel_send_unsupported: {
    status: 422,
    class: "terminal",
    en: {
      message: "The hub cannot send through {kind} channels yet.",
      remedy: "Answer this conversation in the platform itself, or through a channel the hub can send with.",
    },
    ru: {
      message: "Хаб пока не умеет отправлять сообщения через каналы {kind}.",
      remedy: "Ответьте в этом диалоге на самой платформе или через канал, который хаб поддерживает.",
    },
  },
  message_not_editable: {
    status: 409,
    class: "conflict",
    en: {
      message: "Message `{id}` cannot be changed through the hub: {reason}.",
      remedy:
        "Only messages the hub itself sent in a direct conversation, and that reached the platform, can be edited or deleted; send a new message instead.",
    },
    ru: {
      message: "Сообщение `{id}` нельзя изменить через хаб: {reason}.",
      remedy:
        "Редактировать и удалять можно только сообщения, которые отправил сам хаб в личном диалоге и которые дошли до платформы; вместо этого отправьте новое сообщение.",
    },
  },
  contact_event_not_button: {
    status: 409,
    class: "conflict",
    en: {
      message: "Contact event `{id}` is a `{kind}` event, not a button press, so it cannot be answered.",
      remedy: "Answer only `button_pressed` events (presses of callback buttons).",
    },
    ru: {
      message:
        "Событие контакта `{id}` имеет тип `{kind}`, а не нажатие кнопки, поэтому на него нельзя ответить.",
      remedy: "Отвечайте только на события `button_pressed` (нажатия callback-кнопок).",
    },
  },

  contact_event_answered: {
    status: 409,
    class: "conflict",
    en: {
      message: "Button press `{id}` was already answered at {at}; VK takes one answer per press.",
      remedy: "Nothing to repeat: the client saw the first answer. To tell the client more, send a message.",
    },
    ru: {
      message: "На нажатие кнопки `{id}` уже ответили в {at}; VK принимает один ответ на нажатие.",
      remedy:
        "Повторять не нужно: клиент увидел первый ответ. Чтобы сообщить что-то ещё, отправьте сообщение.",
    },
  },

  // ── Templates ──────────────────────────────────────────────────────────────
  template_not_found: {
    status: 404,
    class: "not_found",
    en: {
      message: "No template `{template}` in this workspace.",
      remedy:
        "Check the template's id or name (names are case-sensitive); `GET /v1/templates` lists the templates this API key can see.",
    },
    ru: {
      message: "В этом рабочем пространстве нет шаблона `{template}`.",
      remedy:
        "Проверьте идентификатор или имя шаблона (имена чувствительны к регистру); `GET /v1/templates` возвращает шаблоны, доступные этому ключу.",
    },
  },
  template_name_taken: {
    status: 409,
    class: "conflict",
    en: {
      message: "A template named `{name}` already exists in this workspace (id `{id}`).",
      remedy: "Choose another name, or change the existing template with `PATCH /v1/templates/{id}`.",
    },
    ru: {
      message: "Шаблон с именем `{name}` уже есть в этом рабочем пространстве (id `{id}`).",
      remedy: "Выберите другое имя или измените существующий шаблон запросом `PATCH /v1/templates/{id}`.",
    },
  },
  template_invalid: {
    status: 400,
    class: "invalid_input",
    en: {
      message: "The template is not valid: {reason} (at `{path}`).",
      remedy:
        "Fix each problem `details` lists, at its path: the template needs `fallback` or a body for a channel kind; each placeholder is written `{{variable}}` with the variable declared in `variables`, and a literal `{{` as `\\{{`.",
    },
    ru: {
      message: "Шаблон некорректен: {reason} (в `{path}`).",
      remedy:
        "Исправьте каждую проблему из `details` по её пути: шаблону нужен `fallback` или текст для какого-либо вида канала; подстановка записывается как `{{переменная}}`, и переменная объявляется в `variables`, а сами символы `{{` — как `\\{{`.",
    },
  },
  template_no_body: {
    status: 422,
    class: "invalid_input",
    en: {
      message: "The template `{template}` has no body for {kind} channels and no fallback body.",
      remedy:
        "Add a `{kind}` body or a `fallback` body to the template, or send through a channel kind it has a body for.",
    },
    ru: {
      message: "У шаблона `{template}` нет текста для каналов {kind} и нет текста по умолчанию (`fallback`).",
      remedy:
        "Добавьте в шаблон текст для `{kind}` или `fallback`, либо отправляйте через канал, для которого в шаблоне есть текст.",
    },
  },
  template_variable_missing: {
    status: 422,
    class: "invalid_input",
    en: {
      message: "The template `{template}` needs the variable `{variable}`, and the data does not give it.",
      remedy:
        "Add `{variable}` to the message's data, or give the variable a default in the template (which makes it optional).",
    },
    ru: {
      message: "Шаблону `{template}` нужна переменная `{variable}`, а в данных её нет.",
      remedy:
        "Добавьте `{variable}` в данные сообщения или задайте переменной значение по умолчанию в шаблоне (тогда она станет необязательной).",
    },
  },
  template_variable_unknown: {
    status: 422,
    class: "invalid_input",
    en: {
      message: "The template `{template}` has no variable `{variable}`.",
      remedy:
        "Check the spelling, remove `{variable}` from the data, or declare it in the template's `variables`: the hub refuses unknown variables rather than drop them unnoticed.",
    },
    ru: {
      message: "В шаблоне `{template}` нет переменной `{variable}`.",
      remedy:
        "Проверьте написание, уберите `{variable}` из данных или объявите её в `variables` шаблона: хаб не отбрасывает неизвестные переменные молча, а отклоняет их.",
    },
  },
  template_variable_invalid: {
    status: 422,
    class: "invalid_input",
    en: {
      message:
        "The variable `{variable}` of the template `{template}` is of type `{type}`; it must be a string, a number or a boolean.",
      remedy: "Give the value as text; format dates, prices and lists before sending them.",
    },
    ru: {
      message:
        "Переменная `{variable}` шаблона `{template}` имеет тип `{type}`, а должна быть строкой, числом или логическим значением.",
      remedy: "Передайте значение текстом; даты, цены и списки отформатируйте до отправки.",
    },
  },

  // ── Idempotency and limits ─────────────────────────────────────────────────
  idempotency_key_reused: {
    status: 409,
    class: "conflict",
    en: {
      message: "The idempotency key `{key}` was already used for something different.",
      remedy:
        "Use a new key for a new request or message. Repeat one with its key only when everything else is the same: for the `Idempotency-Key` header the method, path and body; for a message's `idempotency_key` its recipient, routes, content, `ttl`, priority and callbacks.",
    },
    ru: {
      message: "Ключ идемпотентности `{key}` уже использован для другого.",
      remedy:
        "Для нового запроса или сообщения используйте новый ключ. Повторяйте его с тем же ключом, только если всё остальное совпадает: для заголовка `Idempotency-Key` — метод, путь и тело; для `idempotency_key` сообщения — получатель, маршруты, содержимое, `ttl`, приоритет и колбэки.",
    },
  },
  idempotency_request_in_progress: {
    status: 409,
    class: "retryable",
    en: {
      message: "A request with the Idempotency-Key `{key}` is still being processed.",
      remedy: "Wait a moment and repeat the same request with the same key to get its answer.",
    },
    ru: {
      message: "Запрос с ключом идемпотентности `{key}` ещё обрабатывается.",
      remedy: "Подождите немного и повторите тот же запрос с тем же ключом, чтобы получить ответ.",
    },
  },
  invalid_idempotency_key: {
    status: 400,
    class: "invalid_input",
    en: {
      message: "The Idempotency-Key header must be 1 to 255 visible ASCII characters.",
      remedy: "Use a UUID or another unique string of up to 255 characters.",
    },
    ru: {
      message: "Заголовок Idempotency-Key должен содержать от 1 до 255 видимых символов ASCII.",
      remedy: "Используйте UUID или другую уникальную строку длиной до 255 символов.",
    },
  },
  rate_limited: {
    status: 429,
    class: "rate_limited",
    en: {
      message: "Too many requests with this API key (limit {limit} per second).",
      remedy:
        "Wait for the number of seconds in the `Retry-After` header, then repeat; send batches instead of single calls, or raise `rateLimit` in the hub's configuration.",
    },
    ru: {
      message: "Слишком много запросов с этим API-ключом (лимит {limit} в секунду).",
      remedy:
        "Подождите столько секунд, сколько указано в заголовке `Retry-After`, и повторите; отправляйте пакеты вместо одиночных вызовов или увеличьте `rateLimit` в настройках хаба.",
    },
  },

  // ── Platform webhooks ─────────────────────────────────────────────────────
  webhook_secret_invalid: {
    status: 403,
    class: "auth",
    en: {
      message: "The webhook's secret does not match this channel's.",
      remedy:
        "The request did not come from the platform's server configured for this channel, or that server has an old secret: reconnect the channel so the hub sets the secret again, and remove servers the hub did not create.",
    },
    ru: {
      message: "Секрет вебхука не совпадает с секретом этого канала.",
      remedy:
        "Запрос пришёл не от настроенного для канала сервера платформы или у сервера устаревший секрет: переподключите канал, чтобы хаб заново задал секрет, и удалите серверы, созданные не хабом.",
    },
  },
  webhook_payload_invalid: {
    status: 400,
    class: "invalid_input",
    en: {
      message: "The webhook's body cannot be read: {reason}.",
      remedy:
        "Point only the platform's own webhook (for VK, the Callback API server of this community) at this URL.",
    },
    ru: {
      message: "Тело вебхука не удаётся прочитать: {reason}.",
      remedy:
        "Направляйте на этот адрес только вебхуки самой платформы (для VK — сервер Callback API этого сообщества).",
    },
  },
  webhook_confirmation_unknown: {
    status: 500,
    class: "terminal",
    en: {
      message: "The platform asks to confirm this server, but the channel has no confirmation code.",
      remedy:
        "Reconnect the channel through the hub (`POST /v1/channels`), which fetches the code; do not add the server in the platform's settings by hand.",
    },
    ru: {
      message: "Платформа просит подтвердить сервер, но у канала нет кода подтверждения.",
      remedy:
        "Переподключите канал через хаб (`POST /v1/channels`) — он сам получит код; не добавляйте сервер в настройках платформы вручную.",
    },
  },
  channel_kind_unsupported: {
    status: 404,
    class: "not_found",
    en: {
      message: "The hub cannot receive webhooks for {kind} channels yet.",
      remedy: "Check the URL: webhooks go to /hooks/<kind>/<channel id> as shown on the channel.",
    },
    ru: {
      message: "Хаб пока не принимает вебхуки каналов {kind}.",
      remedy: "Проверьте адрес: вебхуки идут на /hooks/<тип>/<id канала>, как указано в канале.",
    },
  },

  // ── Hub operation ──────────────────────────────────────────────────────────
  internal_error: {
    status: 500,
    class: "retryable",
    en: {
      message: "The hub failed to handle the request.",
      remedy:
        "Repeat the request with the same `Idempotency-Key` (without one, a repeated send may reach the client twice); if it fails again, report the `request_id` to the hub's operator (it is in the hub's log).",
    },
    ru: {
      message: "Хаб не смог обработать запрос.",
      remedy:
        "Повторите запрос с тем же `Idempotency-Key` (без него повторная отправка может дойти до клиента дважды); если ошибка повторится, сообщите `request_id` администратору хаба (он есть в журнале хаба).",
    },
    // A command handles no request and has no request id.
    cli: {
      en: {
        message: "The command failed unexpectedly.",
        remedy:
          "Run it again with SWITCHBOARD_DEBUG=1 set, which also prints where it failed, and report that output with the command to Switchboard's developers.",
      },
      ru: {
        message: "Команда неожиданно завершилась с ошибкой.",
        remedy:
          "Выполните её снова с SWITCHBOARD_DEBUG=1 — тогда она также выведет, где произошла ошибка, — и сообщите этот вывод вместе с командой разработчикам Switchboard.",
      },
    },
  },
  not_ready: {
    status: 503,
    class: "retryable",
    en: {
      message: "The hub is not ready: {reason}",
      remedy: "Run `switchboard doctor` to see which check fails and how to fix it.",
    },
    ru: {
      message: "Хаб не готов: {reason}",
      remedy:
        "Запустите `switchboard doctor`, чтобы увидеть, какая проверка не проходит и как это исправить.",
    },
  },
  hub_starting: {
    status: 503,
    class: "retryable",
    en: {
      message: "The hub is starting: it opens and migrates its store before it serves requests.",
      remedy:
        "Repeat the request after the seconds in `Retry-After`. `GET /readyz` answers 200 once the hub serves; if it never does, the hub's standard error and log say why it stopped.",
    },
    ru: {
      message:
        "Хаб запускается: прежде чем обслуживать запросы, он открывает хранилище и применяет миграции.",
      remedy:
        "Повторите запрос через число секунд из `Retry-After`. `GET /readyz` отвечает 200, когда хаб начинает обслуживать запросы; если этого не происходит, причину остановки хаб пишет в стандартный поток ошибок и в журнал.",
    },
  },
  config_invalid: {
    status: 500,
    class: "invalid_input",
    en: {
      message: "Setting `{setting}` (from {source}) has the value {value}: expected {expected}.",
      remedy: "Correct the setting and start again; `switchboard start --help` lists every setting.",
    },
    ru: {
      message: "Настройка `{setting}` ({source}) имеет значение {value}, а ожидается {expected}.",
      remedy:
        "Исправьте настройку и запустите снова; все настройки перечислены в `switchboard start --help`.",
    },
  },
  config_file_unreadable: {
    status: 500,
    class: "invalid_input",
    en: {
      message: "The config file {path} cannot be used: {reason}",
      remedy:
        "Point `--config` (SWITCHBOARD_CONFIG) at a readable file holding one JSON object whose keys are settings as the README's settings table names them in its first column (`port`, `dataDir`, …), or leave it out.",
    },
    ru: {
      message: "Файл настроек {path} нельзя использовать: {reason}",
      remedy:
        "Укажите в `--config` (SWITCHBOARD_CONFIG) доступный для чтения файл с одним JSON-объектом, ключи которого — настройки, как их называет первый столбец таблицы настроек в README (`port`, `dataDir`, …), или не указывайте его.",
    },
  },
  secret_key_missing: {
    status: 500,
    class: "invalid_input",
    en: {
      message:
        "No encryption key is configured, and server mode (DATABASE_URL) needs one to keep channel tokens secret.",
      remedy:
        "Set SWITCHBOARD_SECRET_KEY to 32 random bytes in base64 (make one with `openssl rand -base64 32`), the same on every hub process, and keep it safe: tokens stored with it cannot be read without it.",
    },
    ru: {
      message:
        "Не задан ключ шифрования, а серверному режиму (DATABASE_URL) он нужен для хранения токенов каналов.",
      remedy:
        "Задайте SWITCHBOARD_SECRET_KEY — 32 случайных байта в base64 (например, `openssl rand -base64 32`), одинаковый для всех процессов хаба, и храните его надёжно: без него сохранённые токены не прочитать.",
    },
  },
  secret_key_mismatch: {
    status: 500,
    class: "terminal",
    en: {
      message: "A stored secret cannot be decrypted with the configured encryption key.",
      remedy:
        "Start the hub with the SWITCHBOARD_SECRET_KEY it used when the secret was saved, or reconnect the channel to store its token again.",
    },
    ru: {
      message: "Сохранённый секрет не расшифровывается настроенным ключом шифрования.",
      remedy:
        "Запустите хаб с тем SWITCHBOARD_SECRET_KEY, с которым секрет был сохранён, или подключите канал заново, чтобы сохранить токен ещё раз.",
    },
  },
  store_secret_key_mismatch: {
    status: 500,
    class: "invalid_input",
    en: {
      message:
        "{key} cannot decrypt secrets stored in {location} ({unreadable}): they were sealed with another key. {outcome}",
      remedy:
        "Start the hub with the key that sealed them: {needed} `switchboard doctor` tries a key without starting the hub. Keep that key with the backups of the store. If it is lost for good, `switchboard secrets forget` drops the secrets it sealed: the channels then need their tokens again, and webhook receivers new signing secrets.",
    },
    ru: {
      message:
        "{key} не расшифровывает секреты, сохранённые в {location} ({unreadable}): они зашифрованы другим ключом. {outcome}",
      remedy:
        "Запустите хаб с ключом, которым они зашифрованы: {needed} `switchboard doctor` проверяет ключ, не запуская хаб. Храните этот ключ вместе с резервными копиями хранилища. Если он потерян безвозвратно, `switchboard secrets forget` удалит зашифрованные им секреты: каналам тогда снова понадобятся токены, а приёмникам вебхуков — новые секреты подписи.",
    },
  },
  secret_key_file_unreadable: {
    status: 500,
    class: "terminal",
    en: {
      message: "The hub's key file {path} cannot be read: {reason}.",
      remedy:
        "Give the hub's user read access to it (the hub makes it readable by its owner only), or restore it from the backup of the data directory. Do not replace it with a new key: the stored tokens and secrets open only with the key that sealed them.",
    },
    ru: {
      message: "Файл ключа хаба {path} не читается: {reason}.",
      remedy:
        "Дайте пользователю хаба право на чтение (хаб создаёт файл доступным только владельцу) или восстановите файл из резервной копии каталога данных. Не заменяйте его новым ключом: сохранённые токены и секреты открываются только тем ключом, которым они зашифрованы.",
    },
  },
  secrets_unopenable: {
    status: 409,
    class: "conflict",
    en: {
      message:
        "Some stored secrets open with neither SWITCHBOARD_PREVIOUS_SECRET_KEY nor SWITCHBOARD_SECRET_KEY ({unreadable}). Nothing was resealed.",
      remedy:
        "Set SWITCHBOARD_PREVIOUS_SECRET_KEY to the key that sealed them. If that key is lost for good, run `switchboard secrets forget` with SWITCHBOARD_SECRET_KEY set to the previous key first: it lists them, and with --yes forgets them.",
    },
    ru: {
      message:
        "Часть сохранённых секретов не открывается ни SWITCHBOARD_PREVIOUS_SECRET_KEY, ни SWITCHBOARD_SECRET_KEY ({unreadable}). Ничего не перешифровано.",
      remedy:
        "Задайте в SWITCHBOARD_PREVIOUS_SECRET_KEY ключ, которым они зашифрованы. Если он потерян безвозвратно, сначала выполните `switchboard secrets forget` с SWITCHBOARD_SECRET_KEY, равным прежнему ключу: команда перечислит их, а с --yes удалит.",
    },
  },
  previous_secret_key_missing: {
    status: 500,
    class: "invalid_input",
    en: {
      message:
        "`switchboard secrets rekey` needs the key the secrets are sealed with now, and SWITCHBOARD_PREVIOUS_SECRET_KEY is not set.",
      remedy:
        "Set SWITCHBOARD_PREVIOUS_SECRET_KEY to that key (in embedded mode without SWITCHBOARD_SECRET_KEY, the content of the data directory's secret.key) and SWITCHBOARD_SECRET_KEY to the new one (openssl rand -base64 32), then run it again.",
    },
    ru: {
      message:
        "`switchboard secrets rekey` нужен ключ, которым секреты зашифрованы сейчас, а SWITCHBOARD_PREVIOUS_SECRET_KEY не задан.",
      remedy:
        "Задайте в SWITCHBOARD_PREVIOUS_SECRET_KEY этот ключ (во встроенном режиме без SWITCHBOARD_SECRET_KEY — содержимое файла secret.key в каталоге данных), а в SWITCHBOARD_SECRET_KEY — новый (openssl rand -base64 32), и выполните команду снова.",
    },
  },
  hubs_running: {
    status: 409,
    class: "conflict",
    en: {
      message: "{count} connections of running hub processes are open to {location}.",
      remedy:
        "Stop every hub process on this database, then run the command again (PostgreSQL may count a hub that has just stopped for a moment longer). A running hub still holds the key it started with: if that is the key you lost, read SWITCHBOARD_SECRET_KEY from its environment (its service definition, or /proc/<pid>/environ) before stopping it.",
    },
    ru: {
      message: "К {location} открыто соединений работающих процессов хаба: {count}.",
      remedy:
        "Остановите все процессы хаба на этой базе и выполните команду снова (только что остановленный хаб PostgreSQL может учитывать ещё мгновение). Работающий хаб помнит ключ, с которым запущен: если это и есть потерянный ключ, прочитайте SWITCHBOARD_SECRET_KEY из его окружения (описание службы или /proc/<pid>/environ), прежде чем останавливать его.",
    },
  },
  port_in_use: {
    status: 500,
    class: "terminal",
    en: {
      message: "Port {port} on {host} is already in use.",
      remedy:
        "Stop the program that holds it, or start the hub on another port with `--port` (SWITCHBOARD_PORT).",
    },
    ru: {
      message: "Порт {port} на {host} уже занят.",
      remedy:
        "Остановите программу, которая его занимает, или запустите хаб на другом порту: `--port` (SWITCHBOARD_PORT).",
    },
  },
  listen_failed: {
    status: 500,
    class: "terminal",
    en: {
      message: "The hub cannot listen on {host} port {port}: {reason}.",
      remedy:
        "Give `--host` (SWITCHBOARD_HOST) an address of this machine: 127.0.0.1 to be reached from this machine only, 0.0.0.0 from every network, or the address of one of its interfaces (`ip addr` lists them). A port below 1024 needs the right to bind it (root, or CAP_NET_BIND_SERVICE); otherwise choose a higher one with `--port` (SWITCHBOARD_PORT).",
    },
    ru: {
      message: "Хаб не может слушать адрес {host}, порт {port}: {reason}.",
      remedy:
        "Укажите в `--host` (SWITCHBOARD_HOST) адрес этой машины: 127.0.0.1 — доступ только с неё самой, 0.0.0.0 — из любой сети, или адрес одного из её интерфейсов (их показывает `ip addr`). Для порта ниже 1024 нужно право занимать его (root или CAP_NET_BIND_SERVICE); иначе выберите порт выше: `--port` (SWITCHBOARD_PORT).",
    },
  },
  emulator_port_in_use: {
    status: 500,
    class: "terminal",
    en: {
      message: "The VK emulator's port {port} on {host} is already in use.",
      remedy:
        "Stop the program that holds it (an earlier sandbox, perhaps), or give the emulator another port with `--emulator-port`.",
    },
    ru: {
      message: "Порт эмулятора VK {port} на {host} уже занят.",
      remedy:
        "Остановите программу, которая его занимает (например, запущенную раньше песочницу), или укажите эмулятору другой порт: `--emulator-port`.",
    },
  },
  database_unreachable: {
    status: 503,
    class: "retryable",
    en: {
      message: "The database at {target} cannot be reached: {reason}",
      remedy:
        "Check that PostgreSQL is running and that DATABASE_URL has the right host, port, user, password and database name.",
    },
    ru: {
      message: "База данных {target} недоступна: {reason}",
      remedy:
        "Проверьте, что PostgreSQL запущен и что в DATABASE_URL верны хост, порт, пользователь, пароль и имя базы.",
    },
  },
  data_dir_unwritable: {
    status: 500,
    class: "terminal",
    en: {
      message: "The data directory {path} cannot be written: {reason}",
      remedy:
        "Give the hub's user write access to it, or choose another one with `--data-dir` (SWITCHBOARD_DATA_DIR).",
    },
    ru: {
      message: "В каталог данных {path} нельзя записать: {reason}",
      remedy:
        "Дайте пользователю хаба права на запись или выберите другой каталог: `--data-dir` (SWITCHBOARD_DATA_DIR).",
    },
  },
  data_dir_locked: {
    status: 500,
    class: "conflict",
    en: {
      message:
        "The data directory {path} is held by {holder} (pid {pid}), and the embedded store allows one process at a time.",
      remedy:
        "Run this again once {holder} has ended (a hub ends only when stopped: stop it first, or use its API while it runs). To run several processes on one store, move to PostgreSQL (DATABASE_URL).",
    },
    ru: {
      message:
        "Каталог данных {path} занят: его использует {holder} (pid {pid}), а встроенное хранилище допускает только один процесс.",
      remedy:
        "Повторите команду, когда {holder} завершит работу (хаб завершает её, только когда его останавливают: остановите его или, пока он работает, пользуйтесь его API). Чтобы с одним хранилищем работали несколько процессов, перейдите на PostgreSQL (DATABASE_URL).",
    },
  },
  store_not_found: {
    status: 404,
    class: "not_found",
    en: {
      message: "There is no Switchboard store in {location}.",
      remedy:
        "Point the command at the hub's store: its data directory with `--data-dir` (SWITCHBOARD_DATA_DIR), or its database with `--database-url` (DATABASE_URL). This command never creates a store; to make a new one in {location}, run `switchboard migrate` there, or start the hub on it.",
    },
    ru: {
      message: "В {location} нет хранилища Switchboard.",
      remedy:
        "Укажите команде хранилище хаба: его каталог данных в `--data-dir` (SWITCHBOARD_DATA_DIR) или его базу данных в `--database-url` (DATABASE_URL). Эта команда не создаёт хранилище; чтобы создать новое в {location}, выполните там `switchboard migrate` или запустите на нём хаб.",
    },
  },
  running_hub_unreachable: {
    status: 500,
    class: "conflict",
    en: {
      message:
        "The data directory {path} is held by {holder} (pid {pid}), which did not answer doctor: {reason}.",
      remedy:
        "If the hub is still starting (migrating, say), run doctor again once it serves. If it is stuck, stop it and run doctor again to check its store directly. An earlier version's hub has no control socket, nor have its commands: run doctor again once that process has ended or is stopped. Run doctor as the user the hub runs as: the control socket is that user's alone.",
    },
    ru: {
      message:
        "Каталог данных {path} занят: его использует {holder} (pid {pid}), но на вопрос doctor ответа нет: {reason}.",
      remedy:
        "Если хаб ещё запускается (например, применяет миграции), запустите doctor снова, когда он начнёт работать. Если хаб завис, остановите его и запустите doctor снова: тогда он проверит хранилище напрямую. У хаба более ранней версии управляющего сокета нет, как и у её команд: запустите doctor снова, когда тот процесс завершится или будет остановлен. Запускайте doctor от имени пользователя, от которого работает хаб: управляющий сокет доступен только ему.",
    },
  },
  store_newer_than_version: {
    status: 503,
    class: "terminal",
    en: {
      message:
        "A newer version of Switchboard migrated this store: it has {newer} migrations this version does not know (this version knows {known}), {breaking} of them not additive. This version would misread it, so it does not use it.",
      remedy:
        "Run the newer version here too: after a migration that is not additive, every hub process and command on one store must be that version, or newer. Going back to an older version needs the backup taken before the upgrade (see docs/operations.md, Upgrading).",
    },
    ru: {
      message:
        "Это хранилище обновила более новая версия Switchboard: в нём {newer} миграций, которых эта версия не знает (эта версия знает {known}), из них {breaking} не только добавляют новое. Эта версия прочитала бы его неверно, поэтому не работает с ним.",
      remedy:
        "Запускайте и здесь более новую версию: после миграции, которая не только добавляет новое, все процессы хаба и команды на одном хранилище должны быть этой версии или новее. Вернуться к старой версии можно только с резервной копией, сделанной перед обновлением (см. docs/operations.md, раздел Upgrading).",
    },
  },
  migrations_pending: {
    status: 503,
    class: "retryable",
    en: {
      message:
        "The database schema is behind this version of the hub ({applied} of {known} migrations applied; {pendingBreaking} of those pending are not additive).",
      remedy:
        "Run `switchboard migrate` (the hub also migrates when it starts). When every pending migration is additive, hubs of the older version may go on running beside it; otherwise stop them first (docs/operations.md, Upgrading).",
    },
    ru: {
      message:
        "Схема базы данных отстаёт от этой версии хаба (применено {applied} из {known} миграций; из ожидающих {pendingBreaking} не только добавляют новое).",
      remedy:
        "Выполните `switchboard migrate` (хаб также выполняет миграции при запуске). Если все ожидающие миграции только добавляют новое, хабы старой версии могут работать и дальше; иначе сначала остановите их (docs/operations.md, раздел Upgrading).",
    },
  },
  stopped_by_signal: {
    status: 503,
    class: "retryable",
    en: {
      message:
        "Stopped by {signal} before the command finished: the step under way was completed, nothing after it was done, and the store is closed.",
      remedy:
        "Run the command again to finish it: one that changes the store goes on from what the store holds now; one that only reads it (doctor) starts over.",
    },
    ru: {
      message:
        "Остановлено сигналом {signal} до завершения команды: начатый шаг доведён до конца, следующие не выполнялись, хранилище закрыто.",
      remedy:
        "Выполните команду снова, чтобы завершить её: команда, которая меняет хранилище, продолжит с того, что в нём уже есть; команда, которая только читает его (doctor), начнёт сначала.",
    },
  },
  disk_space_low: {
    status: 503,
    class: "retryable",
    en: {
      message: "Only {free} are free on the disk of {path}.",
      remedy:
        "Free some space or move the data directory to a larger disk; the hub stops accepting messages when the disk is full.",
    },
    ru: {
      message: "На диске с {path} свободно только {free}.",
      remedy:
        "Освободите место или перенесите каталог данных на диск побольше: при заполненном диске хаб перестанет принимать сообщения.",
    },
  },
} satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof entries | keyof typeof sendingEntries | keyof typeof vkEntries;
export const catalogue: Record<ErrorCode, CatalogueEntry> = { ...entries, ...sendingEntries, ...vkEntries };

function notFound(what: string, whatRu: string, remedy: Record<Language, string>): CatalogueEntry {
  return {
    status: 404,
    class: "not_found",
    en: { message: `No ${what} with id \`{id}\` in this workspace.`, remedy: remedy.en },
    ru: {
      message: `В этом рабочем пространстве нет объекта «${whatRu}» с идентификатором \`{id}\`.`,
      remedy: remedy.ru,
    },
  };
}

/** The remedy of a missing object that a list route shows. */
function listedBy(listRoute: string): Record<Language, string> {
  return {
    en: `Check the id; \`${listRoute}\` lists the ones this API key can see.`,
    ru: `Проверьте идентификатор; \`${listRoute}\` возвращает доступные этому ключу объекты.`,
  };
}

export const languages = ["en", "ru"] as const;
export type Language = (typeof languages)[number];

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(catalogue, code);
}
