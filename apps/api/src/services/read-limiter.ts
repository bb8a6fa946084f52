import { GatewayError } from "@llmgw/errors";
import type { Redis } from "@llmgw/redis";
import { createRateLimiter, rateLimitHeaders, type RateLimitDecision } from "./rate-limiter.js";

/**
 * Reads (job reads and lists, event streams, WebSocket subscribe/unsubscribe/cancel) count against
 * a generous per-key limit of their own, so polling cannot starve a key's completions and a
 * flood of reads is still bounded. Same atomic sliding log as the request limits, one window.
 */
export interface ReadLimiter {
  /** Consumes one read, or refuses when the minute is full; Redis errors reject (503). */
  consume(keyId: string): Promise<RateLimitDecision>;
}

export interface ReadLimiterOptions {
  redis: Redis;
  prefix: string;
  perMinute: number;
  /** Only tests shorten it. */
  windowMs?: number;
}

export function createReadLimiter(options: ReadLimiterOptions): ReadLimiter {
  const windowMs = options.windowMs ?? 60_000;
  // Both windows of the script set to the minute: the log then holds at most `perMinute` entries.
  const limiter = createRateLimiter({ redis: options.redis, prefix: options.prefix, bucket: "reads", windows: { minuteMs: windowMs, hourMs: windowMs } });
  const limits = { perMinute: options.perMinute, perHour: options.perMinute };
  return { consume: (keyId) => limiter.check(keyId, limits) };
}

/** The 429 of a refused read. */
export function readLimitError(decision: RateLimitDecision): GatewayError {
  return new GatewayError("rate_limit_exceeded", {
    message: `Read rate limit reached: ${decision.limit} reads per minute for this API key (job reads and lists, event streams, WebSocket subscribe, unsubscribe and cancel; READ_RATE_LIMIT_PER_MINUTE). Try again in ${decision.retryAfterSeconds ?? 1} s.`,
    headers: rateLimitHeaders(decision, "reads"),
  });
}
