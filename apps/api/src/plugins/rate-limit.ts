import type { FastifyReply, FastifyRequest } from "fastify";
import { GatewayError } from "@llmgw/errors";
import { rateLimitHeaders, type RateLimiter } from "../services/rate-limiter.js";

/**
 * Checks and consumes one request of the caller's minute and hour windows (after
 * authentication). A Redis error rejects, and the error handler answers 503: an outage never
 * lets traffic through unlimited.
 */
export function rateLimitHook(limiter: RateLimiter) {
  return async function rateLimit(request: FastifyRequest, reply: FastifyReply) {
    const { principal } = request;
    const decision = await limiter.check(principal.keyId, {
      perMinute: principal.rateLimitPerMinute,
      perHour: principal.rateLimitPerHour,
    });
    const headers = rateLimitHeaders(decision);
    if (decision.allowed) {
      reply.headers(headers);
      return;
    }
    throw new GatewayError("rate_limit_exceeded", {
      message: `Rate limit reached: ${decision.limit} requests per ${decision.window} for this API key. Try again in ${decision.retryAfterSeconds ?? 1} s.`,
      headers,
    });
  };
}
