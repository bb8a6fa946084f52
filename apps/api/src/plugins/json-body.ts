import type { FastifyInstance } from "fastify";
import { GatewayError } from "@llmgw/errors";

export const MAX_JSON_DEPTH = 64;

/** True when `value` nests objects/arrays deeper than `limit`; iterative, so it cannot overflow itself. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== "object") continue;
    if (depth > limit) return true;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * JSON bodies through Fastify's own safe parser (`__proto__` / `constructor.prototype` refused),
 * then a nesting bound: V8 parses any depth, but the recursive work after it (validation,
 * canonical cache keys, serialising) would overflow the stack and answer 500. JSON is the only
 * body the API reads: Fastify's default text/plain parser goes, so anything else answers 415.
 */
export function jsonBodyParser(app: FastifyInstance) {
  const parse = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser(["application/json", "text/plain"]);
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    parse(request, body as string, (error: Error | null, value?: unknown) => {
      if (error) return done(error);
      if (nestsDeeperThan(value, MAX_JSON_DEPTH)) {
        return done(new GatewayError("invalid_request", { message: `The request body nests deeper than ${MAX_JSON_DEPTH} levels.` }));
      }
      done(null, value);
    });
  });
}
