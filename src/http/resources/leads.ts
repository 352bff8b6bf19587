import { OpenAPIHono, z } from "@hono/zod-openapi";
import { AppError } from "../../errors/app-error.ts";
import { presentLead } from "../../pipeline/objects.ts";
import { getLead, listLeads } from "../../store/repositories/contact-activity.ts";
import type { AppDeps, AppEnv } from "../context.ts";
import { validationHook } from "../errors.ts";
import {
  apiRoute,
  errorResponses,
  IdParam,
  jsonContent,
  PageQuery,
  pageOf,
  presentPage,
  Timestamp,
} from "../schemas.ts";

export const LeadSchema = z
  .object({
    id: z.string(),
    channel_id: z.string(),
    contact_id: z.string().nullable(),
    conversation_id: z.string().nullable().openapi({ description: "The lead's own conversation" }),
    external_id: z.string().openapi({ description: "The platform's lead id (VK `lead_id`)" }),
    form_id: z.string(),
    form_name: z.string().nullable(),
    answers: z.array(z.object({ key: z.string(), question: z.string(), answer: z.string() })),
    received_at: Timestamp,
  })
  .openapi("Lead");

/** Lead form submissions (VK `lead_forms_new`), each with the answers as the client gave them. */
export function leadRoutes({ store }: AppDeps) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(
    apiRoute("Leads", {
      method: "get",
      path: "/leads",
      summary: "List lead form submissions, newest first",
      request: {
        query: PageQuery.extend({ channel_id: z.string().optional(), contact_id: z.string().optional() }),
      },
      responses: {
        200: jsonContent(pageOf(LeadSchema, "LeadPage"), "Leads, newest first"),
        ...errorResponses(400),
      },
    }),
    async (c) => {
      const { channel_id, contact_id, ...page } = c.req.valid("query");
      const result = await listLeads(
        store.db,
        c.get("apiKey").workspaceId,
        { channelAccountId: channel_id, contactId: contact_id },
        page,
      );
      return c.json(presentPage(result, presentLead), 200);
    },
  );
  app.openapi(
    apiRoute("Leads", {
      method: "get",
      path: "/leads/{id}",
      summary: "Get a lead form submission",
      request: { params: IdParam },
      responses: { 200: jsonContent(LeadSchema, "The lead"), ...errorResponses(404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const found = await getLead(store.db, c.get("apiKey").workspaceId, id);
      if (!found) throw new AppError("lead_not_found", { id });
      return c.json(presentLead(found), 200);
    },
  );
  return app;
}
