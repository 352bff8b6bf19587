import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import type { ErrorCode } from "../errors/catalogue.ts";
import { recordEvent } from "../pipeline/webhooks/events.ts";
import { newSigningSecret } from "../pipeline/webhooks/signature.ts";
import { createApiKey } from "../store/repositories/api-keys.ts";
import { type ChannelAccount, createChannelAccount } from "../store/repositories/channel-accounts.ts";
import { type ContactEvent, type Lead, recordLead } from "../store/repositories/contact-activity.ts";
import { type ContactWithIdentities, createContact } from "../store/repositories/contacts.ts";
import { type Conversation, createConversation } from "../store/repositories/conversations.ts";
import { type Message, recordMessage } from "../store/repositories/messages.ts";
import { createTemplate, type Template } from "../store/repositories/templates.ts";
import {
  createEndpoint,
  requireEvent,
  startRecovery,
  type WebhookEndpoint,
  type WebhookEvent,
  type WebhookRecovery,
} from "../store/repositories/webhooks.ts";
import { contactEvent as contactEventTable } from "../store/schema.ts";
import type { TestHub, TestResponse } from "./hub.ts";

/** What may appear in an error answer's `error` object; the first four always do. */
const errorKeys = ["code", "message", "remedy", "request_id", "details", "upstream_code"];

/**
 * Asserts a catalogued error answer: its status and code, the one shape of every error body,
 * `request_id` equal to the X-Request-Id header, and, when given, exactly these detail paths.
 */
export function assertError(res: TestResponse, status: number, code: ErrorCode, paths?: string[]): void {
  const seen = `${res.status} ${JSON.stringify(res.body)}`;
  assert.equal(res.status, status, `expected ${status} ${code}, got ${seen}`);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  assert.deepEqual(Object.keys(res.body), ["error"], seen);
  const error = res.body.error;
  assert.equal(error.code, code, seen);
  for (const key of Object.keys(error))
    assert.ok(errorKeys.includes(key), `unexpected key ${key} in ${seen}`);
  for (const key of ["message", "remedy", "request_id"]) {
    assert.equal(typeof error[key], "string", `${key} in ${seen}`);
    assert.ok(error[key].length > 0, `${key} in ${seen}`);
  }
  assert.doesNotMatch(error.message, /\{\w+\}/, `unfilled placeholder in ${seen}`);
  assert.equal(
    error.request_id,
    res.headers.get("x-request-id"),
    "request_id equals the X-Request-Id header",
  );
  if (error.details !== undefined) {
    assert.ok(Array.isArray(error.details) && error.details.length > 0, seen);
    for (const detail of error.details) {
      assert.deepEqual(Object.keys(detail).sort(), ["code", "detail", "path"], seen);
      for (const value of Object.values(detail)) assert.equal(typeof value, "string", seen);
    }
  }
  if (paths) {
    assert.deepEqual(
      (error.details ?? []).map((d: { path: string }) => d.path).sort(),
      [...paths].sort(),
      `detail paths of ${seen}`,
    );
  }
}

/** Asserts a successful answer with its status, showing the body when it is something else. */
export function assertStatus(res: TestResponse, status: number): void {
  assert.equal(res.status, status, `expected ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
}

export const unique = (prefix = "") => `${prefix}${randomBytes(5).toString("hex")}`;
export const randomId = () => randomUUID();
/** A VK user id no test has used yet, most likely: VK's users are 1 to 2e9 − 1. */
export const uniqueVkUserId = () => String(1 + (randomBytes(4).readUInt32BE(0) % 1_999_999_999));

/** The objects of one workspace that the routes with `{id}` act on. */
export interface Fixture {
  workspaceId: string;
  channel: ChannelAccount;
  contact: ContactWithIdentities;
  conversation: Conversation;
  /** An outbound message in the conversation, as if the hub had sent it. */
  message: Message;
  /** A client's press of a callback button on the channel. */
  contactEvent: ContactEvent;
  /** A lead form submission of the contact on the channel. */
  lead: Lead;
  /** A template with one required variable, `name`, and a fallback body. */
  template: Template;
  /** A plain key of the workspace (not the caller's own). */
  apiKey: { id: string; secret: string };
  /** The channel's token, which must never appear in an answer. */
  channelSecret: string;
  /** A webhook endpoint (on a port nobody listens on), a test event queued for it, a recovery. */
  webhook: WebhookEndpoint;
  event: WebhookEvent;
  recovery: WebhookRecovery;
}

/** Seeds a channel with credentials, a contact, a conversation and a spare key into a workspace. */
export async function seedFixture(hub: TestHub, workspaceId: string): Promise<Fixture> {
  const db = hub.store.db;
  const channelSecret = unique("token-secret-");
  const channel = await createChannelAccount(db, hub.box, {
    workspaceId,
    kind: "vk",
    externalId: unique("group-"),
    name: "VK group",
    credentials: { token: channelSecret },
  });
  const contact = await createContact(db, workspaceId, {
    name: "Fixture Contact",
    identities: [{ channelKind: "vk", externalId: unique("user-") }],
  });
  const conversation = await createConversation(db, {
    workspaceId,
    channelAccountId: channel.id,
    contactId: contact.id,
    kind: "direct",
  });
  const { message } = await recordMessage(db, {
    workspaceId,
    conversationId: conversation.id,
    channelAccountId: channel.id,
    contactId: contact.id,
    direction: "outbound",
    authorKind: "api",
    text: "Fixture message",
    externalId: "1",
    status: "sent",
  });
  const [contactEvent] = await db
    .insert(contactEventTable)
    .values({
      workspaceId,
      channelAccountId: channel.id,
      contactId: contact.id,
      kind: "button_pressed",
      data: { event_id: unique("event-"), peer_id: 1, payload: {} },
    })
    .returning();
  const lead = await recordLead(db, {
    workspaceId,
    channelAccountId: channel.id,
    contactId: contact.id,
    externalId: unique("lead-"),
    formId: "1",
    formName: "Fixture form",
    answers: [{ key: "first_name", question: "Имя", answer: "Fixture" }],
  });
  const template = await createTemplate(db, workspaceId, {
    name: unique("fixture-template-"),
    variables: [{ name: "name", description: null, required: true, default: null }],
    bodies: { vk: { text: "Привет, {{name}}!", keyboard: null } },
    fallback: { text: "Hello, {{name}}!", keyboard: null },
  });
  const { key, secret } = await createApiKey(db, { workspaceId, name: "spare key" });
  const webhook = await createEndpoint(db, workspaceId, {
    url: "http://127.0.0.1:9/hooks",
    sealedSecret: hub.box.seal(newSigningSecret()),
  });
  const eventId = await recordEvent(
    db,
    {
      type: "webhook.test",
      workspaceId,
      data: { endpoint_id: webhook.id, message: "fixture" },
      orderingKey: null,
      channelId: null,
    },
    { onlyEndpointId: webhook.id },
  );
  const event = await requireEvent(db, workspaceId, eventId);
  const recovery = await startRecovery(db, { workspaceId, endpointId: webhook.id }, new Date(0), null);
  return {
    workspaceId,
    channel,
    contact,
    conversation,
    message,
    contactEvent: contactEvent as ContactEvent,
    lead: lead as Lead,
    template,
    apiKey: { id: key.id, secret },
    channelSecret,
    webhook,
    event,
    recovery,
  };
}

/** A fresh key of `workspaceId`, straight in the store (costs no request against a rate limit). */
export async function freshKey(
  hub: TestHub,
  workspaceId: string,
  admin = false,
): Promise<{ id: string; secret: string }> {
  const { key, secret } = await createApiKey(hub.store.db, { workspaceId, name: unique("key-"), admin });
  return { id: key.id, secret };
}
