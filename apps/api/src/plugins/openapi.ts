import type { FastifyInstance } from "fastify";
import type { FastifySchema } from "fastify/types/schema.js";
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
    /**
     * Success answers for the document only. Fastify serializes with `response` and would drop
     * fields it does not list; these never reach it, so a chat completion or a job passes through
     * with every field it has.
     */
    successResponses?: Readonly<Record<number, unknown>>;
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
          consoleSession: {
            type: "apiKey",
            in: "cookie",
            name: "llmgw_console",
            description: "The web console's session (POST /console/api/session); changes also need the header x-console-csrf: 1",
          },
        },
      },
      security: [{ bearerAuth: [] }, { apiKeyHeader: [] }],
    },
    transform: ({ schema, url }) => ({ schema: withSuccessResponses(schema), url }),
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
}

/** The schema the document is built from: the route's declared answers plus its document-only successes. */
function withSuccessResponses(schema: FastifySchema | undefined): FastifySchema {
  if (!schema?.successResponses) return schema as FastifySchema;
  const { successResponses, ...rest } = schema;
  return { ...rest, response: { ...successResponses, ...(rest.response as object | undefined) } };
}
