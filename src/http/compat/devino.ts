/**
 * Devino's VK/OK notification API (`POST /vk/messages`, seed 002), unchanged, on top of the send
 * API: an integration written for Devino switches to the hub by changing its base URL to
 * `<hub>/compat/devino` and its key to a hub API key (`Authorization: Key <key>` as Devino's
 * clients send it, or `Bearer`). Requests and answers keep Devino's field names and shapes;
 * reasons are the hub's catalogue codes written Devino's way (`too_many_messages` →
 * `too.many.messages`). Devino's `service` (the community's approved name) picks the channel by
 * its name; `templateId` and `delivery_policy` are accepted and have no effect (the hub's
 * templates are named, `tmpl`).
 */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import { AppError } from "../../errors/app-error.ts";
import type { MessageRequest } from "../../pipeline/send/accept.ts";
import type { SendService } from "../../pipeline/send/service.ts";
import { channelsOfWorkspace } from "../../store/repositories/channel-accounts.ts";
import type { AppDeps, AppEnv } from "../context.ts";
import { toDetails, validationHook } from "../errors.ts";
import { acceptDepsOf, acceptItems, statusUrl } from "../resources/send.ts";
import { apiRoute, errorResponses, jsonBody, jsonContent } from "../schemas.ts";

const devinoRoutes = { VK: "vk", OK: "ok" } as const;

const DevinoMessage = z
  .object({
    phone: z.string().min(1).openapi({ description: "E.164, with or without `+`", example: "79999999999" }),
    routes: z
      .array(z.enum(["VK", "OK"]))
      .min(1)
      .optional(),
    service: z.string().optional().openapi({ description: "The channel's name in the hub" }),
    tmpl: z.string().min(1),
    tmpl_data: z.record(z.string(), z.unknown()).optional(),
    templateId: z.number().int().optional(),
    ttl: z
      .number()
      .int()
      .min(60)
      .max(30 * 86_400)
      .optional(),
    status_url: statusUrl.optional(),
    callbackData: z.unknown().optional(),
    delivery_policy: z.string().optional(),
  })
  .openapi("DevinoMessage");

const DevinoResult = z
  .union([
    z.object({ code: z.literal("OK"), messageId: z.string() }),
    z.object({ code: z.literal("REJECTED"), reasons: z.array(z.object({ key: z.string() })) }),
  ])
  .openapi("DevinoResult");

const DevinoAnswer = z.object({ result: z.array(DevinoResult) });

/** A catalogue code as Devino writes its reasons. */
export const devinoKey = (code: string) => code.replaceAll("_", ".");

export function devinoRoutesOf(deps: AppDeps & { sender: SendService }) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const accept = acceptDepsOf(deps);

  app.openapi(
    apiRoute("Devino compatibility", {
      method: "post",
      path: "/vk/messages",
      summary: "Devino's VK/OK send, unchanged",
      description:
        "Takes Devino's request (an array of up to 1,000 messages with `phone`, `routes` VK/OK, `tmpl`/`tmpl_data`, `ttl`, `status_url`, `callbackData`) and answers `{\"result\":[…]}` in Devino's shapes. Status callbacks go to `status_url` in Devino's format. See docs/sending.md.",
      request: {
        body: jsonBody(z.array(z.unknown()).openapi({ description: "DevinoMessage items" })),
      },
      responses: {
        200: jsonContent(DevinoAnswer, "One result per message, in order"),
        ...errorResponses(413, 415),
        400: jsonContent(
          DevinoAnswer,
          "More than 1,000 messages: `too.many.messages`, nothing accepted (a body that is not an array: the hub's `validation_failed`)",
        ),
      },
    }),
    async (c) => {
      const key = c.get("apiKey");
      const items = c.req.valid("json");
      const channels = await channelsOfWorkspace(deps.store.db, key.workspaceId);
      const read = (item: unknown) => {
        const parsed = DevinoMessage.safeParse(item);
        if (!parsed.success)
          return {
            ok: false as const,
            error: new AppError("validation_failed", {}, { details: toDetails(parsed.error, "json") }),
          };
        const m = parsed.data;
        const kinds = (m.routes ?? ["VK", "OK"]).map((route) => devinoRoutes[route]);
        const named = m.service
          ? channels.filter((ch) => ch.name === m.service && kinds.includes(ch.kind as "vk"))
          : [];
        if (m.service && named.length === 0)
          return {
            ok: false as const,
            error: new AppError("channel_name_not_found", { name: m.service, kind: [...new Set(kinds)] }),
          };
        const request: MessageRequest = {
          recipient: { phone: m.phone.startsWith("+") ? m.phone : `+${m.phone}` },
          routes: named.length > 0 ? named.map((ch) => ch.id) : kinds,
          template: { name: m.tmpl, data: m.tmpl_data ?? {} },
          ttlSeconds: m.ttl,
          statusUrl: m.status_url,
          callbackData: m.callbackData,
          priority: "notification",
        };
        return { ok: true as const, request };
      };
      try {
        const results = await acceptItems(accept, key.workspaceId, { kind: "api", ref: key.id }, items, read);
        return c.json(
          {
            result: results.map((r) =>
              r.ok
                ? { code: "OK" as const, messageId: r.messageId }
                : { code: "REJECTED" as const, reasons: r.reasons.map((e) => ({ key: devinoKey(e.code) })) },
            ),
          },
          200,
        );
      } catch (error) {
        if (!(error instanceof AppError) || error.code !== "too_many_messages") throw error;
        return c.json(
          { result: [{ code: "REJECTED" as const, reasons: [{ key: devinoKey(error.code) }] }] },
          400,
        );
      }
    },
  );

  return app;
}
