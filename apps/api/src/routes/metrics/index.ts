import type { FastifyInstance } from "fastify";
import type { ApiMetrics } from "../../services/metrics.js";

/** GET /metrics: Prometheus text format. Unauthenticated, like every scrape target: keep it off the public network. */
export async function metricsRoutes(app: FastifyInstance, metrics: ApiMetrics) {
  app.get(
    "/metrics",
    {
      schema: {
        tags: ["operations"],
        summary: "Prometheus metrics",
        description: "Prometheus text exposition: HTTP, cache, rate limits, queue depths, sync waits, WebSocket connections, tokens.",
        security: [],
      },
    },
    async (_request, reply) => {
      const text = await metrics.scrape();
      return reply.type(metrics.contentType).send(text);
    },
  );
}
