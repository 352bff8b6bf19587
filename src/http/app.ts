import { OpenAPIHono } from "@hono/zod-openapi";
import { requestId } from "hono/request-id";
import { collectDefaultMetrics, Registry } from "prom-client";
import { AppError } from "../errors/app-error.ts";
import { createSendService } from "../pipeline/send/create.ts";
import { apiVersion } from "../version.ts";
import { devinoRoutesOf } from "./compat/devino.ts";
import type { AppDeps, AppEnv } from "./context.ts";
import { errorResponse, handleError } from "./errors.ts";
import { hookRoutes } from "./hooks.ts";
import { authenticate } from "./middleware/auth.ts";
import { idempotency } from "./middleware/idempotency.ts";
import { limitBody, parseJsonBody } from "./middleware/json-body.ts";
import { refuseNulInQuery } from "./middleware/nul-characters.ts";
import { observe } from "./middleware/observability.ts";
import { rateLimit } from "./middleware/rate-limit.ts";
import { apiKeyRoutes } from "./resources/api-keys.ts";
import { channelRoutes } from "./resources/channels.ts";
import { contactRoutes } from "./resources/contacts.ts";
import { conversationRoutes } from "./resources/conversations.ts";
import { errorCatalogueRoutes } from "./resources/error-catalogue.ts";
import { leadRoutes } from "./resources/leads.ts";
import { messageRoutes } from "./resources/messages.ts";
import { sendRoutes } from "./resources/send.ts";
import { systemRoutes } from "./resources/system.ts";
import { templateRoutes } from "./resources/templates.ts";
import { registerEventWebhooks, webhookRoutes } from "./resources/webhooks.ts";
import { workspaceRoutes } from "./resources/workspaces.ts";

/**
 * The HTTP application. Order matters: the request id and log come first so every later line
 * carries them; authentication and the rate limit run before the body is read, so that an
 * anonymous or throttled caller costs no parsing.
 */
export function createApp(input: AppDeps) {
  const { config, store, logger } = input;
  const deps = {
    ...input,
    sender:
      input.sender ??
      createSendService({
        db: store.db,
        box: input.box,
        logger,
        retryWindowMs: config.sendRetryWindow * 1000,
        ttlMs: config.sendDefaultTtl * 1000,
        egress: input.egress,
      }),
  };
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "switchboard_" });

  const app = new OpenAPIHono<AppEnv>();
  app.use(requestId({ headerName: "X-Request-Id" }));
  app.use(observe(logger, registry));
  app.onError(handleError);
  // Answered, not thrown: a throw here would skip the access log and metrics of `observe`.
  app.notFound((c) =>
    errorResponse(c, new AppError("route_not_found", { method: c.req.method, path: c.req.path })),
  );

  app.route("/", systemRoutes(deps, registry));
  app.route("/", hookRoutes(deps));
  app.route("/v1", errorCatalogueRoutes());

  for (const path of ["/v1/*", "/compat/*"]) {
    app.use(path, authenticate(store.db));
    app.use(path, rateLimit(config.rateLimit, config.rateLimitBurst));
    app.use(path, limitBody(config.bodyLimit));
    app.use(path, parseJsonBody);
    app.use(path, refuseNulInQuery);
    app.use(path, idempotency(store.db));
  }

  for (const routes of [
    workspaceRoutes,
    apiKeyRoutes,
    channelRoutes,
    contactRoutes,
    conversationRoutes,
    messageRoutes,
    sendRoutes,
    leadRoutes,
    templateRoutes,
    webhookRoutes,
  ]) {
    app.route("/v1", routes(deps));
  }
  app.route("/compat/devino", devinoRoutesOf(deps));

  registerEventWebhooks(app.openAPIRegistry);
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "An API key: `Authorization: Bearer sbk_…`. Create one with `switchboard keys create`.",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Switchboard API",
      version: apiVersion,
      description:
        "Self-hosted omnichannel messaging hub. Every error answer has the shape of `Error`; its `code` is listed by `GET /v1/errors`. Send `Accept-Language: ru` for Russian texts. Any POST accepts an `Idempotency-Key` header.",
    },
    servers: [{ url: config.publicUrl ?? "/" }],
  });
  return app;
}
