import type { FastifyInstance } from "fastify";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";

// @fastify/swagger's own augmentation of FastifySchema does not reach NodeNext ESM resolution.
declare module "fastify/types/schema.js" {
  interface FastifySchema {
    tags?: readonly string[];
    summary?: string;
    description?: string;
    hide?: boolean;
    security?: ReadonlyArray<Record<string, readonly string[]>>;
  }
}

/**
 * The OpenAPI document is generated from the same route schemas the API validates with,
 * so it cannot drift from the code. Swagger UI at /docs, the document at /docs/json.
 */
export async function openApiPlugin(app: FastifyInstance) {
  await app.register(swagger, {
    openapi: {
      info: {
        title: "llm-gateway",
        description: "OpenAI-compatible LLM gateway with a job queue in the middle.",
        version: "0.1.0",
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: "http", scheme: "bearer", description: "Client API key (or ADMIN_TOKEN on admin routes)" },
          apiKeyHeader: { type: "apiKey", in: "header", name: "X-API-Key" },
        },
      },
      security: [{ bearerAuth: [] }, { apiKeyHeader: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
}
