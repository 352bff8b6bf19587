import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { Keyboard } from "../../channels/keyboard.ts";
import {
  maxVariableNameLength,
  renderTemplate,
  type TemplateVariable,
  templateBodyFor,
  variableNamePattern,
} from "../../core/template.ts";
import type { ChannelKind } from "../../store/repositories/channel-accounts.ts";
import {
  createTemplate,
  deleteTemplate,
  listTemplates,
  requireTemplate,
  type Template,
  updateTemplate,
} from "../../store/repositories/templates.ts";
import { channelKinds, type StoredTemplateBody } from "../../store/schema.ts";
import type { AppDeps, AppEnv } from "../context.ts";
import { validationHook } from "../errors.ts";
import {
  apiRoute,
  errorResponses,
  IdParam,
  iso,
  jsonBody,
  jsonContent,
  PageQuery,
  pageOf,
  presentPage,
  Timestamp,
} from "../schemas.ts";
import { fromKeyboard, KeyboardSchema, toKeyboard } from "./message-content.ts";

// ── Schemas ──────────────────────────────────────────────────────────────────

/** The same schema under every channel kind's name, as the shape of a zod object. */
function perKind<T extends z.ZodType>(schema: T) {
  return Object.fromEntries(channelKinds.map((kind) => [kind, schema])) as Record<ChannelKind, T>;
}

const variableName = z
  .string()
  .max(maxVariableNameLength)
  .regex(variableNamePattern, "letters (any alphabet), digits and _, not starting with a digit")
  .openapi({ example: "name" });

const VariableInput = z
  .strictObject({
    name: variableName,
    description: z.string().trim().min(1).max(500).optional(),
    required: z.boolean().optional().openapi({
      description: "Must `data` give it? Default: true, or false when `default` is given",
    }),
    default: z.string().max(4096).optional().openapi({
      description: "The value of an optional variable that `data` leaves out (otherwise an empty text)",
    }),
  })
  .superRefine((variable, ctx) => {
    if (variable.required === true && variable.default !== undefined) {
      ctx.addIssue({ code: "custom", path: ["default"], message: "a required variable has no default" });
    }
  })
  .openapi("TemplateVariableInput");

const VariablesInput = z
  .array(VariableInput)
  .max(100)
  .superRefine((variables, ctx) => {
    const seen = new Set<string>();
    variables.forEach((variable, index) => {
      if (seen.has(variable.name)) {
        ctx.addIssue({
          code: "custom",
          path: [index, "name"],
          message: `${variable.name} is declared twice`,
        });
      }
      seen.add(variable.name);
    });
  })
  .openapi({ description: "Every variable the bodies may use; `data` may give only these" });

const BodyInput = z
  .strictObject({
    text: z
      .string()
      .max(65_536)
      .refine((text) => text.trim() !== "", "the text is empty")
      .openapi({
        description: "Plain text with `{{variable}}` placeholders; `\\{{` is a literal `{{`",
        example: "Здравствуйте, {{name}}! Ваша пицца «{{pizza}}» уже в пути.",
      }),
    keyboard: KeyboardSchema.optional().openapi({
      description: "Sent with the message as written (placeholders are not filled in keyboards)",
    }),
  })
  .openapi("TemplateBodyInput");

const templateFields = {
  name: z.string().trim().min(1).max(100).openapi({
    description: "Unique in the workspace, case-sensitive; sends refer to the template by it",
    example: "order_on_its_way",
  }),
  description: z.string().trim().min(1).max(1000).nullable().optional(),
  variables: VariablesInput.optional(),
};

const TemplateCreate = z
  .strictObject({
    ...templateFields,
    bodies: z
      .strictObject(perKind(BodyInput.optional()))
      .optional()
      .openapi({ description: "A body per channel kind that needs its own text" }),
    fallback: BodyInput.optional().openapi({ description: "The body of every kind without its own" }),
  })
  .openapi("TemplateCreate");

const TemplateUpdate = z
  .strictObject({
    name: templateFields.name.optional(),
    description: templateFields.description,
    variables: VariablesInput.optional().openapi({ description: "Replaces the whole list" }),
    bodies: z
      .strictObject(perKind(BodyInput.nullable().optional()))
      .optional()
      .openapi({ description: "Merged kind by kind: a kind given replaces its body, null removes it" }),
    fallback: BodyInput.nullable().optional().openapi({ description: "null removes the fallback body" }),
  })
  .openapi("TemplateUpdate");

const BodySchema = z
  .object({ text: z.string(), keyboard: KeyboardSchema.nullable() })
  .openapi("TemplateBody");

export const TemplateSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    variables: z.array(
      z.object({
        name: z.string(),
        description: z.string().nullable(),
        required: z.boolean(),
        default: z.string().nullable(),
      }),
    ),
    bodies: z.object(perKind(BodySchema.optional())),
    fallback: BodySchema.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Template");

const TemplateQuery = PageQuery.extend({
  name: z.string().min(1).max(100).optional().openapi({ description: "Exact name: that template or none" }),
});

const PreviewInput = z
  .strictObject({
    data: z
      .record(z.string(), z.unknown())
      .default({})
      .openapi({
        description: "The variables' values: strings, numbers or booleans",
        example: { name: "Anna" },
      }),
    channel_kind: z.enum(channelKinds).optional().openapi({
      description: "Render for this kind only (default: every kind the template has a body for)",
    }),
  })
  .openapi("TemplatePreviewInput");

const PreviewSchema = z
  .object({
    template_id: z.string(),
    name: z.string(),
    renders: z.array(
      z.object({
        channel_kind: z.enum(channelKinds),
        body: z.enum(["own", "fallback"]).openapi({ description: "The kind's own body, or the fallback" }),
        text: z.string(),
        keyboard: KeyboardSchema.nullable(),
      }),
    ),
  })
  .openapi("TemplatePreview");

// ── Presentation ─────────────────────────────────────────────────────────────

type BodyInputValue = z.infer<typeof BodyInput>;
type VariableInputValue = z.infer<typeof VariableInput>;

const toBody = (body: BodyInputValue): StoredTemplateBody => ({
  text: body.text,
  keyboard: body.keyboard ? (toKeyboard(body.keyboard) as unknown as Record<string, unknown>) : null,
});

const toVariable = (variable: VariableInputValue): TemplateVariable => ({
  name: variable.name,
  description: variable.description ?? null,
  required: variable.required ?? variable.default === undefined,
  default: variable.default ?? null,
});

function toBodies<T extends BodyInputValue | null | undefined>(
  bodies: Partial<Record<ChannelKind, T>> | undefined,
) {
  if (!bodies) return undefined;
  const result: Partial<Record<ChannelKind, StoredTemplateBody | null>> = {};
  for (const kind of channelKinds) {
    const body = bodies[kind];
    if (body !== undefined) result[kind] = body === null ? null : toBody(body);
  }
  return result;
}

const keyboardOf = (keyboard: Record<string, unknown> | null) =>
  keyboard ? fromKeyboard(keyboard as unknown as Keyboard) : null;

const presentBody = (body: StoredTemplateBody) => ({ text: body.text, keyboard: keyboardOf(body.keyboard) });

export const presentTemplate = (t: Template) => ({
  id: t.id,
  name: t.name,
  description: t.description,
  variables: t.variables.map((v) => ({
    name: v.name,
    description: v.description,
    required: v.required,
    default: v.default,
  })),
  bodies: Object.fromEntries(
    channelKinds.flatMap((kind) => {
      const body = t.bodies[kind];
      return body ? [[kind, presentBody(body)]] : [];
    }),
  ),
  fallback: t.fallback ? presentBody(t.fallback) : null,
  created_at: iso(t.createdAt) as string,
  updated_at: iso(t.updatedAt) as string,
});

// ── Routes ───────────────────────────────────────────────────────────────────

const tag = "Templates";

export function templateRoutes({ store }: AppDeps) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const db = store.db;

  app.openapi(
    apiRoute(tag, {
      method: "get",
      path: "/templates",
      summary: "List templates",
      request: { query: TemplateQuery },
      responses: {
        200: jsonContent(pageOf(TemplateSchema, "TemplatePage"), "Templates, newest first"),
        ...errorResponses(400),
      },
    }),
    async (c) => {
      const query = c.req.valid("query");
      const page = await listTemplates(db, c.get("apiKey").workspaceId, { name: query.name }, query);
      return c.json(presentPage(page, presentTemplate), 200);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "post",
      path: "/templates",
      summary: "Create a template",
      description:
        "Every `{{placeholder}}` of every body must be a declared variable, and well-formed (`template_invalid` lists each problem). Give `fallback`, bodies per channel kind, or both.",
      request: { body: jsonBody(TemplateCreate) },
      responses: {
        201: jsonContent(TemplateSchema, "The template"),
        ...errorResponses(400, 409, 413, 415),
      },
    }),
    async (c) => {
      const input = c.req.valid("json");
      const created = await createTemplate(db, c.get("apiKey").workspaceId, {
        name: input.name,
        description: input.description,
        variables: input.variables?.map(toVariable),
        bodies: toBodies(input.bodies) as Partial<Record<ChannelKind, StoredTemplateBody>> | undefined,
        fallback: input.fallback ? toBody(input.fallback) : null,
      });
      return c.json(presentTemplate(created), 201);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "get",
      path: "/templates/{id}",
      summary: "Get a template",
      request: { params: IdParam },
      responses: { 200: jsonContent(TemplateSchema, "The template"), ...errorResponses(404) },
    }),
    async (c) =>
      c.json(
        presentTemplate(await requireTemplate(db, c.get("apiKey").workspaceId, c.req.valid("param").id)),
        200,
      ),
  );

  app.openapi(
    apiRoute(tag, {
      method: "patch",
      path: "/templates/{id}",
      summary: "Change a template",
      description:
        "Fields left out are kept; `variables` replaces the list; `bodies` is merged kind by kind (null removes a kind's body). The result is checked as a whole: a body may not use a variable the new list lacks.",
      request: { params: IdParam, body: jsonBody(TemplateUpdate) },
      responses: {
        200: jsonContent(TemplateSchema, "The template"),
        ...errorResponses(400, 404, 409, 413, 415),
      },
    }),
    async (c) => {
      const input = c.req.valid("json");
      const updated = await updateTemplate(db, c.get("apiKey").workspaceId, c.req.valid("param").id, {
        name: input.name,
        description: input.description,
        variables: input.variables?.map(toVariable),
        bodies: toBodies(input.bodies),
        fallback: input.fallback === undefined ? undefined : input.fallback && toBody(input.fallback),
      });
      return c.json(presentTemplate(updated), 200);
    },
  );

  app.openapi(
    apiRoute(tag, {
      method: "delete",
      path: "/templates/{id}",
      summary: "Delete a template",
      description: "Messages already accepted keep the text rendered from it.",
      request: { params: IdParam },
      responses: { 200: jsonContent(TemplateSchema, "The deleted template"), ...errorResponses(404) },
    }),
    async (c) =>
      c.json(
        presentTemplate(await deleteTemplate(db, c.get("apiKey").workspaceId, c.req.valid("param").id)),
        200,
      ),
  );

  app.openapi(
    apiRoute(tag, {
      method: "post",
      path: "/templates/{id}/preview",
      summary: "Render a template without sending",
      description:
        "Renders with `data` exactly as a send would: a missing required variable, an undeclared one and a value that is not a string, number or boolean are refused with their codes (`details` names each). Sends nothing.",
      request: { params: IdParam, body: jsonBody(PreviewInput) },
      responses: {
        200: jsonContent(PreviewSchema, "The text for each channel kind"),
        ...errorResponses(400, 404, 413, 415, 422),
      },
    }),
    async (c) => {
      const input = c.req.valid("json");
      const found = await requireTemplate(db, c.get("apiKey").workspaceId, c.req.valid("param").id);
      const kinds = input.channel_kind
        ? [input.channel_kind]
        : channelKinds.filter((kind) => templateBodyFor(found, kind) !== undefined);
      const renders = kinds.map((kind) => {
        const rendered = renderTemplate(found, kind, input.data);
        return {
          channel_kind: kind,
          body: rendered.body,
          text: rendered.text,
          keyboard: keyboardOf(rendered.keyboard),
        };
      });
      return c.json({ template_id: found.id, name: found.name, renders }, 200);
    },
  );

  return app;
}
