import type { FastifyInstance } from "fastify";
import type { ApiMetrics } from "../services/metrics.js";

/**
 * Observes every answer when its raw response closes. Fastify's onResponse hook would miss
 * hijacked replies (SSE streams) and answers the client abandoned; the socket's close sees them all.
 * Call it on the root instance, before any route, so every route is observed.
 */
export function observeRequests(app: FastifyInstance, metrics: ApiMetrics) {
  app.addHook("onRequest", async (request, reply) => {
    reply.raw.once("close", () => {
      metrics.observeRequest({
        // The pattern (`/v1/jobs/:id`), never the URL: ids, query strings and typos stay out of the labels.
        route: request.routeOptions.url ?? "unmatched",
        method: request.method,
        status: reply.raw.statusCode,
        seconds: reply.elapsedTime / 1000,
        cache: reply.getHeader("x-cache"),
      });
    });
  });
}
