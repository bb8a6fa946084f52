import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { GatewayError } from "@llmgw/errors";
import { checkClientAddress, type ClientAuthenticator, type Principal } from "../services/client-auth.js";

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal;
  }
}

/** The client key from `Authorization: Bearer KEY` (OpenAI SDKs) or `X-API-Key: KEY`. */
export function presentedApiKey(headers: FastifyRequest["headers"]): string | undefined {
  const apiKey = headers["x-api-key"];
  if (typeof apiKey === "string" && apiKey.trim() !== "") return apiKey.trim();
  const authorization = headers.authorization;
  if (typeof authorization === "string") {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (match) return match[1].trim();
  }
  return undefined;
}

/**
 * The onRequest hook of every client route: it runs on the headers alone, before the body is read,
 * and sets `request.principal`. A caller without a valid key gets 401 at once; when its body is still
 * on the way the connection closes with the answer, so not a byte more of it is read (Node would
 * otherwise keep the socket to drain the body, however slowly it came).
 */
export function clientAuthHook(authenticator: ClientAuthenticator) {
  return async function authenticate(request: FastifyRequest, reply: FastifyReply) {
    const apiKey = presentedApiKey(request.headers);
    // A database outage (503) refuses the request as surely as a bad key: neither reads the body.
    const principal = apiKey ? await authenticator.authenticate(apiKey).catch((error: unknown) => refuse(request, reply, error)) : null;
    if (!principal) refuse(request, reply, new GatewayError("invalid_api_key"));
    try {
      checkClientAddress(principal, request.ip);
    } catch (error) {
      refuse(request, reply, error);
    }
    request.principal = principal;
  };
}

function refuse(request: FastifyRequest, reply: FastifyReply, error: unknown): never {
  if (!request.raw.complete) reply.header("connection", "close");
  throw error;
}

export function decorateClientAuth(app: FastifyInstance) {
  app.decorateRequest("principal", null as unknown as Principal);
}
