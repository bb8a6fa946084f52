import type { FastifyInstance, FastifyRequest } from "fastify";
import { GatewayError } from "@llmgw/errors";
import type { ClientAuthenticator, Principal } from "../services/client-auth.js";

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

/** Authenticates every route of the scope it is registered in; sets `request.principal`. */
export function clientAuthHook(authenticator: ClientAuthenticator) {
  return async function authenticate(request: FastifyRequest) {
    const apiKey = presentedApiKey(request.headers);
    const principal = apiKey ? await authenticator.authenticate(apiKey) : null;
    if (!principal) throw new GatewayError("invalid_api_key");
    request.principal = principal;
  };
}

export function decorateClientAuth(app: FastifyInstance) {
  app.decorateRequest("principal", null as unknown as Principal);
}
