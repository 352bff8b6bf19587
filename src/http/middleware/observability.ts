import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
import type { Logger } from "pino";
import { Counter, Histogram, type Registry } from "prom-client";
import type { AppEnv } from "../context.ts";
import { pickLanguage } from "../errors.ts";

/**
 * Per request: a child logger carrying the request id, the caller's language, one access log
 * line, and the HTTP metrics. Runs first, so every later line of the request has its id.
 */
export function observe(logger: Logger, registry: Registry) {
  const requests = new Counter({
    name: "switchboard_http_requests_total",
    help: "HTTP requests answered, by method, route and status.",
    labelNames: ["method", "route", "status"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "switchboard_http_request_duration_seconds",
    help: "Time to answer HTTP requests, by method and route.",
    labelNames: ["method", "route"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return createMiddleware<AppEnv>(async (c, next) => {
    const started = performance.now();
    const log = logger.child({ request_id: c.get("requestId") });
    c.set("log", log);
    c.set("language", pickLanguage(c.req.header("accept-language")));
    await next();
    const seconds = (performance.now() - started) / 1000;
    // The matched pattern, not the raw path, keeps label cardinality bounded.
    const route = routePath(c, -1);
    requests.inc({ method: c.req.method, route, status: String(c.res.status) });
    duration.observe({ method: c.req.method, route }, seconds);
    log.info(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        duration_ms: Math.round(seconds * 10000) / 10,
      },
      "request",
    );
  });
}
