import type { FastifyError, FastifyInstance, FastifyReply } from "fastify";
import { GatewayError } from "@llmgw/errors";
import { toHttpError } from "../services/http-errors.js";

/** Sends a GatewayError as the OpenAI error body with its status and headers. */
export function sendError(reply: FastifyReply, error: GatewayError) {
  return reply.code(error.status).headers(error.headers).send(error.toErrorBody());
}

/** The root handler: every answer that is not a success has the OpenAI error shape. */
export async function errorHandlerPlugin(app: FastifyInstance) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const httpError = toHttpError(error);
    if (httpError.status >= 500) {
      request.log.error({ err: { message: error.message, name: error.name, code: httpError.code } }, "request failed");
    }
    return sendError(reply, httpError);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new GatewayError("route_not_found", { message: `Unknown route: ${request.method} ${request.url.split("?")[0]}.` })),
  );
}
