import type { FastifyInstance } from "fastify";
import type { ApiContext } from "../../context.js";

/** GET /models: the models of the configured providers, in OpenAI's list shape. */
export async function modelRoutes(app: FastifyInstance, context: ApiContext) {
  app.get("/models", { schema: { tags: ["models"], summary: "List models" } }, async () => ({
    object: "list",
    data: context.providers.listModels(),
  }));
}
