import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { QueueDepths, UsageEntry } from "@llmgw/jobs";
import { OTHER_MODEL_LABEL, type ModelLabeler } from "@llmgw/providers";

/**
 * The queue states /metrics reports (readQueueDepths: `waiting` includes BullMQ's `prioritized`).
 * BullMQ 6 has no `paused` state: the jobs of a queue paused (from the dashboard) count as waiting.
 */
const QUEUE_STATES = ["waiting", "active", "delayed", "failed"] as const;

export interface ApiMetricsOptions {
  /** Reads the completion queue's job counts; called on every scrape. */
  readQueueCounts?: () => Promise<Partial<QueueDepths>>;
  /** How long a scrape waits for the queue counts; a Redis outage must not hang /metrics. */
  queueTimeoutMs?: number;
  /** Process metrics (CPU, memory, event loop lag); on by default. */
  defaultMetrics?: boolean;
  /**
   * The `model` label of a usage entry's (provider, model): createModelLabeler(providers.listModels()),
   * so only configured models get series of their own. Without it every model is `other`.
   */
  modelLabel?: ModelLabeler;
}

/** One finished HTTP answer. `route` is the route pattern, never the raw URL (which may carry anything). */
export interface ObservedRequest {
  route: string;
  method: string;
  status: number;
  seconds: number;
  /** The answer's `x-cache` header, when it had one. */
  cache?: unknown;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const CACHE_RESULTS = new Set(["HIT", "MISS", "BYPASS"]);

/**
 * The API process's Prometheus metrics, in a registry of its own. Labels are route patterns,
 * methods, statuses, configured models (else `other`) and providers: never a key, a raw URL or
 * anything a client chose freely.
 */
export function createApiMetrics(options: ApiMetricsOptions = {}) {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const httpRequests = new Counter({
    name: "llmgw_http_requests_total",
    help: "HTTP answers by route pattern, method and status (streamed answers included, counted when they end)",
    labelNames: ["route", "method", "status"] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: "llmgw_http_request_duration_seconds",
    help: "Time from request to the end of the answer (for SSE: to the end of the stream)",
    labelNames: ["route", "method", "status"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const cacheRequests = new Counter({
    name: "llmgw_cache_requests_total",
    help: "Chat completion answers by response cache result (x-cache: hit, miss, bypass)",
    labelNames: ["result"] as const,
    registers,
  });
  const rateLimited = new Counter({
    name: "llmgw_rate_limited_requests_total",
    help: "Requests refused with 429 by the per-key rate limits",
    labelNames: ["route"] as const,
    registers,
  });
  const syncWait = new Histogram({
    name: "llmgw_sync_wait_seconds",
    help: "How long synchronous callers waited on their job: to the JSON answer, or to the end of the stream",
    labelNames: ["mode"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const tokens = new Counter({
    name: "llmgw_tokens_total",
    help: "Tokens of finished completions recorded in the usage log by this instance (in = prompt, out = completion)",
    labelNames: ["direction", "provider", "model", "kind"] as const,
    registers,
  });
  const websocketConnections = new Gauge({
    name: "llmgw_websocket_connections",
    help: "Open WebSocket connections on this instance",
    registers,
  });
  const modelLabel = options.modelLabel ?? (() => OTHER_MODEL_LABEL);
  const readQueueCounts = options.readQueueCounts;
  const queueTimeoutMs = options.queueTimeoutMs ?? 500;
  // Both queue families collect concurrently in one scrape: they share one reading.
  let reading: Promise<Partial<QueueDepths> | undefined> | null = null;
  const readQueue = () =>
    (reading ??= withTimeout(readQueueCounts ? readQueueCounts() : Promise.resolve(undefined), queueTimeoutMs).finally(() => {
      reading = null;
    }));
  new Gauge({
    name: "llmgw_queue_up",
    help: "1 when the scrape read the queue depths from Redis in time, else 0",
    registers,
    async collect() {
      this.set((await readQueue()) ? 1 : 0);
    },
  });
  new Gauge({
    name: "llmgw_queue_jobs",
    help: "Jobs in the completions queue by state, read from Redis at scrape time",
    labelNames: ["state"] as const,
    registers,
    async collect() {
      this.reset();
      const counts = await readQueue();
      // No reading: no series, rather than stale numbers that look current.
      if (!counts) return;
      for (const state of QUEUE_STATES) this.set({ state }, counts[state] ?? 0);
    },
  });

  return {
    registry,
    /** The open WebSocket count: the WebSocket hub calls inc() on open and dec() on close. */
    websocketConnections,

    /** One finished answer: request count and latency, plus cache result and 429s. */
    observeRequest(request: ObservedRequest) {
      const labels = { route: request.route, method: request.method, status: String(request.status) };
      httpRequests.inc(labels);
      httpDuration.observe(labels, request.seconds);
      if (typeof request.cache === "string" && CACHE_RESULTS.has(request.cache)) cacheRequests.inc({ result: request.cache.toLowerCase() });
      if (request.status === 429) rateLimited.inc({ route: request.route });
    },

    /** Starts a synchronous caller's wait; call the returned function once when it ends. */
    startSyncWait(mode: "json" | "stream"): () => void {
      const end = syncWait.startTimer({ mode });
      return () => void end();
    },

    /** Counts the tokens of one usage log entry (only call it for entries actually recorded). */
    countUsage(entry: UsageEntry) {
      const labels = { provider: entry.provider, model: modelLabel(entry.provider, entry.model), kind: entry.kind };
      if (entry.promptTokens > 0) tokens.inc({ ...labels, direction: "in" }, entry.promptTokens);
      if (entry.completionTokens > 0) tokens.inc({ ...labels, direction: "out" }, entry.completionTokens);
    },

    /** The Prometheus text exposition of every family. */
    scrape: () => registry.metrics(),
    contentType: registry.contentType,
  };
}

/** Resolves to the value, or undefined when it does not arrive in time or fails. */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([promise.catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
