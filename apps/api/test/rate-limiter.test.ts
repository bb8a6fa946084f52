import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it, vi } from "vitest";
import { createRedisConnection } from "@llmgw/redis";
import { freePort } from "@llmgw/testing";
import {
  createRateLimiter,
  formatResetDuration,
  rateLimitHeaders,
  type RateLimitDecision,
  type RateLimiter,
} from "../src/services/rate-limiter.js";

const redisUrl = inject("redisUrl");
const prefix = `test-${randomUUID()}`;
// Two connections, each with its own limiter: two API instances racing on the same key.
const first = new Redis(redisUrl);
const second = new Redis(redisUrl);
const limiterA = createRateLimiter({ redis: first, prefix });
const limiterB = createRateLimiter({ redis: second, prefix });

afterAll(() => {
  first.disconnect();
  second.disconnect();
});

const newKey = () => `key_${randomUUID()}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `count` checks started at once, alternating between the two limiters. */
function burst(keyId: string, count: number, limits: { perMinute: number; perHour: number }) {
  return Promise.all(
    Array.from({ length: count }, (_, index) => (index % 2 === 0 ? limiterA : limiterB).check(keyId, limits)),
  );
}

async function sequence(limiter: RateLimiter, keyId: string, count: number, limits: { perMinute: number; perHour: number }) {
  const decisions: RateLimitDecision[] = [];
  for (let index = 0; index < count; index += 1) decisions.push(await limiter.check(keyId, limits));
  return decisions.map((decision) => decision.allowed);
}

describe("rate limiter", () => {
  it("admits exactly the minute limit from a concurrent burst on two connections", async () => {
    const decisions = await burst(newKey(), 40, { perMinute: 12, perHour: 1000 });
    const allowed = decisions.filter((decision) => decision.allowed);
    const refused = decisions.filter((decision) => !decision.allowed);
    expect(allowed).toHaveLength(12);
    expect(allowed.map((decision) => decision.remaining).sort((a, b) => a - b)).toEqual([...Array(12).keys()]);
    expect(new Set(refused.map((decision) => `${decision.window}/${decision.limit}/${decision.remaining}`))).toEqual(
      new Set(["minute/12/0"]),
    );
  });

  it("admits exactly the hour limit from a concurrent burst on two connections", async () => {
    const decisions = await burst(newKey(), 40, { perMinute: 1000, perHour: 12 });
    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(12);
    const refused = decisions.filter((decision) => !decision.allowed);
    expect(refused).toHaveLength(28);
    for (const decision of refused) {
      expect(decision).toMatchObject({ allowed: false, limit: 12, remaining: 0, window: "hour" });
      expect(decision.resetMs).toBeGreaterThan(3_590_000);
      expect(decision.retryAfterSeconds).toBe(Math.ceil(decision.resetMs / 1000));
    }
  });

  it("describes the first admission of a fresh key", async () => {
    const decision = await limiterA.check(newKey(), { perMinute: 5, perHour: 100 });
    expect(decision).toEqual({ allowed: true, limit: 5, remaining: 4, resetMs: decision.resetMs, window: "minute" });
    expect(decision.resetMs).toBeGreaterThan(59_000);
    expect(decision.resetMs).toBeLessThanOrEqual(60_000);
  });

  it("consumes nothing when it refuses", async () => {
    const keyId = newKey();
    expect(await sequence(limiterA, keyId, 8, { perMinute: 3, perHour: 100 })).toEqual([
      true, true, true, false, false, false, false, false,
    ]);
    // Five refusals later, one more slot means exactly one more admission.
    expect(await sequence(limiterB, keyId, 3, { perMinute: 4, perHour: 100 })).toEqual([true, false, false]);
  });

  it("does not consume the hour window when the minute window refuses", async () => {
    const keyId = newKey();
    expect(await sequence(limiterA, keyId, 6, { perMinute: 2, perHour: 5 })).toEqual([true, true, false, false, false, false]);
    // 2 of the 5 hourly requests are used; the 4 refusals used none.
    expect(await sequence(limiterA, keyId, 5, { perMinute: 100, perHour: 5 })).toEqual([true, true, true, false, false]);
  });

  it("rolls both windows, freeing slots when the reported reset has passed", async () => {
    const limiter = createRateLimiter({ redis: first, prefix, windows: { minuteMs: 300, hourMs: 1500 } });
    const keyId = newKey();
    const limits = { perMinute: 2, perHour: 3 };
    expect(await sequence(limiter, keyId, 2, limits)).toEqual([true, true]);
    const refused = await limiter.check(keyId, limits);
    expect(refused).toMatchObject({ allowed: false, limit: 2, remaining: 0, window: "minute", retryAfterSeconds: 1 });
    expect(refused.resetMs).toBeGreaterThan(0);
    expect(refused.resetMs).toBeLessThanOrEqual(300);

    await sleep(refused.resetMs + 1);
    const third = await limiter.check(keyId, limits);
    expect(third).toMatchObject({ allowed: true, limit: 3, remaining: 0, window: "hour" });

    const hourRefusal = await limiter.check(keyId, limits);
    expect(hourRefusal).toMatchObject({ allowed: false, limit: 3, remaining: 0, window: "hour" });
    expect(hourRefusal.resetMs).toBeGreaterThan(300);
    expect(hourRefusal.resetMs).toBeLessThanOrEqual(1500);

    await sleep(hourRefusal.resetMs + 1);
    expect((await limiter.check(keyId, limits)).allowed).toBe(true);
  });

  it("reports, when refused, how long until the request can succeed", async () => {
    const limiter = createRateLimiter({ redis: first, prefix, windows: { minuteMs: 400, hourMs: 5000 } });
    const keyId = newKey();
    expect(await sequence(limiter, keyId, 2, { perMinute: 2, perHour: 100 })).toEqual([true, true]);
    const refused = await limiter.check(keyId, { perMinute: 2, perHour: 100 });
    await sleep(Math.max(0, refused.resetMs - 60));
    expect((await limiter.check(keyId, { perMinute: 2, perHour: 100 })).allowed).toBe(false);
  });

  it("waits for enough requests to leave when the limit was lowered below the count", async () => {
    const limiter = createRateLimiter({ redis: first, prefix, windows: { minuteMs: 1000, hourMs: 5000 } });
    const keyId = newKey();
    const limits = { perMinute: 4, perHour: 100 };
    expect(await sequence(limiter, keyId, 2, limits)).toEqual([true, true]);
    await sleep(150); // spaces the admission times apart; nothing is synchronised on it
    expect(await sequence(limiter, keyId, 2, limits)).toEqual([true, true]);
    // 4 in the window, limit now 2: the two older ones and one newer one must leave first.
    const refused = await limiter.check(keyId, { perMinute: 2, perHour: 100 });
    expect(refused).toMatchObject({ allowed: false, limit: 2, remaining: 0, window: "minute" });
    expect(refused.resetMs).toBeGreaterThan(1000 - 100);
  });

  it("uses the Redis clock, not the client's", async () => {
    const keyId = newKey();
    await limiterA.check(keyId, { perMinute: 2, perHour: 100 });
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(new Date("2001-01-01T00:00:00Z"));
      expect(await limiterB.check(keyId, { perMinute: 2, perHour: 100 })).toMatchObject({ allowed: true, remaining: 0 });
      vi.setSystemTime(new Date("2101-01-01T00:00:00Z"));
      expect(await limiterA.check(keyId, { perMinute: 2, perHour: 100 })).toMatchObject({ allowed: false });
    } finally {
      vi.useRealTimers();
    }
  });

  it("lets its keys expire after the longer window", async () => {
    const keyId = newKey();
    await limiterA.check(keyId, { perMinute: 2, perHour: 100 });
    const keys = (await first.keys(`${prefix}:ratelimit:{${keyId}}:*`)).sort();
    expect(keys).toEqual([`${prefix}:ratelimit:{${keyId}}:log`, `${prefix}:ratelimit:{${keyId}}:seq`]);
    for (const key of keys) {
      const ttl = await first.pttl(key);
      expect(ttl).toBeGreaterThan(3_590_000);
      expect(ttl).toBeLessThanOrEqual(3_600_000);
    }
  });

  it("rejects when Redis is unreachable instead of letting traffic through", async () => {
    const dead = createRedisConnection(`redis://127.0.0.1:${await freePort()}`, "command");
    try {
      const limiter = createRateLimiter({ redis: dead, prefix });
      await expect(limiter.check(newKey(), { perMinute: 5, perHour: 5 })).rejects.toThrow();
    } finally {
      dead.disconnect();
    }
  });

  it("rejects limits that are not integers >= 0", async () => {
    await expect(limiterA.check(newKey(), { perMinute: 1.5, perHour: 5 })).rejects.toThrow(RangeError);
    await expect(limiterA.check(newKey(), { perMinute: 5, perHour: -1 })).rejects.toThrow(RangeError);
  });
});

describe("peeking at the limits", () => {
  it("reports where a key stands without consuming anything", async () => {
    const keyId = newKey();
    const limits = { perMinute: 3, perHour: 100 };
    await limiterA.check(keyId, limits);
    const peeks = await Promise.all(Array.from({ length: 10 }, () => limiterB.peek(keyId, limits)));
    for (const peek of peeks) expect(peek).toMatchObject({ allowed: true, window: "minute", limit: 3, remaining: 2 });
    expect(await sequence(limiterA, keyId, 3, limits)).toEqual([true, true, false]);
    expect(await limiterB.peek(keyId, limits)).toMatchObject({ allowed: false, remaining: 0 });
  });
});

describe("rate limit headers", () => {
  it("formats reset durations as OpenAI does", () => {
    expect(
      [0, 20, 999, 1000, 1500, 8640, 59_999, 60_000, 360_000, 361_250, 3_600_000, 3_723_000].map(formatResetDuration),
    ).toEqual(["0s", "20ms", "999ms", "1s", "1.5s", "8.64s", "59.999s", "1m0s", "6m0s", "6m1.25s", "1h0m0s", "1h2m3s"]);
  });

  it("gives limit, remaining and reset for an admission", () => {
    expect(rateLimitHeaders({ allowed: true, limit: 60, remaining: 59, resetMs: 60_000, window: "minute" })).toEqual({
      "x-ratelimit-limit-requests": "60",
      "x-ratelimit-remaining-requests": "59",
      "x-ratelimit-reset-requests": "1m0s",
    });
  });

  it("adds retry-after in whole seconds for a refusal", () => {
    expect(
      rateLimitHeaders({ allowed: false, limit: 1000, remaining: 0, resetMs: 20, retryAfterSeconds: 1, window: "hour" }),
    ).toEqual({
      "x-ratelimit-limit-requests": "1000",
      "x-ratelimit-remaining-requests": "0",
      "x-ratelimit-reset-requests": "20ms",
      "retry-after": "1",
    });
  });
});
