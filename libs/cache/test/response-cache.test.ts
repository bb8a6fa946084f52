import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createResponseCache, type CacheOperation } from "@llmgw/cache";
import type { ChatCompletion } from "@llmgw/providers";
import { createRedisConnection } from "@llmgw/redis";
import { freePort } from "@llmgw/testing";

const redisUrl = inject("redisUrl");
const prefix = `test-${randomUUID()}`;
const redis = new Redis(redisUrl);
const cache = createResponseCache({ redis, prefix, ttlSeconds: 120 });

afterAll(() => {
  redis.disconnect();
});

const completion: ChatCompletion = {
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1764201600,
  model: "deepseek-chat",
  choices: [{ index: 0, finish_reason: "stop", logprobs: null, message: { role: "assistant", content: "Hi", refusal: null } }],
  usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
};

describe("response cache", () => {
  it("misses, then returns exactly what was stored", async () => {
    const key = randomUUID().replaceAll("-", "");
    expect(await cache.get(key)).toBeNull();
    expect(await cache.set(key, completion)).toBe(true);
    expect(await cache.get(key)).toEqual(completion);
  });

  it("stores under prefix:cache:key with the TTL", async () => {
    const key = randomUUID().replaceAll("-", "");
    await cache.set(key, completion);
    expect(JSON.parse((await redis.get(`${prefix}:cache:${key}`)) ?? "null")).toEqual(completion);
    const ttl = await redis.ttl(`${prefix}:cache:${key}`);
    expect(ttl).toBeGreaterThanOrEqual(119);
    expect(ttl).toBeLessThanOrEqual(120);
  });

  it("turns a Redis outage into a miss and reports it", async () => {
    const errors: CacheOperation[] = [];
    const dead = createRedisConnection(`redis://127.0.0.1:${await freePort()}`, "command");
    try {
      const broken = createResponseCache({ redis: dead, prefix, ttlSeconds: 60, onError: (_error, operation) => errors.push(operation) });
      expect(await broken.get("abc")).toBeNull();
      expect(await broken.set("abc", completion)).toBe(false);
      expect(errors).toEqual(["get", "set"]);
    } finally {
      dead.disconnect();
    }
  });

  it("treats an unreadable entry as a miss and reports it", async () => {
    const errors: unknown[] = [];
    const reporting = createResponseCache({ redis, prefix, ttlSeconds: 60, onError: (error) => errors.push(error) });
    await redis.set(`${prefix}:cache:garbled`, "{not json", "EX", 60);
    expect(await reporting.get("garbled")).toBeNull();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(SyntaxError);
  });

  it("refuses a TTL that is not a positive integer", () => {
    expect(() => createResponseCache({ redis, prefix, ttlSeconds: 0 })).toThrow(RangeError);
  });
});
