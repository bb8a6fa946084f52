/**
 * The one table of configuration variables. README's configuration table and `.env.example`
 * are generated from it (`npm run docs:config`), and a test keeps them in sync.
 */
import { parseBoolean, parseChoice, parseInteger, parseList, parseSecret, parseString, parseTrustProxy, parseUrl, type Parser } from "./parsers.js";

export interface VariableSpec<T> {
  name: string;
  /** Default as written in `.env.example`; `undefined` means unset. */
  default: string | undefined;
  parse: Parser<T>;
  description: string;
  /** Secrets are never printed, not even in a config error. */
  secret?: boolean;
}

function variable<T, D extends string | undefined>(spec: VariableSpec<T> & { default: D }): VariableSpec<T> & { default: D } {
  return spec;
}

export const variables = {
  host: variable({ name: "HOST", default: "0.0.0.0", parse: parseString, description: "API listen address" }),
  port: variable({ name: "PORT", default: "8000", parse: parseInteger(0, 65535), description: "API listen port" }),
  redisUrl: variable({
    name: "REDIS_URL",
    default: "redis://127.0.0.1:6379",
    parse: parseUrl(["redis:", "rediss:"]),
    description: "Redis for queue, rate limits and job events (needs `maxmemory-policy noeviction`)",
  }),
  cacheRedisUrl: variable({
    name: "CACHE_REDIS_URL",
    default: undefined,
    parse: parseUrl(["redis:", "rediss:"]),
    description: "Redis for the response cache (defaults to `REDIS_URL`; production points it at an LRU instance)",
  }),
  queuePrefix: variable({
    name: "QUEUE_PREFIX",
    default: "llmgw",
    parse: parseString,
    description: "prefix of every Redis key the gateway writes",
  }),
  databasePath: variable({
    name: "DATABASE_PATH",
    default: "data/api_keys.db",
    parse: parseString,
    description: "SQLite file for users, keys and usage (created with its folder on first start); unused when `DATABASE_URL` is set",
  }),
  databaseUrl: variable({
    name: "DATABASE_URL",
    default: undefined,
    parse: parseUrl(["postgres:", "postgresql:"]),
    description: "`postgres://user:password@host:5432/db`: users, keys and usage in PostgreSQL instead of SQLite (needed to run the API on several hosts); its password is never logged",
  }),
  databasePoolSize: variable({
    name: "DATABASE_POOL_SIZE",
    default: "10",
    parse: parseInteger(1, 1000),
    description: "PostgreSQL connections per API process (with `DATABASE_URL`)",
  }),
  adminToken: variable({
    name: "ADMIN_TOKEN",
    default: undefined,
    parse: parseSecret(16),
    description: "bearer token for the admin API and the queue dashboard, at least 16 characters; unset = admin API answers 403",
    secret: true,
  }),
  jwtSecretKey: variable({
    name: "JWT_SECRET_KEY",
    default: undefined,
    parse: parseSecret(32),
    description:
      "when set (at least 32 characters), clients may send an HS256 JWT instead of their key: `sub` = the key's id, `exp` required and at most 24 h ahead; the key's limits, models and allowed IPs apply, and its tokens stop when it is revoked or switched off (database keys only)",
    secret: true,
  }),
  useDatabaseAuth: variable({
    name: "USE_DATABASE_AUTH",
    default: "true",
    parse: parseBoolean,
    description: "client keys from the database; `false` = the static, deprecated `API_KEYS` list",
  }),
  apiKeys: variable({
    name: "API_KEYS",
    default: undefined,
    parse: parseList,
    description: "comma-separated static client keys, used when `USE_DATABASE_AUTH=false` (deprecated)",
    secret: true,
  }),
  deepseekApiKey: variable({
    name: "DEEPSEEK_API_KEY",
    default: undefined,
    parse: parseString,
    description: "DeepSeek provider key; the provider is enabled when it is set; a comma-separated list makes one channel per key",
    secret: true,
  }),
  deepseekBaseUrl: variable({
    name: "DEEPSEEK_BASE_URL",
    default: "https://api.deepseek.com",
    parse: parseUrl(["http:", "https:"]),
    description: "DeepSeek base URL (the prefix before `/chat/completions`)",
  }),
  openaiApiKey: variable({
    name: "OPENAI_API_KEY",
    default: undefined,
    parse: parseString,
    description: "OpenAI provider key; the provider is enabled when it is set; a comma-separated list makes one channel per key",
    secret: true,
  }),
  openaiBaseUrl: variable({
    name: "OPENAI_BASE_URL",
    default: "https://api.openai.com/v1",
    parse: parseUrl(["http:", "https:"]),
    description: "OpenAI base URL",
  }),
  providersFile: variable({
    name: "PROVIDERS_FILE",
    default: undefined,
    parse: parseString,
    description:
      'JSON file of extra OpenAI-compatible providers (channels): `[{"name","base_url","api_key_env","models":[...],"weight"?,"priority"?,"model_map"?}]`; several entries may serve one model',
  }),
  channelFailuresToCool: variable({
    name: "CHANNEL_FAILURES_TO_COOL",
    default: "3",
    parse: parseInteger(1, 1000),
    description: "failed tries in a row (429, 408, 5xx, connection errors, timeouts) after which a channel cools down",
  }),
  channelCooldownMs: variable({
    name: "CHANNEL_COOLDOWN_MS",
    default: "30000",
    parse: parseInteger(100, 86_400_000),
    description: "how long a failing channel is left out before one try probes it again (a 429's Retry-After wins when given)",
  }),
  alertWebhookUrl: variable({
    name: "ALERT_WEBHOOK_URL",
    default: undefined,
    parse: parseUrl(["http:", "https:"]),
    description: "operator alerts are POSTed here, signed like job webhooks when `WEBHOOK_SECRET` is set: a channel disabled (a refused key, no credit) and a key or user reaching 80% and 100% of a token budget",
  }),
  rateLimitEnabled: variable({
    name: "RATE_LIMIT_ENABLED",
    default: "true",
    parse: parseBoolean,
    description: "per-key rate limits on",
  }),
  rateLimitPerMinute: variable({
    name: "RATE_LIMIT_PER_MINUTE",
    default: "60",
    parse: parseInteger(1, 1_000_000_000),
    description: "default requests per rolling minute per key",
  }),
  rateLimitPerHour: variable({
    name: "RATE_LIMIT_PER_HOUR",
    default: "1000",
    parse: parseInteger(1, 1_000_000_000),
    description: "default requests per rolling hour per key",
  }),
  readRateLimitPerMinute: variable({
    name: "READ_RATE_LIMIT_PER_MINUTE",
    default: "600",
    parse: parseInteger(1, 1_000_000_000),
    description:
      "reads per rolling minute per key, apart from the request limits: job reads and lists, event streams, WebSocket subscribe/unsubscribe/cancel (`429` with `x-ratelimit-*-reads` above)",
  }),
  maxEventStreamsPerKey: variable({
    name: "MAX_EVENT_STREAMS_PER_KEY",
    default: "100",
    parse: parseInteger(1, 1_000_000),
    description: "open `GET /v1/jobs/:id/events` streams per key, across all API instances (`429 too_many_connections` above)",
  }),
  maxWebSocketsPerKey: variable({
    name: "MAX_WEBSOCKETS_PER_KEY",
    default: "50",
    parse: parseInteger(1, 1_000_000),
    description: "open WebSocket connections per key, across all API instances (`429 too_many_connections` above)",
  }),
  eventStreamMaxMs: variable({
    name: "EVENT_STREAM_MAX_MS",
    default: "3600000",
    parse: parseInteger(100, 86_400_000),
    description: "lifetime of one `GET /v1/jobs/:id/events` stream; it then ends with a `reconnect` event and the client resumes with `Last-Event-ID`",
  }),
  cacheEnabled: variable({ name: "CACHE_ENABLED", default: "true", parse: parseBoolean, description: "response cache on" }),
  cacheTtl: variable({
    name: "CACHE_TTL",
    default: "3600",
    parse: parseInteger(1, 31_536_000),
    description: "response cache TTL in seconds",
  }),
  workers: variable({
    name: "WORKERS",
    default: "1",
    parse: parseInteger(0, 256),
    description: "worker processes started by `npm start`",
  }),
  workerConcurrency: variable({
    name: "WORKER_CONCURRENCY",
    default: "32",
    parse: parseInteger(1, 10_000),
    description: "jobs in flight per worker process",
  }),
  syncTimeoutMs: variable({
    name: "SYNC_TIMEOUT_MS",
    default: "120000",
    parse: parseInteger(1, 86_400_000),
    description: "how long a synchronous call waits before answering 504 with the job id",
  }),
  jobAttempts: variable({
    name: "JOB_ATTEMPTS",
    default: "3",
    parse: parseInteger(1, 100),
    description: "tries per job (retryable errors only)",
  }),
  jobScheduling: variable({
    name: "JOB_SCHEDULING",
    default: "fair",
    parse: parseChoice(["fair", "fifo"] as const),
    description: "`fair`: synchronous calls start before queued asynchronous jobs, and keys with jobs waiting take turns; `fifo`: every job in order of arrival",
  }),
  jobTimeoutMs: variable({
    name: "JOB_TIMEOUT_MS",
    default: "600000",
    parse: parseInteger(1, 86_400_000),
    description: "time limit per try",
  }),
  firstByteTimeoutMs: variable({
    name: "FIRST_BYTE_TIMEOUT_MS",
    default: "60000",
    parse: parseInteger(1, 86_400_000),
    description: "time limit per try for the upstream's first byte",
  }),
  idleTimeoutMs: variable({
    name: "IDLE_TIMEOUT_MS",
    default: "60000",
    parse: parseInteger(1, 86_400_000),
    description: "time limit per try between two streamed chunks (keep-alive comments do not count)",
  }),
  workerLockMs: variable({
    name: "WORKER_LOCK_MS",
    // 10 s, not BullMQ's 30 s: a killed worker's jobs resume within 12.5 s instead of 60-90 s, while a
    // lock renewed every 2.5-5 s still survives an event loop blocked for 5 s (see completion-worker.ts).
    default: "10000",
    parse: parseInteger(1000, 600_000),
    description: "a worker's lock on a running job, renewed every quarter to half of it; a killed worker's jobs go to another worker within about 1.25 times this (stalled jobs are looked for every eighth of it)",
  }),
  jobRetentionSeconds: variable({
    name: "JOB_RETENTION_SECONDS",
    default: "86400",
    parse: parseInteger(60, 31_536_000),
    description: "how long a finished job and its events stay readable",
  }),
  usageRetentionDays: variable({
    name: "USAGE_RETENTION_DAYS",
    default: "0",
    parse: parseInteger(0, 36_500),
    description: "days the usage log keeps its rows (pruned hourly by the API); 0 keeps them forever",
  }),
  maxBodyBytes: variable({
    name: "MAX_BODY_BYTES",
    default: "1048576",
    parse: parseInteger(1024, 104_857_600),
    description: "largest request body accepted (413 above)",
  }),
  webhookSecret: variable({
    name: "WEBHOOK_SECRET",
    default: undefined,
    parse: parseString,
    description: "signing secret for job webhooks",
    secret: true,
  }),
  webhookAllowPrivate: variable({
    name: "WEBHOOK_ALLOW_PRIVATE",
    default: "false",
    parse: parseBoolean,
    description: "allow webhook URLs on loopback/private addresses",
  }),
  workerMetricsPort: variable({
    name: "WORKER_METRICS_PORT",
    default: "9464",
    parse: parseInteger(0, 65535),
    description: "the worker's own `/metrics` port (0 = any free port)",
  }),
  workerMetricsHost: variable({
    name: "WORKER_METRICS_HOST",
    default: "127.0.0.1",
    parse: parseString,
    description: "the worker's `/metrics` listen address (`0.0.0.0` lets other hosts scrape it)",
  }),
  metricsToken: variable({
    name: "METRICS_TOKEN",
    default: undefined,
    parse: parseSecret(16),
    description: "when set (at least 16 characters), `/metrics` of the API and the workers needs `Authorization: Bearer METRICS_TOKEN`",
    secret: true,
  }),
  trustProxy: variable({
    name: "TRUST_PROXY",
    default: "false",
    parse: parseTrustProxy,
    description:
      "trust `X-Forwarded-For`/`-Proto` from these proxies: `true`, a hop count, or comma-separated addresses/CIDRs (Fastify's `trustProxy`)",
  }),
  requestTimeoutMs: variable({
    name: "REQUEST_TIMEOUT_MS",
    default: "30000",
    parse: parseInteger(0, 3_600_000),
    description: "time to receive a whole request, headers and body (408 after; 0 = no limit); answers and streams are not bounded by it",
  }),
  headersTimeoutMs: variable({
    name: "HEADERS_TIMEOUT_MS",
    default: "10000",
    parse: parseInteger(1, 3_600_000),
    description: "time to receive a request's headers (408 after); at most `REQUEST_TIMEOUT_MS`",
  }),
  keepAliveTimeoutMs: variable({
    name: "KEEP_ALIVE_TIMEOUT_MS",
    default: "72000",
    parse: parseInteger(1, 3_600_000),
    description: "how long an idle keep-alive connection stays open (longer than a load balancer's idle timeout, often 60 s)",
  }),
  connectionTimeoutMs: variable({
    name: "CONNECTION_TIMEOUT_MS",
    default: "600000",
    parse: parseInteger(0, 86_400_000),
    description: "a connection with no bytes either way for this long is closed (0 = never); longer than `SYNC_TIMEOUT_MS` and `IDLE_TIMEOUT_MS`",
  }),
  logLevel: variable({
    name: "LOG_LEVEL",
    default: "info",
    parse: parseString,
    description: "pino level (`fatal`, `error`, `warn`, `info`, `debug`, `trace`, `silent`)",
  }),
};

export type Variables = typeof variables;
