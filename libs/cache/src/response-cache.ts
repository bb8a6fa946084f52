import { jsonTextOf, keepAnswerJson, type ChatCompletion } from "@llmgw/providers";
import type { Redis } from "@llmgw/redis";

export type CacheOperation = "get" | "set";

export interface ResponseCacheOptions {
  /** The cache connection (`CACHE_REDIS_URL`); may be an LRU-evicting instance. */
  redis: Redis;
  /** `QUEUE_PREFIX`: entries live at `${prefix}:cache:${key}`. */
  prefix: string;
  ttlSeconds: number;
  /** Called for each swallowed Redis or decoding error, so the caller can count them. */
  onError?: (error: unknown, operation: CacheOperation) => void;
}

export interface ResponseCache {
  /** The cached completion, or null on a miss. Never rejects: a cache outage is a miss. */
  get(key: string): Promise<ChatCompletion | null>;
  /** Stores what it is given for `ttlSeconds`; resolves false (never rejects) when Redis failed. */
  set(key: string, completion: ChatCompletion): Promise<boolean>;
}

/** Exact-match response cache over Redis `GET` / `SET … EX`; failures degrade to misses and report via `onError`. */
export function createResponseCache(options: ResponseCacheOptions): ResponseCache {
  const { redis, prefix, ttlSeconds } = options;
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1) throw new RangeError(`cache ttlSeconds must be an integer >= 1, got ${ttlSeconds}`);
  const report = (error: unknown, operation: CacheOperation) => options.onError?.(error, operation);
  const entryKey = (key: string) => `${prefix}:cache:${key}`;

  return {
    async get(key) {
      try {
        const stored = await redis.get(entryKey(key));
        // The answer keeps the text it was stored as, to be sent as it is (jsonTextOf).
        return stored === null ? null : keepAnswerJson(JSON.parse(stored) as ChatCompletion, stored);
      } catch (error) {
        report(error, "get");
        return null;
      }
    },
    async set(key, completion) {
      try {
        await redis.set(entryKey(key), jsonTextOf(completion), "EX", ttlSeconds);
        return true;
      } catch (error) {
        report(error, "set");
        return false;
      }
    },
  };
}
