import type { FastifyInstance, FastifyRequest } from "fastify";
import { GatewayError } from "@llmgw/errors";
import type { ApiContext } from "../../context.js";
import { presentedApiKey } from "../../plugins/client-auth.js";
import { checkClientAddress } from "../../services/client-auth.js";
import type { ConnectionLease } from "../../services/connection-limiter.js";
import { clientErrors, errorResponse, socketCapError } from "../../schemas/error-responses.js";

/**
 * `GET /ws`: job events over WebSocket (CONTRACT section 6). Registered outside the client-auth
 * scope because browsers cannot set headers on a WebSocket: a key in the headers is checked
 * before the upgrade (401 when wrong), and without one the first frame must authenticate.
 */
export async function webSocketRoutes(app: FastifyInstance, context: ApiContext) {
  /** The slot of MAX_WEBSOCKETS_PER_KEY taken before the upgrade, handed to the hub with the socket. */
  const leases = new WeakMap<FastifyRequest, ConnectionLease>();
  app.route({
    method: "GET",
    url: "/ws",
    schema: {
      tags: ["jobs"],
      summary: "Jobs over WebSocket",
      description:
        'JSON text frames. Authenticate with the usual headers or a first frame {"type":"auth","api_key":"…"} within 5 s ' +
        "(any other first frame closes the connection with 4401). At most MAX_WEBSOCKETS_PER_KEY connections per key: 429 before the upgrade, or 4429 after an auth frame. " +
        'Client frames: create {request, client_ref?, webhook?, metadata?}, subscribe {job_id, after?}, unsubscribe {job_id}, cancel {job_id}. ' +
        "Server frames: job.created, job events {type, job_id, event_id, data}, ack {action}, error {error, job_id?, client_ref?}. " +
        "A plain GET without an upgrade answers 426.",
      successResponses: { 101: { description: "Switching Protocols: the WebSocket is open", type: "null" } },
      response: {
        401: errorResponse("invalid_api_key: the key in the headers is wrong, expired or revoked"),
        426: errorResponse("invalid_request: a plain GET, without Upgrade: websocket"),
        429: socketCapError,
        503: clientErrors[503],
      },
    },
    preHandler: async (request: FastifyRequest) => {
      const apiKey = presentedApiKey(request.headers);
      if (apiKey === undefined) return;
      const principal = await context.authenticator.authenticate(apiKey);
      if (!principal) throw new GatewayError("invalid_api_key");
      checkClientAddress(principal, request.ip);
      request.principal = principal;
      // Over the key's cap: 429 before the upgrade. (A socket authenticated by frame takes its slot in the hub.)
      const lease = await context.connectionLimiter.acquire(principal.keyId, "sockets");
      leases.set(request, lease);
      // Released by the hub on close; this covers an upgrade that never completes (released twice is harmless).
      request.raw.socket?.once("close", () => lease.release());
    },
    // `wsHandler` with a plain handler beside it (rather than `websocket: true`) keeps the route in the OpenAPI document.
    wsHandler: (socket, request) => {
      const principal = request.principal ?? null;
      const lease = leases.get(request);
      context.wsHub.accept(
        socket,
        { principal, apiKey: principal ? (presentedApiKey(request.headers) ?? null) : null, lease, clientAddress: request.ip },
        request.id,
      );
    },
    handler: async (_request, reply) => {
      reply.header("upgrade", "websocket");
      throw new GatewayError("invalid_request", { status: 426, message: "This route speaks WebSocket: connect with a WebSocket client (Upgrade: websocket)." });
    },
  });
}
