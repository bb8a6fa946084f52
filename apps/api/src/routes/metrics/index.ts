import type { FastifyInstance } from "fastify";
import { GatewayError } from "@llmgw/errors";
import { bearerToken, secretMatcher } from "../../plugins/admin-auth.js";
import type { ApiMetrics } from "../../services/metrics.js";

export interface MetricsRouteOptions {
  metrics: ApiMetrics;
  /** METRICS_TOKEN: when set, a scrape needs `Authorization: Bearer METRICS_TOKEN`. */
  token: string | undefined;
}

/**
 * GET /metrics: Prometheus text format. Open without METRICS_TOKEN, like most scrape targets (keep
 * it off the public network then); with it, a scrape without the bearer token answers 401 before
 * anything is collected.
 */
export async function metricsRoutes(app: FastifyInstance, options: MetricsRouteOptions) {
  const { metrics, token } = options;
  const matches = token ? secretMatcher(token) : null;
  app.get(
    "/metrics",
    {
      schema: {
        tags: ["operations"],
        summary: "Prometheus metrics",
        description:
          "Prometheus text exposition: HTTP, cache, rate limits, queue depths, sync waits, WebSocket connections, tokens. Needs `Authorization: Bearer METRICS_TOKEN` when METRICS_TOKEN is set.",
        security: [],
      },
      onRequest: async (request) => {
        if (matches && !matches(bearerToken(request.headers.authorization))) throw new GatewayError("invalid_metrics_token");
      },
    },
    async (_request, reply) => {
      const text = await metrics.scrape();
      return reply.type(metrics.contentType).send(text);
    },
  );
}
