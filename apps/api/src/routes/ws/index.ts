import type { FastifyInstance, FastifyRequest } from "fastify";
import { GatewayError } from "@llmgw/errors";
import type { ApiContext } from "../../context.js";
import { presentedApiKey } from "../../plugins/client-auth.js";

/**
 * `GET /ws`: job events over WebSocket (CONTRACT section 6). Registered outside the client-auth
 * scope because browsers cannot set headers on a WebSocket: a key in the headers is checked
 * before the upgrade (401 when wrong), and without one the first frame must authenticate.
 */
export async function webSocketRoutes(app: FastifyInstance, context: ApiContext) {
  app.get(
    "/ws",
    {
      websocket: true,
      preHandler: async (request: FastifyRequest) => {
        const apiKey = presentedApiKey(request.headers);
        if (apiKey === undefined) return;
        const principal = await context.authenticator.authenticate(apiKey);
        if (!principal) throw new GatewayError("invalid_api_key");
        request.principal = principal;
      },
    },
    (socket, request) => {
      const principal = request.principal ?? null;
      context.wsHub.accept(socket, { principal, apiKey: principal ? (presentedApiKey(request.headers) ?? null) : null }, request.id);
    },
  );
}
