import type { FastifyReply, FastifyRequest } from "fastify";
import { GatewayError } from "@llmgw/errors";
import { rateLimitHeaders, type RateLimiter } from "../services/rate-limiter.js";
import { readLimitError, type ReadLimiter } from "../services/read-limiter.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * "consume": the route creates work and counts against the caller's request limits.
     * "read": the route reads (jobs, event streams) and counts against the caller's read limit.
     */
    rateLimit?: "consume" | "read";
    /**
     * Starts work the handler needs (a lookup) while the limits are checked, so that the two
     * round trips overlap; a refused request leaves it unused.
     */
    whileLimiting?: (request: FastifyRequest) => void;
  }
}

/**
 * After authentication: a route that creates work checks and consumes one request of the
 * caller's minute and hour windows, and is refused with 429 when either is full; any other
 * route only reports where the caller stands. A reading route also consumes one read of the
 * key's read limit (`x-ratelimit-*-reads`, 429 when full). Either way the answer carries the
 * `x-ratelimit-*` headers. A Redis error rejects and the error handler answers 503: an outage
 * never lets traffic through unlimited.
 */
export function rateLimitHook(limiter: RateLimiter, reads: ReadLimiter) {
  return async function rateLimit(request: FastifyRequest, reply: FastifyReply) {
    const { principal } = request;
    const limits = { perMinute: principal.rateLimitPerMinute, perHour: principal.rateLimitPerHour };
    const { config } = request.routeOptions;
    const consume = config.rateLimit === "consume";
    config.whileLimiting?.(request);
    // Sent together, so the two scripts share one round trip (auto-pipelining).
    const [decision, read] = await Promise.all([
      consume ? limiter.check(principal.keyId, limits) : limiter.peek(principal.keyId, limits),
      config.rateLimit === "read" ? reads.consume(principal.keyId) : null,
    ]);
    const headers = rateLimitHeaders(decision);
    if (read) {
      if (!read.allowed) {
        // The requests' standing as on any answer; the error adds the reads' headers and Retry-After.
        delete headers["retry-after"];
        reply.headers(headers);
        throw readLimitError(read);
      }
      reply.headers(rateLimitHeaders(read, "reads"));
    }
    if (decision.allowed || !consume) {
      delete headers["retry-after"];
      reply.headers(headers);
      return;
    }
    throw new GatewayError("rate_limit_exceeded", {
      message: `Rate limit reached: ${decision.limit} requests per ${decision.window} for this API key. Try again in ${decision.retryAfterSeconds ?? 1} s.`,
      headers,
    });
  };
}
