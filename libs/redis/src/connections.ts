import { Redis, type RedisOptions } from "ioredis";

/**
 * What a connection is for decides how it behaves when Redis goes away:
 * - `command`: the API's own commands (limits, job store, cache). No offline queue and short
 *   timeouts, so an outage answers 503 within 2 s instead of hanging.
 * - `queue`: the API's BullMQ producer; fails fast like `command`, without auto-pipelining: an
 *   auto-pipelined batch copies every script defined on its connection, and BullMQ defines dozens.
 * - `worker`: BullMQ workers; BullMQ requires `maxRetriesPerRequest: null` and waits out outages.
 * - `writer`: the worker's own commands (job log, cache); waits out outages like BullMQ does.
 * - `subscriber`: pub/sub listeners; reconnect forever and resubscribe (ioredis does that itself).
 * `command` and `writer` auto-pipeline: commands issued in the same tick (many requests or jobs
 * at once) leave in one socket write, and a write is what a round trip costs most here. The
 * gateway's own scripts are EVALSHA calls (lua-script.ts), never defined on a connection, for that
 * copying's sake.
 * ioredis 6 speaks RESP3 (HELLO 3, RESP2 on a server without it) with its default "legacy" reply
 * shapes: replies look as on RESP2 (CONFIG GET a flat array, XREAD nested arrays, a Lua `false` null),
 * which our scripts and BullMQ's rely on, so `replyMapping` stays unset.
 */
export type RedisRole = "command" | "queue" | "worker" | "writer" | "subscriber";

const roleOptions: Record<RedisRole, RedisOptions> = {
  command: {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 1500,
    connectTimeout: 1500,
    enableAutoPipelining: true,
  },
  writer: { maxRetriesPerRequest: null, connectTimeout: 5000, enableAutoPipelining: true },
  queue: { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 1500, connectTimeout: 1500 },
  worker: { maxRetriesPerRequest: null, connectTimeout: 5000 },
  subscriber: { maxRetriesPerRequest: null, connectTimeout: 5000 },
};

/** Opens a Redis connection configured for its role; reconnects with a capped backoff. */
export function createRedisConnection(url: string, role: RedisRole, name?: string): Redis {
  return new Redis(url, {
    ...roleOptions[role],
    connectionName: name ? `llmgw:${name}` : `llmgw:${role}`,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(times * 100, 2000),
    // Errors surface through commands and readiness; the default handler would print stack traces per retry.
    showFriendlyErrorStack: false,
  }).on("error", () => {});
}

/** Resolves once the connection is ready, or rejects after `timeoutMs`. */
export async function waitForRedis(redis: Redis, timeoutMs = 2000): Promise<void> {
  if (redis.status === "ready") return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off("ready", onReady);
    };
    redis.on("ready", onReady);
  });
}

/** The queue Redis must not evict keys, or jobs vanish; returns the policy so start-up can warn. */
export async function readEvictionPolicy(redis: Redis): Promise<string | undefined> {
  try {
    const reply = (await redis.config("GET", "maxmemory-policy")) as string[];
    return reply[1];
  } catch {
    return undefined; // managed Redis often disables CONFIG
  }
}
