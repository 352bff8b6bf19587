import { OpenAPIHono, z } from "@hono/zod-openapi";
import { toE164 } from "../../core/phone.ts";
import { AppError } from "../../errors/app-error.ts";
import { presentContact } from "../../pipeline/objects.ts";
import type { SendService } from "../../pipeline/send/service.ts";
import { contactEvent, recordEvent } from "../../pipeline/webhooks/events.ts";
import {
  contactOrders,
  createContact,
  listContacts,
  mergeContacts,
  requireContact,
  updateContact,
} from "../../store/repositories/contacts.ts";
import { channelKinds, consentStates } from "../../store/schema.ts";
import type { AppDeps, AppEnv } from "../context.ts";
import { validationHook } from "../errors.ts";
import {
  apiRoute,
  errorResponses,
  IdParam,
  jsonBody,
  jsonContent,
  PageQuery,
  pageOf,
  presentPage,
  Timestamp,
  UpdatedSince,
} from "../schemas.ts";

const IdentitySchema = z
  .strictObject({
    channel_kind: z.enum(channelKinds),
    external_id: z.string().trim().min(1).max(200).openapi({
      description: "The user's id on that platform (VK: the numeric user id, as in vk.com/id123456)",
    }),
    display_name: z.string().max(500).optional(),
  })
  .openapi("ContactIdentityInput");

export const ContactSchema = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    phone: z.string().nullable().openapi({ description: "E.164" }),
    email: z.string().nullable(),
    custom_fields: z.record(z.string(), z.unknown()),
    identities: z.array(
      z.object({
        id: z.string(),
        channel_kind: z.enum(channelKinds),
        external_id: z.string(),
        display_name: z.string().nullable(),
        consent: z
          .array(
            z.object({
              channel_id: z.string(),
              state: z.enum(consentStates),
              changed_at: Timestamp,
            }),
          )
          .openapi({
            description:
              "Per channel, whether the user allows its messages (VK `message_allow` / `message_deny`). A channel not listed has had no answer; sends go out. After `denied`, sends through that channel fail with `contact_refused_messages` until `allowed`.",
          }),
        created_at: Timestamp,
      }),
    ),
    created_at: Timestamp,
    updated_at: Timestamp.openapi({
      description:
        "When the hub last changed it: its fields, an identity added or named (from the platform's profile), a consent, a merge into it",
    }),
  })
  .openapi("Contact");

const fields = {
  name: z.string().trim().min(1).max(500).nullable().optional(),
  phone: z.string().trim().min(1).max(40).nullable().optional().openapi({
    description:
      "Any common notation; stored as E.164. Numbers without a country code use the hub's default country.",
  }),
  email: z.email().max(320).nullable().optional(),
  custom_fields: z
    .record(z.string().min(1).max(100), z.unknown())
    .optional()
    .openapi({ description: "Free-form fields. On update, keys are merged; a key set to null is removed." }),
};
const ContactCreate = z
  .strictObject({ ...fields, identities: z.array(IdentitySchema).max(50).optional() })
  .openapi("ContactCreate");
const ContactUpdate = z
  .strictObject({ ...fields, add_identities: z.array(IdentitySchema).max(50).optional() })
  .openapi("ContactUpdate");
const MergeInput = z
  .strictObject({
    source_contact_id: z
      .string()
      .openapi({ description: "The contact to merge into this one; it is deleted" }),
  })
  .openapi("ContactMerge");

const ContactQuery = PageQuery.extend({
  q: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .optional()
    .openapi({ description: "Part of the name or e-mail, or 3+ digits of the phone" }),
  phone: z
    .string()
    .trim()
    .min(1)
    .max(40)
    .optional()
    .openapi({ description: "Exact phone number, any notation" }),
  channel_kind: z
    .enum(channelKinds)
    .optional()
    .openapi({ description: "With external_id: the contact with this identity" }),
  external_id: z.string().trim().min(1).max(200).optional(),
  updated_since: UpdatedSince,
  order: z.enum(contactOrders).default("created").openapi({
    description:
      "`created`: the newest contact first. `updated`: the least recently changed first (`updated_at`, then id), to sync: one that changes while you page moves to the end and is listed again there",
  }),
}).superRefine((query, ctx) => {
  if ((query.channel_kind === undefined) !== (query.external_id === undefined)) {
    ctx.addIssue({
      code: "custom",
      path: [query.channel_kind === undefined ? "channel_kind" : "external_id"],
      message: "channel_kind and external_id go together",
    });
  }
});

const tag = "Contacts";

export function contactRoutes({ store, config, sender }: AppDeps & { sender: SendService }) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const db = store.db;
  const phone = (value: string | null | undefined, path: string) =>
    value ? toE164(value, config.defaultCountry, path) : value;
  // An id the platform could not have given (a VK short name) would never match a client's
  // messages, so it is refused as the send API refuses it.
  const identities = (list: z.infer<typeof IdentitySchema>[] | undefined, field: string) =>
    list?.map((i, index) => {
      try {
        sender.adapter(i.channel_kind)?.checkUserId(i.external_id);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        const path = `${field}.${index}.external_id`;
        throw new AppError(error.code, error.params, {
          details: [{ path, code: error.code, detail: error.message }],
        });
      }
      return { channelKind: i.channel_kind, externalId: i.external_id, displayName: i.display_name };
    });

  app.openapi(
    apiRoute(tag, {
      method: "get",
      path: "/contacts",
      summary: "List and search contacts",
      request: { query: ContactQuery },
      responses: {
        200: jsonContent(pageOf(ContactSchema, "ContactPage"), "Contacts, newest first (or as `order` says)"),
        ...errorResponses(400),
      },
    }),
    async (c) => {
      const query = c.req.valid("query");
      const result = await listContacts(
        db,
        c.get("apiKey").workspaceId,
        {
          q: query.q,
          phone: phone(query.phone, "query.phone") ?? undefined,
          identity:
            query.channel_kind && query.external_id
              ? { channelKind: query.channel_kind, externalId: query.external_id }
              : undefined,
          updatedSince: query.updated_since ? new Date(query.updated_since) : undefined,
        },
        query,
        query.order,
      );
      return c.json(presentPage(result, presentContact), 200);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "post",
      path: "/contacts",
      summary: "Create a contact",
      request: { body: jsonBody(ContactCreate) },
      responses: { 201: jsonContent(ContactSchema, "The contact"), ...errorResponses(400, 409, 413, 415) },
    }),
    async (c) => {
      const input = c.req.valid("json");
      const created = await db.transaction(async (tx) => {
        const contact = await createContact(tx, c.get("apiKey").workspaceId, {
          name: input.name,
          phone: phone(input.phone, "phone"),
          email: input.email,
          customFields: input.custom_fields,
          identities: identities(input.identities, "identities"),
        });
        await recordEvent(tx, contactEvent("contact.created", contact));
        return contact;
      });
      return c.json(presentContact(created), 201);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "get",
      path: "/contacts/{id}",
      summary: "Get a contact with its identities",
      request: { params: IdParam },
      responses: { 200: jsonContent(ContactSchema, "The contact"), ...errorResponses(404) },
    }),
    async (c) =>
      c.json(
        presentContact(await requireContact(db, c.get("apiKey").workspaceId, c.req.valid("param").id)),
        200,
      ),
  );

  app.openapi(
    apiRoute(tag, {
      method: "patch",
      path: "/contacts/{id}",
      summary: "Update a contact",
      description:
        "Fields left out are kept; null clears a field. `add_identities` links more platform accounts.",
      request: { params: IdParam, body: jsonBody(ContactUpdate) },
      responses: {
        200: jsonContent(ContactSchema, "The contact"),
        ...errorResponses(400, 404, 409, 413, 415),
      },
    }),
    async (c) => {
      const input = c.req.valid("json");
      const updated = await db.transaction(async (tx) => {
        const contact = await updateContact(tx, c.get("apiKey").workspaceId, c.req.valid("param").id, {
          name: input.name,
          phone: phone(input.phone, "phone"),
          email: input.email,
          customFields: input.custom_fields,
          addIdentities: identities(input.add_identities, "add_identities"),
        });
        await recordEvent(tx, contactEvent("contact.updated", contact));
        return contact;
      });
      return c.json(presentContact(updated), 200);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "post",
      path: "/contacts/{id}/merge",
      summary: "Merge another contact into this one",
      description:
        "Identities, conversations and messages of the source move here; empty fields are filled from it; the source is deleted. Two open direct conversations on one channel become one.",
      request: { params: IdParam, body: jsonBody(MergeInput) },
      responses: {
        200: jsonContent(ContactSchema, "The merged contact"),
        ...errorResponses(400, 404, 409, 413, 415),
      },
    }),
    async (c) => {
      const merged = await db.transaction(async (tx) => {
        const sourceId = c.req.valid("json").source_contact_id;
        const { contact, joinedConversations } = await mergeContacts(
          tx,
          c.get("apiKey").workspaceId,
          c.req.valid("param").id,
          sourceId,
        );
        await recordEvent(
          tx,
          contactEvent("contact.updated", contact, {
            contact_id: sourceId,
            conversations: joinedConversations,
          }),
        );
        return contact;
      });
      return c.json(presentContact(merged), 200);
    },
  );

  return app;
}
