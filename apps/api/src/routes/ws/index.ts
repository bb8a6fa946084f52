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
  app.route({
    method: "GET",
    url: "/ws",
    schema: {
      tags: ["jobs"],
      summary: "Jobs over WebSocket",
      description:
        'JSON text frames. Authenticate with the usual headers or a first frame {"type":"auth","api_key":"…"} within 5 s. ' +
        'Client frames: create {request, client_ref?, webhook?, metadata?}, subscribe {job_id, after?}, unsubscribe {job_id}, cancel {job_id}. ' +
        "Server frames: job.created, job events {type, job_id, event_id, data}, ack {action}, error {error, job_id?, client_ref?}. " +
        "A plain GET without an upgrade answers 426.",
    },
    preHandler: async (request: FastifyRequest) => {
      const apiKey = presentedApiKey(request.headers);
      if (apiKey === undefined) return;
      const principal = await context.authenticator.authenticate(apiKey);
      if (!principal) throw new GatewayError("invalid_api_key");
      request.principal = principal;
    },
    // `wsHandler` with a plain handler beside it (rather than `websocket: true`) keeps the route in the OpenAPI document.
    wsHandler: (socket, request) => {
      const principal = request.principal ?? null;
      context.wsHub.accept(socket, { principal, apiKey: principal ? (presentedApiKey(request.headers) ?? null) : null }, request.id);
    },
    handler: async (_request, reply) => {
      reply.header("upgrade", "websocket");
      throw new GatewayError("invalid_request", { status: 426, message: "This route speaks WebSocket: connect with a WebSocket client (Upgrade: websocket)." });
    },
  });
}
