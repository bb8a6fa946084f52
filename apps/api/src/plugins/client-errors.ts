import { STATUS_CODES, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { FastifyInstance } from "fastify";
import { GatewayError } from "@llmgw/errors";

/** The Node error of a connection that never became a request Fastify could route. */
function toClientError(error: NodeJS.ErrnoException): GatewayError {
  switch (error.code) {
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return new GatewayError("request_timeout");
    case "HPE_HEADER_OVERFLOW":
      return new GatewayError("headers_too_large");
    default:
      return new GatewayError("invalid_request", { message: "The request is not valid HTTP." });
  }
}

/**
 * Fastify's `clientErrorHandler`: what Node could not turn into a request (headers or body too slow
 * for HEADERS_TIMEOUT_MS / REQUEST_TIMEOUT_MS, headers too large, broken HTTP) still gets the OpenAI
 * error shape, then the connection closes.
 */
export function answerClientError(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Socket) {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const refusal = toClientError(error);
  this.log.debug({ code: error.code, status: refusal.status }, "client connection refused");
  // An answer already under way on this socket (a 401 sent before the body came) gets no second one.
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(refusal.toErrorBody());
  const head = [
    `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}`,
    "content-type: application/json; charset=utf-8",
    `content-length: ${Buffer.byteLength(body)}`,
    "connection: close",
  ];
  socket.end(`${head.join("\r\n")}\r\n\r\n${body}`, () => socket.destroy());
}
