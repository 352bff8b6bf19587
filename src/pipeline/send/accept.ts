/**
 * Accepting a batch of the send API (`POST /v1/messages`): each request is checked on its own
 * (recipient, routes, content, template, idempotency key) and either queued or rejected with
 * catalogued reasons; a rejected request never holds back the others. Everything accepted is
 * committed before the answer, in one statement per few hundred messages, and the dispatchers
 * are woken.
 *
 * Routes are resolved here, once: the channel accounts named (or every account of a kind named,
 * oldest first; or, when none are named, the workspace's `route_order` of kinds), kept when they
 * can carry this message to this recipient — enabled, able to send, the contact has an identity
 * on that platform and has not refused the account, the content fits. A message of the send API
 * is one platform message: it is not split, so a text too long for a route rules the route out.
 */
import { createHash } from "node:crypto";
import { v7 as uuidv7 } from "uuid";
import type { OutboundAdapter, OutboundAttachmentKind } from "../../channels/adapter.ts";
import type { Keyboard } from "../../channels/keyboard.ts";
import { toE164 } from "../../core/phone.ts";
import { AppError } from "../../errors/app-error.ts";
import type { Store } from "../../store/database.ts";
import {
  type ChannelAccount,
  type ChannelKind,
  channelsOfWorkspace,
} from "../../store/repositories/channel-accounts.ts";
import { contactsForIdentities, type IdentifiedUser } from "../../store/repositories/contacts.ts";
import type { NewMessage } from "../../store/repositories/messages.ts";
import {
  enqueueMessages,
  messagesByIdempotencyKey,
  outboundChannel,
} from "../../store/repositories/outbound-queue.ts";
import {
  contactsByPhone,
  existingContacts,
  type RecipientReach,
  recipientReach,
} from "../../store/repositories/recipients.ts";
import { findTemplatesByName, type Template } from "../../store/repositories/templates.ts";
import { getWorkspace } from "../../store/repositories/workspaces.ts";
import { channelKinds, type MessageBody, messagePriorities } from "../../store/schema.ts";
import { contactEvent, recordEvents } from "../webhooks/events.ts";
import { renderForKinds } from "./templates.ts";

/** The most messages one request may carry (Devino's limit too). */
export const maxMessagesPerRequest = 1000;

export type Recipient =
  | { contactId: string }
  | { phone: string }
  /** A platform user through one of the workspace's channel accounts (VK: the user id). */
  | { channelId: string; userId: string };

export type Priority = (typeof messagePriorities)[number];

export interface MessageRequest {
  recipient: Recipient;
  /** Channel account ids or channel kinds, in the order to try them. */
  routes?: readonly string[] | undefined;
  text?: string | undefined;
  attachments?:
    | readonly { kind: OutboundAttachmentKind; url: string; name?: string | undefined }[]
    | undefined;
  keyboard?: Keyboard | undefined;
  template?: { name: string; data: Record<string, unknown> } | undefined;
  ttlSeconds?: number | undefined;
  statusUrl?: string | undefined;
  callbackData?: unknown;
  priority?: Priority | undefined;
  idempotencyKey?: string | undefined;
}

export type Acceptance = { ok: true; messageId: string } | { ok: false; reasons: AppError[] };

export interface AcceptDeps {
  store: Store;
  adapter: (kind: ChannelKind) => OutboundAdapter | undefined;
  defaultCountry: string;
  defaultTtlSeconds: number;
  now?: () => number;
}

/** A request that passed its checks, with what its row needs. */
interface Planned {
  index: number;
  row: NewMessage;
  /**
   * The request's hash with its defaults as given (`givenRequestHash`), for keys stored before;
   * made only when a key's stored hash differs from the row's.
   */
  givenHash: () => string;
}

export async function acceptMessages(
  deps: AcceptDeps,
  workspaceId: string,
  author: { kind: "api"; ref: string | null },
  requests: readonly MessageRequest[],
): Promise<Acceptance[]> {
  const db = deps.store.db;
  const now = new Date(deps.now?.() ?? Date.now());
  const workspace = await getWorkspace(db, workspaceId);
  if (!workspace) throw new AppError("workspace_not_found", { id: workspaceId });
  const channels = await channelsOfWorkspace(db, workspaceId);
  const recipients = await resolveRecipients(deps, workspaceId, channels, requests);
  const reach = await recipientReach(
    db,
    recipients.flatMap((r) => (r.ok ? [r.contactId] : [])),
  );
  const templates = await findTemplatesByName(
    db,
    workspaceId,
    requests.flatMap((r) => (r.template ? [r.template.name] : [])),
  );

  const results: Acceptance[] = new Array(requests.length);
  const planned: Planned[] = [];
  for (const [index, request] of requests.entries()) {
    const recipient = recipients[index] as RecipientResult;
    try {
      if (!request.template && !request.text?.trim() && (request.attachments?.length ?? 0) === 0)
        throw new AppError("empty_message");
      if (!recipient.ok) throw recipient.error;
      const chosen = chooseRoutes(deps, channels, workspace.routeOrder, request, recipient.contactId, reach);
      const rendered = request.template
        ? render(templates, request.template, request.keyboard, [...new Set(chosen.map((r) => r.kind))])
        : undefined;
      const own: Body = { text: textOrNull(request.text), keyboard: request.keyboard ?? null };
      // A template without a body for a route's kind rules that route out.
      const routes = chosen.flatMap((channel) => {
        const body = rendered ? rendered[channel.kind] : own;
        return body ? [{ channel, body }] : [];
      });
      const usable = routes.filter((route) => fits(deps, route, request));
      if (usable.length === 0) throw contentMisfit(deps, routes, request);
      planned.push({
        index,
        row: rowFor(deps, { workspaceId, author, request, contactId: recipient.contactId, now }, usable),
        givenHash: () => givenRequestHash(request, deps.defaultCountry),
      });
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      results[index] = { ok: false, reasons: [error] };
    }
  }

  await store(deps, workspaceId, planned, results);
  return results;
}

/** What the message sends through a route: its text (null when blank) and keyboard. */
type Body = MessageBody<Keyboard>;

/** A channel that may carry the message, with what the message would send through it. */
interface Route {
  channel: ChannelAccount;
  body: Body;
}

/** What the message sends through each channel kind, when a template renders it. */
type Rendered = Partial<Record<ChannelKind, Body>>;

/**
 * The body of the message for each of `kinds` its template has a body for: that body's text, and
 * its keyboard unless the request brings its own (`ownKeyboard`) for every kind. Throws the
 * template's catalogued errors.
 */
function render(
  templates: ReadonlyMap<string, Template>,
  request: { name: string; data: Record<string, unknown> },
  ownKeyboard: Keyboard | undefined,
  kinds: readonly ChannelKind[],
): Rendered {
  const template = templates.get(request.name);
  if (!template) throw new AppError("template_not_found", { template: request.name });
  const rendered: Rendered = {};
  for (const [kind, body] of Object.entries(renderForKinds(template, request.data, kinds))) {
    rendered[kind as ChannelKind] = {
      text: textOrNull(body.text),
      keyboard: ownKeyboard ?? (body.keyboard as Keyboard | null),
    };
  }
  return rendered;
}

const textOrNull = (text: string | undefined) => (text?.trim() ? text : null);

// ── Recipients ───────────────────────────────────────────────────────────────

type RecipientResult = { ok: true; contactId: string } | { ok: false; error: AppError };

async function resolveRecipients(
  deps: AcceptDeps,
  workspaceId: string,
  channels: readonly ChannelAccount[],
  requests: readonly MessageRequest[],
): Promise<RecipientResult[]> {
  const db = deps.store.db;
  const phones = requests.map((request) => {
    if (!("phone" in request.recipient)) return undefined;
    try {
      return toE164(request.recipient.phone, deps.defaultCountry, "recipient.phone");
    } catch (error) {
      return error as AppError;
    }
  });
  const known = await existingContacts(
    db,
    workspaceId,
    requests.flatMap((r) => ("contactId" in r.recipient ? [r.recipient.contactId] : [])),
  );
  const byPhone = await contactsByPhone(
    db,
    workspaceId,
    phones.filter((p): p is string => typeof p === "string"),
  );
  // Platform users the hub has not met yet become contacts, as intake would make them, and are
  // announced like them; an id the platform could not have given is refused before that.
  const usersByKind = new Map<ChannelKind, string[]>();
  const userIdErrors = requests.map(({ recipient }) => {
    const channel = "channelId" in recipient ? channels.find((c) => c.id === recipient.channelId) : undefined;
    if (!channel || !("userId" in recipient)) return undefined;
    try {
      deps.adapter(channel.kind)?.checkUserId(recipient.userId);
    } catch (error) {
      if (error instanceof AppError) return error;
      throw error;
    }
    const ids = usersByKind.get(channel.kind) ?? [];
    ids.push(recipient.userId);
    usersByKind.set(channel.kind, ids);
    return undefined;
  });
  const users = new Map<ChannelKind, Map<string, IdentifiedUser>>();
  for (const [kind, ids] of usersByKind) {
    const found = await db.transaction(async (tx) => {
      const { users, created } = await contactsForIdentities(tx, workspaceId, kind, ids);
      await recordEvents(
        tx,
        created.map((contact) => contactEvent("contact.created", contact)),
      );
      return users;
    });
    users.set(kind, found);
  }
  const results: RecipientResult[] = [];
  for (const [index, request] of requests.entries()) {
    const recipient = request.recipient;
    if ("contactId" in recipient) {
      results.push(
        known.has(recipient.contactId)
          ? { ok: true, contactId: recipient.contactId }
          : { ok: false, error: new AppError("contact_not_found", { id: recipient.contactId }) },
      );
    } else if ("phone" in recipient) {
      const phone = phones[index];
      if (phone instanceof AppError) results.push({ ok: false, error: phone });
      else {
        const contactId = byPhone.get(phone as string);
        results.push(
          contactId
            ? { ok: true, contactId }
            : { ok: false, error: noRoute(`no contact has the phone number ${phone}`) },
        );
      }
    } else {
      const channel = channels.find((c) => c.id === recipient.channelId);
      if (!channel) {
        results.push({ ok: false, error: new AppError("channel_not_found", { id: recipient.channelId }) });
        continue;
      }
      const invalid = userIdErrors[index];
      if (invalid) {
        results.push({ ok: false, error: invalid });
        continue;
      }
      const contactId = users.get(channel.kind)?.get(recipient.userId)?.contactId as string;
      results.push({ ok: true, contactId });
    }
  }
  return results;
}

// ── Routes ───────────────────────────────────────────────────────────────────

/**
 * The channel accounts that may carry the request to the contact, in order, before its content
 * is checked; throws when none can reach the contact at all. Without `routes`: the channel a
 * platform user was named through, then the channels the contact has conversations on, in the
 * workspace's `route_order` of kinds (the latest conversation first within a kind); a contact
 * named by id or phone with no conversation yet: every channel of a kind the contact has an
 * identity on.
 */
function chooseRoutes(
  deps: AcceptDeps,
  channels: readonly ChannelAccount[],
  routeOrder: readonly string[],
  request: MessageRequest,
  contactId: string,
  reach: RecipientReach,
): ChannelAccount[] {
  const kinds = reach.kinds.get(contactId) ?? new Set<string>();
  const refused = reach.refused.get(contactId) ?? new Set<string>();
  const candidates = request.routes
    ? namedRoutes(channels, request.routes)
    : defaultRoutes(channels, routeOrder, request.recipient, reach.known.get(contactId) ?? [], kinds);
  const reachable = candidates.filter(
    (c) => c.state !== "disabled" && deps.adapter(c.kind) !== undefined && kinds.has(c.kind),
  );
  const allowed = reachable.filter((c) => !refused.has(c.id));
  if (allowed.length > 0) return allowed;
  if (reachable.length > 0) throw new AppError("contact_refused_messages");
  if (candidates.length === 0)
    throw noRoute(
      request.routes ? "no channel of the kinds named" : "the contact has no channel to be reached on",
    );
  throw noRoute(
    `the contact has no identity on ${[...new Set(candidates.map((c) => c.kind))].join(", ")} channels that can send`,
  );
}

/** The channels `routes` names: by id, or every channel of a kind, oldest first. */
function namedRoutes(channels: readonly ChannelAccount[], routes: readonly string[]): ChannelAccount[] {
  const named: ChannelAccount[] = [];
  for (const route of routes) {
    if ((channelKinds as readonly string[]).includes(route)) {
      named.push(...channels.filter((c) => c.kind === route));
      continue;
    }
    const channel = channels.find((c) => c.id === route);
    if (!channel) throw new AppError("channel_not_found", { id: route });
    named.push(channel);
  }
  return [...new Set(named)];
}

function defaultRoutes(
  channels: readonly ChannelAccount[],
  routeOrder: readonly string[],
  recipient: Recipient,
  known: readonly string[],
  kinds: ReadonlySet<string>,
): ChannelAccount[] {
  const rank = (c: ChannelAccount) => {
    const at = routeOrder.indexOf(c.kind);
    return at < 0 ? routeOrder.length : at;
  };
  const byId = (id: string) => channels.find((c) => c.id === id);
  const first = "channelId" in recipient ? byId(recipient.channelId) : undefined;
  const knownChannels = known.flatMap((id) => byId(id) ?? []);
  const others =
    knownChannels.length > 0 || first ? knownChannels : channels.filter((c) => kinds.has(c.kind));
  const ordered = [...others].sort((a, b) => rank(a) - rank(b));
  return [...new Set([...(first ? [first] : []), ...ordered])];
}

/** Whether the content goes through the route's channel as one platform message. */
function fits(deps: AcceptDeps, route: Route, request: MessageRequest) {
  try {
    checkContent(deps, route, request);
    return true;
  } catch (error) {
    if (error instanceof AppError) return false;
    throw error;
  }
}

function checkContent(deps: AcceptDeps, { channel, body }: Route, request: MessageRequest) {
  const adapter = deps.adapter(channel.kind) as OutboundAdapter;
  const capabilities = adapter.capabilities(channel);
  const attachments = request.attachments ?? [];
  const { text, keyboard } = body;
  if (text === null && attachments.length === 0) throw new AppError("empty_message");
  if (text !== null) adapter.splitText(channel, text, false);
  for (const attachment of attachments)
    if (!capabilities.attachmentKinds.includes(attachment.kind))
      throw invalid("attachments", `${channel.kind} channels cannot send ${attachment.kind} attachments`);
  if (attachments.length > capabilities.maxAttachments)
    throw invalid("attachments", `${channel.kind} channels take at most ${capabilities.maxAttachments}`);
  if (keyboard) {
    const { keyboards } = capabilities;
    if (keyboard.inline ? !keyboards.inline : !keyboards.standard)
      throw invalid("keyboard.inline", `${channel.kind} channels cannot show such a keyboard`);
    adapter.checkKeyboard(channel, keyboard);
  }
}

/**
 * Why no route takes the content: "too long for every route", or the first route's error that is
 * not its text's length (the send API never splits, so a platform's "too long, and it may not be
 * split" would point at a `split` it does not have).
 */
function contentMisfit(deps: AcceptDeps, routes: readonly Route[], request: MessageRequest): AppError {
  const lengths = routes.map((route) => overLength(deps, route));
  if (lengths.every((l) => l !== undefined))
    return new AppError("text_too_long_for_routes", {
      length: Math.min(...lengths.map((l) => l.length)),
      limit: Math.max(...lengths.map((l) => l.limit)),
    });
  for (const [index, route] of routes.entries()) {
    if (lengths[index]) continue;
    try {
      checkContent(deps, route, request);
    } catch (error) {
      if (error instanceof AppError) return error;
      throw error;
    }
  }
  return noRoute("no route takes this content");
}

/**
 * The length of the text as the route's platform counts it (VK: UTF-16 units, `& < > "` as HTML
 * entities) and the route's limit, when the text is longer than one of its messages takes.
 */
function overLength(
  deps: AcceptDeps,
  { channel, body }: Route,
): { length: number; limit: number } | undefined {
  const adapter = deps.adapter(channel.kind) as OutboundAdapter;
  try {
    adapter.splitText(channel, body.text ?? "", false);
    return undefined;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    const { length } = error.params;
    return {
      length: typeof length === "number" ? length : [...(body.text ?? "")].length,
      limit: adapter.capabilities(channel).textLimit,
    };
  }
}

// ── Rows ─────────────────────────────────────────────────────────────────────

function rowFor(
  deps: AcceptDeps,
  input: {
    workspaceId: string;
    author: { kind: "api"; ref: string | null };
    request: MessageRequest;
    contactId: string;
    now: Date;
  },
  routes: readonly Route[],
): NewMessage {
  const { request, now } = input;
  const first = routes[0] as Route;
  const stored = ({ body }: Route): MessageBody => ({
    text: body.text,
    keyboard: body.keyboard as unknown as Record<string, unknown> | null,
  });
  // The row holds the first route's body; a move to another route takes that route's kind's.
  const { text, keyboard } = stored(first);
  const bodyByKind = request.template
    ? Object.fromEntries(routes.map((route) => [route.channel.kind, stored(route)]))
    : null;
  const priority = request.priority ?? "notification";
  const ttlSeconds = request.ttlSeconds ?? deps.defaultTtlSeconds;
  return {
    id: uuidv7(),
    workspaceId: input.workspaceId,
    conversationId: null,
    channelAccountId: first.channel.id,
    contactId: input.contactId,
    direction: "outbound",
    authorKind: input.author.kind,
    authorRef: input.author.ref,
    text,
    attachments: (request.attachments ?? []).map((a) => ({
      kind: a.kind,
      url: a.url,
      ...(a.name ? { name: a.name } : {}),
    })),
    keyboard,
    status: "queued",
    routes: routes.map((route) => route.channel.id),
    routeIndex: 0,
    priority,
    queueRank: messagePriorities.indexOf(priority),
    notBefore: now,
    expiresAt: new Date(now.getTime() + ttlSeconds * 1000),
    idempotencyKey: request.idempotencyKey ?? null,
    requestHash: request.idempotencyKey ? requestHash(request, deps.defaultCountry) : null,
    callbackUrl: request.statusUrl ?? null,
    callbackData: request.callbackData ?? null,
    template: request.template?.name ?? null,
    bodyByKind,
    sentAt: now,
  };
}

/**
 * Stores the planned rows and fills in their results. A request whose idempotency key is already
 * taken (by an earlier request, or earlier in this batch) is the same message when it asks for
 * the same thing, and a rejected reuse of the key otherwise.
 */
async function store(deps: AcceptDeps, workspaceId: string, planned: Planned[], results: Acceptance[]) {
  const db = deps.store.db;
  const keys = planned.flatMap((p) => (p.row.idempotencyKey ? [p.row.idempotencyKey] : []));
  const earlier = await messagesByIdempotencyKey(db, workspaceId, keys);
  const fresh: Planned[] = [];
  const seen = new Map<string, Planned>();
  for (const item of planned) {
    const key = item.row.idempotencyKey;
    const previous = key ? (earlier.get(key) ?? seen.get(key)?.row) : undefined;
    if (key && previous) {
      results[item.index] = sameRequest(previous, item, key);
      continue;
    }
    if (key) seen.set(key, item);
    fresh.push(item);
  }
  const stored = new Set<string>();
  for (let start = 0; start < fresh.length; start += 500) {
    const chunk = fresh.slice(start, start + 500);
    for (const id of await enqueueMessages(
      db,
      chunk.map((p) => p.row),
    ))
      stored.add(id);
  }
  const raced = fresh.filter((p) => !stored.has(p.row.id as string));
  const winners = await messagesByIdempotencyKey(
    db,
    workspaceId,
    raced.map((p) => p.row.idempotencyKey as string),
  );
  for (const item of fresh) {
    const key = item.row.idempotencyKey;
    const winner = key && !stored.has(item.row.id as string) ? winners.get(key) : undefined;
    results[item.index] = winner
      ? sameRequest(winner, item, key as string)
      : { ok: true, messageId: item.row.id as string };
  }
  if (stored.size > 0) await deps.store.notify(outboundChannel);
}

function sameRequest(
  previous: { id?: string | undefined; requestHash?: string | null | undefined },
  item: Planned,
  key: string,
): Acceptance {
  const same = previous.requestHash === item.row.requestHash || previous.requestHash === item.givenHash();
  return same
    ? { ok: true, messageId: previous.id as string }
    : { ok: false, reasons: [new AppError("idempotency_key_reused", { key })] };
}

/**
 * What a request asked for, without its idempotency key: equal for a faithful repeat, which may
 * write the same phone number in another notation, or spell out a default (`"priority":
 * "notification"`, `"attachments": []`) that the first left out.
 */
function requestHash(request: MessageRequest, defaultCountry: string): string {
  const { priority, attachments } = request;
  return givenRequestHash(
    {
      ...request,
      priority: priority === "notification" ? undefined : priority,
      attachments: attachments?.length ? attachments : undefined,
    },
    defaultCountry,
  );
}

/** The hash of a request with its defaults as given: what hubs before defaults were left out stored. */
function givenRequestHash(request: MessageRequest, defaultCountry: string): string {
  const { idempotencyKey: _key, recipient, ...asked } = request;
  const same =
    "phone" in recipient ? { phone: toE164(recipient.phone, defaultCountry, "recipient.phone") } : recipient;
  return createHash("sha256")
    .update(canonicalJson({ ...asked, recipient: same }))
    .digest("base64url");
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object")
    return `{${Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(value);
}

function noRoute(reason: string): AppError {
  return new AppError("no_usable_route", { reason });
}

function invalid(path: string, detail: string): AppError {
  return new AppError("validation_failed", {}, { details: [{ path, code: "custom", detail }] });
}
