import { maskUrlPassword, type Config } from "@llmgw/config";
import type { Logger } from "@llmgw/logger";
import { createRedisConnection, readEvictionPolicy, waitForRedis } from "@llmgw/redis";
import {
  concurrencyLeaseMs,
  createChannelHealth,
  createCompletionQueue,
  createJobEventHub,
  createJobProducer,
  createJobStore,
  createSpendingReader,
  createWebhookOutbox,
  createWebhookQueue,
  readQueueDepths,
} from "@llmgw/jobs";
import { createModelLabeler, createProviderRegistry, type ProviderRegistry } from "@llmgw/providers";
import { createResponseCache } from "@llmgw/cache";
import { openStore } from "@llmgw/store";
import { createStaticAuthenticator, type ClientAuthenticator } from "./services/client-auth.js";
import { createCompletionCache } from "./services/completion-cache.js";
import { createCompletionService } from "./services/completion-service.js";
import { createDatabaseAuthenticator } from "./services/database-authenticator.js";
import { createKeyRevocation } from "./services/key-revocation.js";
import { createKeySessions } from "./services/key-sessions.js";
import { createConsoleSessions } from "./services/console-sessions.js";
import { createRevokedKeyJobs } from "./services/revoked-key-jobs.js";
import { createLoginThrottle } from "./services/login-throttle.js";
import { createRateLimiter } from "./services/rate-limiter.js";
import { createReadLimiter } from "./services/read-limiter.js";
import { createConnectionLimiter } from "./services/connection-limiter.js";
import { startUsageDrain, USAGE_GATHER_MS } from "./services/usage-drain.js";
import { createUsageRecorder } from "./services/usage-recorder.js";
import { startUsageRetention } from "./services/usage-retention.js";
import { createApiMetrics } from "./services/metrics.js";
import { rateLimitHook } from "./plugins/rate-limit.js";
import { createJobIdempotency } from "./services/job-idempotency.js";
import { createJobService } from "./services/job-service.js";
import { createBudgetGuard } from "./services/budget-guard.js";
import { createWsHub, type WsHubOptions } from "./services/ws-hub.js";

export interface ApiContextOptions {
  /** The providers, when the caller built them first (main.ts does, to mask their keys in logs). */
  providers?: ProviderRegistry;
  /** WebSocket timings and bounds; tests shorten them. */
  ws?: Partial<WsHubOptions>;
}

/** Everything the API's routes use, built once per process from the configuration. */
export async function createApiContext(config: Config, logger: Logger, options: ApiContextOptions = {}) {
  // One auto-pipelined connection carries the limits, the job records and (on the same Redis) the
  // cache: the commands of many requests in flight leave in one write, and a rate-limit check
  // and the cache lookup sent together share one.
  const redis = createRedisConnection(config.redisUrl, "command", "api");
  const queueConnection = createRedisConnection(config.redisUrl, "queue", "api-queue");
  const subscriber = createRedisConnection(config.redisUrl, "subscriber", "api-events");
  const cacheShared = config.cacheRedisUrl === config.redisUrl;
  const cacheRedis = !config.cacheEnabled ? null : cacheShared ? redis : createRedisConnection(config.cacheRedisUrl, "command", "api-cache");

  // PostgreSQL when DATABASE_URL is set (several API hosts), else the SQLite file (one host).
  const database = await openStore(config).catch((error: Error) => {
    const where = config.databaseUrl ? `PostgreSQL at ${maskUrlPassword(config.databaseUrl)}` : `the SQLite file ${config.databasePath}`;
    throw new Error(`cannot open ${where}: ${error.message}`);
  });
  const { users, apiKeys, usage } = database;

  const store = createJobStore(redis, { prefix: config.queuePrefix, retentionSeconds: config.jobRetentionSeconds });
  const hub = createJobEventHub(subscriber, store);
  const queue = createCompletionQueue(queueConnection, config.queuePrefix);
  const providers = options.providers ?? createProviderRegistry(config);
  const metrics = createApiMetrics({
    readQueueCounts: () => readQueueDepths(queue),
    modelLabel: createModelLabeler(providers.listModels()),
  });
  queue.on("error", () => {}); // surfaced per request as 503
  const limits = { perMinute: config.rateLimitPerMinute, perHour: config.rateLimitPerHour };

  const databaseAuthenticator = config.useDatabaseAuth ? createDatabaseAuthenticator({ keys: apiKeys, defaults: limits, tokenSecret: config.jwtSecretKey }) : null;
  const authenticator: ClientAuthenticator = databaseAuthenticator ?? createStaticAuthenticator(config.apiKeys ?? [], limits);
  // The API starts without Redis too: it answers 503 (and /readyz says so) until Redis comes.
  const redisUp = await waitForRedis(subscriber, 3000).then(
    () => true,
    () => false,
  );
  if (!redisUp) logger.warn(`Redis at ${maskUrlPassword(config.redisUrl)} is not reachable; answering 503 until it is`);
  const limiter = createRateLimiter({ redis, prefix: config.queuePrefix });
  const readLimiter = createReadLimiter({ redis, prefix: config.queuePrefix, perMinute: config.readRateLimitPerMinute });
  // Across API instances (a lease per connection in Redis), and on even when RATE_LIMIT_ENABLED=false:
  // these bound held resources (sockets, hub watches), not a rate.
  const connectionLimiter = createConnectionLimiter({
    redis,
    prefix: config.queuePrefix,
    caps: { streams: config.maxEventStreamsPerKey, sockets: config.maxWebSocketsPerKey },
    onRenewError: (error) => logger.warn({ err: { message: error.message } }, "could not renew a connection lease; it expires unless the next renewal succeeds"),
  });
  const responseCache = cacheRedis
    ? createResponseCache({
        redis: cacheRedis,
        prefix: config.queuePrefix,
        ttlSeconds: config.cacheTtl,
        onError: (error, operation) => logger.warn({ err: { message: (error as Error).message }, operation }, "response cache unavailable"),
      })
    : null;
  const webhookQueue = createWebhookQueue(queueConnection, config.queuePrefix);
  webhookQueue.on("error", () => {}); // a cancel still succeeds; the failure to enqueue is logged
  // Usage the API sees itself (cache hits); the rest arrives with the jobs' ends through the usage drain.
  const usageRecorder = createUsageRecorder({ usage, logger, gatherMs: USAGE_GATHER_MS, onRecorded: (entry) => metrics.countUsage(entry) });
  const webhooks = createWebhookOutbox(redis, store.keys, webhookQueue);
  const producer = createJobProducer({
    redis,
    store,
    hub,
    queue,
    jobAttempts: config.jobAttempts,
    concurrencyLeaseMs: concurrencyLeaseMs(config.jobTimeoutMs),
    scheduling: config.jobScheduling,
    webhooks,
    onWebhookError: (error, jobId) =>
      logger.warn({ err: { message: error.message }, jobId }, "could not enqueue a cancelled job's webhook; the outbox sweep will"),
  });
  const completions = createCompletionService({ producer, providers });
  const spending = createSpendingReader(redis, config.queuePrefix);
  const budgets = createBudgetGuard(spending);
  const jobs = createJobService({
    store,
    hub,
    completions,
    idempotency: createJobIdempotency({ redis, keys: store.keys }),
    webhooks: { secretSet: config.webhookSecret !== undefined, allowPrivate: config.webhookAllowPrivate },
    budgets,
  });
  const usageRetention = startUsageRetention({ usage, days: config.usageRetentionDays, logger });
  const usageDrain = startUsageDrain({
    redis: createRedisConnection(config.redisUrl, "subscriber", "api-usage"),
    keys: store.keys,
    usage,
    logger,
    onRecorded: (entry) => metrics.countUsage(entry),
  });
  // The open streams and sockets of each key in this process, ended when the key is revoked.
  const keySessions = createKeySessions();
  const wsHub = createWsHub(
    {
      keySessions,
      jobs,
      hub,
      authenticator,
      limiter: config.rateLimitEnabled ? limiter : null,
      reads: config.rateLimitEnabled ? readLimiter : null,
      connectionLimiter,
      logger,
      connectionGauge: metrics.websocketConnections,
    },
    options.ws,
  );
  const revokedKeyJobs = createRevokedKeyJobs({ store, cancel: producer.cancel });
  // Revocations reach every API instance at once; the 4 s lookup cache is the backstop. Each
  // instance ends the key's streams and sockets it holds and cancels the key's unfinished jobs.
  const keyRevocation = await createKeyRevocation({
    publisher: redis,
    subscriber,
    prefix: config.queuePrefix,
    onRevoked: (keyId) => {
      databaseAuthenticator?.revoke(keyId);
      keySessions.revoke(keyId);
      revokedKeyJobs
        .cancelAll(keyId)
        .catch((error: Error) => logger.warn({ err: { message: error.message }, keyId }, "could not cancel a revoked key's jobs"));
    },
    waitForSubscription: redisUp,
  });

  return {
    config,
    logger,
    redis,
    /** Readiness: the database (SQLite file or PostgreSQL) answers a query. */
    pingDatabase: database.ping,
    users,
    apiKeys,
    usage,
    store,
    hub,
    queue,
    /** Webhook deliveries (the queue dashboard shows it beside the completions queue). */
    webhookQueue,
    providers,
    /** The channels' shared health (cooldowns, disabled keys), for the admin API. */
    channelHealth: createChannelHealth(redis, config.queuePrefix, {
      failuresToCool: config.channelFailuresToCool,
      cooldownMs: config.channelCooldownMs,
    }),
    authenticator,
    /** Failed admin logins per client address, shared by the admin API and the queue dashboard. */
    adminLoginThrottle: createLoginThrottle(),
    /** Web console sign-ins, in Redis so that every API instance knows them. */
    consoleSessions: createConsoleSessions({ redis, prefix: config.queuePrefix, adminToken: config.adminToken }),
    keyRevocation,
    /** Drops this instance's cached lookup of a key that changed (PATCH); other instances re-read it within 4 s. */
    forgetKey: (keyId: string) => databaseAuthenticator?.changed(keyId),
    /** Open streams and sockets per key: a revocation ends them (SSE routes and the WebSocket hub register theirs). */
    keySessions,
    completions,
    /** Refuses keys whose token budget is used up (budget-guard.ts). */
    budgets,
    /** Token spending of keys and users in the current day and month (the admin API shows it). */
    spending,
    /** Asynchronous jobs: submit, read, cancel, list (routes/jobs and the WebSocket hub). */
    jobs,
    /** Every WebSocket connection of this process, fed by the one job event hub. */
    wsHub,
    completionCache: createCompletionCache(responseCache),
    /** Prometheus metrics of this process; the WebSocket hub counts connections in `metrics.websocketConnections`. */
    metrics,
    /** Client-scope hook after auth: consumes on work-creating routes, reports elsewhere (null when limits are off). */
    rateLimit: config.rateLimitEnabled ? rateLimitHook(limiter, readLimiter) : null,
    /** Per-key caps on open event streams and WebSockets (MAX_EVENT_STREAMS_PER_KEY, MAX_WEBSOCKETS_PER_KEY). */
    connectionLimiter,
    /** Queues a usage entry the API saw itself (a cache hit); written within USAGE_GATHER_MS. */
    recordUsage: usageRecorder.record,
    /** Writes the queued usage entries now. */
    flushUsage: usageRecorder.flush,
    /** Warns once when the queue Redis may evict keys (BullMQ loses jobs then). */
    async checkRedisPolicy() {
      const policy = await readEvictionPolicy(redis).catch(() => undefined);
      if (policy && policy !== "noeviction") {
        logger.warn(`Redis maxmemory-policy is "${policy}": queued jobs can be evicted and lost; set it to noeviction`);
      }
    },
    async close() {
      wsHub.close();
      connectionLimiter.close();
      await usageDrain.stop();
      await usageRecorder.flush();
      usageRetention.stop();
      await keyRevocation.close();
      await queue.close().catch(() => {});
      await webhookQueue.close().catch(() => {});
      await providers.close();
      await authenticator.close?.();
      subscriber.disconnect();
      queueConnection.disconnect();
      if (!cacheShared) cacheRedis?.disconnect();
      redis.disconnect();
      await database.close();
    },
  };
}

export type ApiContext = Awaited<ReturnType<typeof createApiContext>>;
