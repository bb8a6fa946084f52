import { readFileSync } from "node:fs";
import { luaScript, type Redis } from "@llmgw/redis";

/** Requests a key may make per rolling window. */
export interface RateLimits {
  perMinute: number;
  perHour: number;
}

export type RateLimitWindow = "minute" | "hour";

/** The outcome of one check; `limit` and `remaining` describe the binding window. */
export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Milliseconds until a slot frees in the binding window (when refused: until a retry can succeed). */
  resetMs: number;
  /** Whole seconds, at least 1; only when refused. */
  retryAfterSeconds?: number;
  window: RateLimitWindow;
}

export interface RateLimiter {
  /** Checks both windows and, only if both have room, consumes one request in each. Redis errors reject. */
  check(keyId: string, limits: RateLimits): Promise<RateLimitDecision>;
  /** The same decision without consuming anything: for the headers of answers that do not count. */
  peek(keyId: string, limits: RateLimits): Promise<RateLimitDecision>;
}

export interface RateLimiterOptions {
  redis: Redis;
  /** `QUEUE_PREFIX`: every key lives under `${prefix}:ratelimit:`. */
  prefix: string;
  /** Window lengths; only tests shorten them. */
  windows?: { minuteMs: number; hourMs: number };
  /** A separate set of counters beside the requests' (the read limit's "reads"); unset = the requests'. */
  bucket?: string;
}

// Both src/services and dist/services sit two levels below apps/api, where lua/ lives.
const rateLimitScript = luaScript(readFileSync(new URL("../../lua/rate-limit.lua", import.meta.url), "utf8"));

type RateLimitReply = [allowed: number, minuteCount: number, minuteWaitMs: number, hourCount: number, hourWaitMs: number];


interface WindowState {
  window: RateLimitWindow;
  limit: number;
  count: number;
  waitMs: number;
}

/** Creates the per-key minute + hour sliding-log limiter backed by one atomic Lua script. */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { prefix } = options;
  const minuteMs = options.windows?.minuteMs ?? 60_000;
  const hourMs = options.windows?.hourMs ?? 3_600_000;
  const { redis } = options;

  async function decideFor(keyId: string, limits: RateLimits, consume: boolean): Promise<RateLimitDecision> {
    assertLimit(limits.perMinute, "perMinute");
    assertLimit(limits.perHour, "perHour");
    // The {hash tag} keeps both keys in one slot, as a script touching two keys needs on Redis Cluster.
    const base = `${prefix}:ratelimit${options.bucket ? `:${options.bucket}` : ""}:{${keyId}}`;
    const [allowed, minuteCount, minuteWaitMs, hourCount, hourWaitMs] = (await rateLimitScript.run(redis, 2, [
      `${base}:log`,
      `${base}:seq`,
      limits.perMinute,
      minuteMs,
      limits.perHour,
      hourMs,
      consume ? 1 : 0,
    ])) as RateLimitReply;
    return decide(allowed === 1, [
      { window: "minute", limit: limits.perMinute, count: minuteCount, waitMs: minuteWaitMs },
      { window: "hour", limit: limits.perHour, count: hourCount, waitMs: hourWaitMs },
    ]);
  }

  return {
    check: (keyId, limits) => decideFor(keyId, limits, true),
    peek: (keyId, limits) => decideFor(keyId, limits, false),
  };
}

function assertLimit(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`rate limit ${name} must be an integer >= 0, got ${value}`);
}

const remainingIn = (state: WindowState) => Math.max(0, state.limit - state.count);

/** Admitted: the window with fewer remaining binds. Refused: the full window that frees last binds. */
function decide(allowed: boolean, windows: WindowState[]): RateLimitDecision {
  const candidates = allowed ? windows : windows.filter((state) => state.count >= state.limit);
  const binding = candidates.reduce((best, state) => {
    const byRemaining = remainingIn(state) - remainingIn(best);
    if (byRemaining !== 0) return byRemaining < 0 ? state : best;
    return state.waitMs > best.waitMs ? state : best;
  });
  const decision: RateLimitDecision = {
    allowed,
    limit: binding.limit,
    remaining: remainingIn(binding),
    resetMs: binding.waitMs,
    window: binding.window,
  };
  if (!allowed) decision.retryAfterSeconds = Math.max(1, Math.ceil(binding.waitMs / 1000));
  return decision;
}

/** The `x-ratelimit-*-requests` (or `-reads`) headers of a decision, plus `retry-after` when it refused. */
export function rateLimitHeaders(decision: RateLimitDecision, family: "requests" | "reads" = "requests"): Record<string, string> {
  const headers: Record<string, string> = {
    [`x-ratelimit-limit-${family}`]: String(decision.limit),
    [`x-ratelimit-remaining-${family}`]: String(decision.remaining),
    [`x-ratelimit-reset-${family}`]: formatResetDuration(decision.resetMs),
  };
  if (decision.retryAfterSeconds !== undefined) headers["retry-after"] = String(decision.retryAfterSeconds);
  return headers;
}

/** A duration as OpenAI writes `x-ratelimit-reset-*` (Go style): "20ms", "1s", "1.5s", "6m0s", "1h2m3s". */
export function formatResetDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  if (total === 0) return "0s";
  if (total < 1000) return `${total}ms`;
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const seconds = (total % 60_000) / 1000;
  const secondsText = `${Number(seconds.toFixed(3))}s`;
  if (hours > 0) return `${hours}h${minutes}m${secondsText}`;
  if (minutes > 0) return `${minutes}m${secondsText}`;
  return secondsText;
}
