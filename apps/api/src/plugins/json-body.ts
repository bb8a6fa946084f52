import type { FastifyInstance } from "fastify";
import { GatewayError } from "@llmgw/errors";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "../services/json-depth.js";

/**
 * JSON bodies through Fastify's own safe parser (`__proto__` / `constructor.prototype` refused),
 * then a nesting bound: V8 parses any depth, but the recursive work after it (validation,
 * canonical cache keys, serialising) would overflow the stack and answer 500. JSON is the only
 * body the API reads: Fastify's default text/plain parser goes, so anything else answers 415.
 *
 * Many HTTP clients send `Content-Type: application/json` on every request, bodiless ones included
 * (DELETE /api-keys/1, POST /jobs/:id/cancel): an empty body is no body for a route that declares
 * none. A route that declares a body still answers 400 for an empty one, saying it is empty.
 */
export function jsonBodyParser(app: FastifyInstance) {
  const parse = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser(["application/json", "text/plain"]);
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    if (body === "" && request.routeOptions.schema?.body === undefined) return done(null, undefined);
    parse(request, body as string, (error: Error | null, value?: unknown) => {
      if (error) return done(error);
      if (nestsDeeperThan(body as string, MAX_JSON_DEPTH)) {
        return done(new GatewayError("invalid_request", { message: `The request body nests deeper than ${MAX_JSON_DEPTH} levels.` }));
      }
      done(null, value);
    });
  });
}
