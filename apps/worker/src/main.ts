import { ConfigError, loadConfig, loadDotEnv, secretValues } from "@llmgw/config";
import { createLogger } from "@llmgw/logger";
import { createRedisConnection, readEvictionPolicy } from "@llmgw/redis";
import { concurrencyLeaseMs, createBudgetAlertOutbox, createChannelHealth, createJobRunner, createJobStore, createWebhookOutbox, createWebhookQueue } from "@llmgw/jobs";
import { ProviderError, createModelLabeler, createProviderRegistry } from "@llmgw/providers";
import { createResponseCache } from "@llmgw/cache";
import { createCompletionWorker } from "./completion-worker.js";
import { subscribeToCancels } from "./cancel-subscriber.js";
import { createWebhookWorker } from "./webhook-worker.js";
import { createWorkerMetrics } from "./metrics.js";
import { createProviderAuthAlarm } from "./provider-auth-alarm.js";
import { createChannelRouter } from "./channel-router.js";
import { createChannelAlarm } from "./channel-alarm.js";
import { startMetricsServer, type MetricsServer } from "./metrics-server.js";
import { startBudgetAlertSender } from "./budget-alert-sender.js";

/** How often a worker looks for webhooks left in the outbox, and how old an entry must be to be taken. */
const WEBHOOK_OUTBOX_SWEEP_MS = 10_000;
const WEBHOOK_OUTBOX_GRACE_MS = 30_000;

/** Worker process: take completion jobs, call providers, write events and results; stop cleanly on SIGTERM. */
async function main() {
  loadDotEnv();
  const config = loadConfig();
  const registry = createProviderRegistry(config);
  const logger = createLogger({ level: config.logLevel, name: "worker", secrets: [...secretValues(config), ...registry.secrets] });
  const connection = createRedisConnection(config.redisUrl, "worker", "worker");
  const commands = createRedisConnection(config.redisUrl, "writer", "worker-commands");
  const subscriber = createRedisConnection(config.redisUrl, "subscriber", "worker-cancels");
  // A cache on the queue's Redis shares the job log's connection (see beforeComplete below).
  const cacheShared = config.cacheRedisUrl === config.redisUrl;
  const cacheRedis = !config.cacheEnabled ? null : cacheShared ? commands : createRedisConnection(config.cacheRedisUrl, "writer", "worker-cache");
  const cache = cacheRedis && createResponseCache({ redis: cacheRedis, prefix: config.queuePrefix, ttlSeconds: config.cacheTtl });
  const store = createJobStore(commands, { prefix: config.queuePrefix, retentionSeconds: config.jobRetentionSeconds });

  // Jobs that asked for a webhook get one delivery job when they end here (cancels are enqueued by the API).
  // On BullMQ's own connection: BullMQ's scripts would make each auto-pipelined batch of `commands` costly.
  const webhookQueue = createWebhookQueue(connection, config.queuePrefix);
  const webhookOutbox = createWebhookOutbox(commands, store.keys, webhookQueue);
  const runner = createJobRunner({
    store,
    webhooks: webhookOutbox,
    onWebhookError: (error, jobId) =>
      logger.error({ err: { message: error.message }, jobId }, "could not enqueue the job's webhook; the outbox sweep will"),
  });
  // Deliveries owed by jobs whose process died between their end and queueing the delivery.
  let sweeping = false;
  const sweepOutbox = setInterval(() => {
    if (sweeping) return; // Redis is slow or away: one sweep waits, not one per tick
    sweeping = true;
    webhookOutbox
      .sweep(WEBHOOK_OUTBOX_GRACE_MS)
      .then((queued) => queued > 0 && logger.warn({ queued }, "queued webhooks that ended jobs left in the outbox"))
      .catch((error: Error) => logger.warn({ err: { message: error.message } }, "webhook outbox sweep failed; trying again"))
      .finally(() => (sweeping = false));
  }, WEBHOOK_OUTBOX_SWEEP_MS);
  // Budget alerts raised by the ends of requests (here or on any worker).
  const budgetAlerts = startBudgetAlertSender({
    outbox: createBudgetAlertOutbox(commands, config.queuePrefix),
    logger,
    alertUrl: config.alertWebhookUrl,
    secret: config.webhookSecret,
  });
  // Deliveries need the signing secret; without it they wait in the queue for a worker that has it.
  const webhookConnection = config.webhookSecret ? createRedisConnection(config.redisUrl, "worker", "worker-webhooks") : null;
  const webhookWorker =
    webhookConnection && config.webhookSecret
      ? createWebhookWorker(
          { store, secret: config.webhookSecret, allowPrivate: config.webhookAllowPrivate, logger },
          { connection: webhookConnection, prefix: config.queuePrefix, concurrency: 16 },
        )
      : null;

  const metrics = createWorkerMetrics({ modelLabel: createModelLabeler(registry.listModels()) });
  const authAlarm = createProviderAuthAlarm(logger);
  const providersWithSeveralChannels = new Set(
    registry.channels.map((channel) => channel.provider).filter((provider, index, all) => all.indexOf(provider) !== index),
  );
  const channels = createChannelRouter({
    registry,
    health: createChannelHealth(commands, config.queuePrefix, {
      failuresToCool: config.channelFailuresToCool,
      cooldownMs: config.channelCooldownMs,
    }),
    onDisabled: createChannelAlarm({ logger, alertUrl: config.alertWebhookUrl, secret: config.webhookSecret, onDisabled: metrics.channelDisabled }),
  });
  const worker = createCompletionWorker(
    {
      runner,
      metrics,
      resolveProvider: (name) => registry.get(name),
      channels,
      onChannelTry: metrics.channelTry,
      // A provider with several channels fails over and says so per channel (channel-alarm.ts).
      onTryFailed: (error) => {
        if (!(error instanceof ProviderError && providersWithSeveralChannels.has(error.provider))) authAlarm.observe(error);
      },
      logger,
      maxAttempts: config.jobAttempts,
      timeouts: { firstByteMs: config.firstByteTimeoutMs, idleMs: config.idleTimeoutMs, totalMs: config.jobTimeoutMs },
      beforeComplete: async (data, result) => {
        // Only a complete answer is worth replaying: every choice ended with a finish reason.
        if (!cache || !data.cacheKey || !result.choices.every((choice) => choice.finish_reason)) return;
        const stored = cache.set(data.cacheKey, result);
        // On the job log's connection the write reaches Redis before the completed event sent
        // after it, without a round trip of its own; another Redis must have it first.
        if (!cacheShared) await stored;
      },
    },
    {
      connection,
      prefix: config.queuePrefix,
      concurrency: config.workerConcurrency,
      lockMs: config.workerLockMs,
      slots: { redis: commands, keys: store.keys, leaseMs: concurrencyLeaseMs(config.jobTimeoutMs) },
    },
  );
  await subscribeToCancels(subscriber, store.keys, worker);
  await worker.waitUntilReady();
  const policy = await readEvictionPolicy(commands);
  if (policy && policy !== "noeviction") {
    logger.warn(`Redis maxmemory-policy is "${policy}": queued jobs can be evicted and lost; set it to noeviction`);
  }
  // A taken port costs this worker its /metrics, not its jobs.
  const metricsAt = { host: config.workerMetricsHost, port: config.workerMetricsPort, token: config.metricsToken };
  const metricsServer: MetricsServer | null = await startMetricsServer(metrics, metricsAt).catch((error: Error) => {
    logger.error(
      `worker metrics: cannot listen on ${metricsAt.host}:${metricsAt.port} (${error.message}); set WORKER_METRICS_HOST / WORKER_METRICS_PORT (0 = any free port). This worker runs without /metrics.`,
    );
    return null;
  });
  logger.info(
    { concurrency: config.workerConcurrency, pid: process.pid, metricsHost: metricsAt.host, metricsPort: metricsServer?.port ?? null },
    "worker ready",
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "worker stopping: no new jobs, finishing the ones in flight");
    // worker.close() waits for in-flight jobs; BullMQ hands unfinished ones to others if we are killed.
    await worker.close();
    clearInterval(sweepOutbox);
    budgetAlerts.stop();
    await webhookWorker?.close();
    await webhookQueue.close().catch(() => {});
    await metricsServer?.close();
    await registry.close();
    subscriber.disconnect();
    if (!cacheShared) cacheRedis?.disconnect();
    commands.disconnect();
    connection.disconnect();
    webhookConnection?.disconnect();
    logger.info("worker stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((error) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
  } else {
    console.error(`worker failed to start: ${(error as Error).message}`);
  }
  process.exit(1);
});
