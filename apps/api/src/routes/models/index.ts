import type { FastifyInstance } from "fastify";
import type { ApiContext } from "../../context.js";
import { clientErrors, requestLimitHeaders } from "../../schemas/error-responses.js";

/** GET /models: the models of the configured providers, in OpenAI's list shape. */
export async function modelRoutes(app: FastifyInstance, context: ApiContext) {
  const schema = {
    tags: ["models"],
    summary: "List models",
    successResponses: { 200: { description: "OpenAI's list of models", type: "object", headers: requestLimitHeaders } },
    response: clientErrors,
  };
  app.get("/models", { schema }, async () => ({
    object: "list",
    data: context.providers.listModels(),
  }));
}
