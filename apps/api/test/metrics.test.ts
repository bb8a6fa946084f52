import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { cacheScope, canonicalRequestKey, createResponseCache } from "@llmgw/cache";
import { loadConfig } from "@llmgw/config";
import { jobKeys } from "@llmgw/jobs";
import { createLogger } from "@llmgw/logger";
import type { ChatCompletion } from "@llmgw/providers";
import { buildApp } from "../src/app.js";
import { createApiContext, type ApiContext } from "../src/context.js";
import { staticKeyId } from "../src/services/client-auth.js";
import { createApiMetrics } from "../src/services/metrics.js";

const CLIENT_KEY = `gw-metrics${randomUUID().replace(/-/g, "")}`;
const OTHER_KEY = `gw-metrics${randomUUID().replace(/-/g, "")}`;
const PROVIDER_KEY = `sk-provider-${randomUUID()}`;
const ADMIN_TOKEN = `admin-${randomUUID()}`;
const PREFIX = `test-${randomUUID()}`;
const folder = mkdtempSync(join(tmpdir(), "llmgw-metrics-"));

let context: ApiContext;
let app: FastifyInstance;
let redis: Redis;

/** One parsed sample line of the Prometheus text format. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseSamples(text: string): Sample[] {
  return text
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample line: ${line}`);
      const labels = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
      return { name: match[1], labels, value: Number(match[3]) };
    });
}

/** The value of the one sample with exactly these labels (undefined when there is none). */
function valueOf(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = parseSamples(text).filter(
    (sample) =>
      sample.name === name &&
      Object.keys(sample.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

const scrape = async () => {
  const response = await app.inject({ method: "GET", url: "/metrics" });
  expect(response.statusCode).toBe(200);
  expect(response.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
  return response.body;
};

const question = { model: "deepseek-chat", messages: [{ role: "user", content: "What is in the cache?" }] };
const cached: ChatCompletion = {
  id: "chatcmpl-cached",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "deepseek-chat",
  choices: [{ index: 0, message: { role: "assistant", content: "A stored answer.", refusal: null }, finish_reason: "stop", logprobs: null }],
  usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 },
};

beforeAll(async () => {
  const config = loadConfig({
    REDIS_URL: inject("redisUrl"),
    QUEUE_PREFIX: PREFIX,
    DATABASE_PATH: join(folder, "keys.db"),
    USE_DATABASE_AUTH: "false",
    API_KEYS: `${CLIENT_KEY},${OTHER_KEY}`,
    ADMIN_TOKEN,
    DEEPSEEK_API_KEY: PROVIDER_KEY,
    // No worker runs in this file: nothing is ever sent here, and every job stays queued.
    DEEPSEEK_BASE_URL: "http://127.0.0.1:9/v1",
    SYNC_TIMEOUT_MS: "300",
    RATE_LIMIT_PER_MINUTE: "4",
  });
  context = await createApiContext(config, createLogger({ level: "silent" }));
  app = await buildApp(context);
  redis = new Redis(inject("redisUrl"));
  // The first static key's scope, as the chat route computes it.
  const cache = createResponseCache({ redis, prefix: PREFIX, ttlSeconds: 600 });
  await cache.set(canonicalRequestKey(question, cacheScope({ userId: null, keyId: staticKeyId(CLIENT_KEY) })), cached);
});

afterAll(async () => {
  await app?.close();
  await context?.close();
  redis?.disconnect();
  rmSync(folder, { recursive: true, force: true });
});

const asClient = (key = CLIENT_KEY) => ({ authorization: `Bearer ${key}` });

describe("GET /metrics", () => {
  it("counts requests by route pattern, cache results, rate limits, sync waits and queue depth", async () => {
    const before = await scrape();
    // The scrape itself is counted once it ends: the first one sees no /metrics sample yet.
    expect(valueOf(before, "llmgw_http_requests_total", { route: "/metrics", method: "GET", status: "200" })).toBeUndefined();

    // Cache hits: one JSON, one replayed as SSE (a hijacked reply, counted when its stream ends).
    const hit = await app.inject({ method: "POST", url: "/v1/chat/completions", headers: asClient(), payload: question });
    expect(hit.statusCode).toBe(200);
    expect(hit.headers["x-cache"]).toBe("HIT");
    const streamed = await app.inject({ method: "POST", url: "/api/v1/chat/completions", headers: asClient(), payload: { ...question, stream: true } });
    expect(streamed.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(streamed.body.endsWith("data: [DONE]\n\n")).toBe(true);

    // A miss and a bypass: no worker runs, so both wait SYNC_TIMEOUT_MS and answer 504.
    const miss = await app.inject({ method: "POST", url: "/v1/chat/completions", headers: asClient(), payload: { ...question, seed: 1 } });
    expect([miss.statusCode, miss.headers["x-cache"]]).toEqual([504, "MISS"]);
    const bypass = await app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      headers: { ...asClient(), "cache-control": "no-cache, no-store" },
      payload: { ...question, seed: 2 },
    });
    expect([bypass.statusCode, bypass.headers["x-cache"]]).toEqual([504, "BYPASS"]);

    // The other key: four accepted (each 404 for its unknown model), the fifth refused.
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await app.inject({ method: "POST", url: "/v1/chat/completions", headers: asClient(OTHER_KEY), payload: { ...question, model: "no-such-model" } });
      statuses.push(response.statusCode);
    }
    expect(statuses).toEqual([404, 404, 404, 404, 429]);

    const jobId = miss.headers["x-job-id"] as string;
    expect((await app.inject({ method: "GET", url: `/v1/models?key=${CLIENT_KEY}`, headers: asClient() })).statusCode).toBe(200);
    expect((await app.inject({ method: "GET", url: `/no/such/${jobId}` })).statusCode).toBe(404);
    expect((await app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);

    // Queue depth is read from Redis at scrape time: two jobs waiting, one delayed.
    for (const [index, delay] of [0, 0, 60_000].entries()) {
      const id = `job_metrics_${index}_${randomUUID()}`;
      const data = { jobId: id, request: question, model: "deepseek-chat", provider: "deepseek", owner: { keyId: "k", userId: null }, mode: "async" as const, requestId: "r" };
      await context.queue.add("completion", data, { jobId: id, delay });
    }

    const text = await scrape();
    const requests = (route: string, method: string, status: string) => valueOf(text, "llmgw_http_requests_total", { route, method, status });
    expect(requests("/v1/chat/completions", "POST", "200")).toBe(1);
    expect(requests("/api/v1/chat/completions", "POST", "200")).toBe(1);
    expect(requests("/v1/chat/completions", "POST", "504")).toBe(2);
    expect(requests("/v1/chat/completions", "POST", "404")).toBe(4);
    expect(requests("/v1/chat/completions", "POST", "429")).toBe(1);
    expect(requests("/v1/models", "GET", "200")).toBe(1);
    expect(requests("/healthz", "GET", "200")).toBe(1);
    expect(requests("/metrics", "GET", "200")).toBe(1);
    // An unknown URL is one series, whatever was asked: no raw paths in the labels.
    expect(requests("unmatched", "GET", "404")).toBe(1);
    const histogramCount = valueOf(text, "llmgw_http_request_duration_seconds_count", { route: "/v1/chat/completions", method: "POST", status: "504" });
    expect(histogramCount).toBe(2);
    expect(valueOf(text, "llmgw_http_request_duration_seconds_sum", { route: "/v1/chat/completions", method: "POST", status: "504" })).toBeGreaterThan(0.5);

    expect(valueOf(text, "llmgw_cache_requests_total", { result: "hit" })).toBe(2);
    expect(valueOf(text, "llmgw_cache_requests_total", { result: "miss" })).toBe(1);
    expect(valueOf(text, "llmgw_cache_requests_total", { result: "bypass" })).toBe(1);
    expect(valueOf(text, "llmgw_rate_limited_requests_total", { route: "/v1/chat/completions" })).toBe(1);
    expect(valueOf(text, "llmgw_sync_wait_seconds_count", { mode: "json" })).toBe(2);
    expect(valueOf(text, "llmgw_sync_wait_seconds_sum", { mode: "json" })).toBeGreaterThan(0.5);

    expect(valueOf(text, "llmgw_queue_up")).toBe(1);
    expect(valueOf(text, "llmgw_queue_jobs", { state: "waiting" })).toBe(2);
    expect(valueOf(text, "llmgw_queue_jobs", { state: "active" })).toBe(0);
    expect(valueOf(text, "llmgw_queue_jobs", { state: "delayed" })).toBe(1);
    expect(valueOf(text, "llmgw_queue_jobs", { state: "failed" })).toBe(0);
    expect(valueOf(text, "llmgw_websocket_connections")).toBe(0);
    // The two cache hits were recorded in the usage log, so their tokens count.
    expect(valueOf(text, "llmgw_tokens_total", { direction: "in", provider: "deepseek", model: "deepseek-chat", kind: "cache" })).toBe(14);
    expect(valueOf(text, "llmgw_tokens_total", { direction: "out", provider: "deepseek", model: "deepseek-chat", kind: "cache" })).toBe(6);
    expect(valueOf(text, "process_cpu_user_seconds_total")).toBeGreaterThan(0);

    // No key of any kind, and no raw URL, in any line.
    for (const secret of [CLIENT_KEY, OTHER_KEY, PROVIDER_KEY, ADMIN_TOKEN, jobId, staticKeyId(CLIENT_KEY), staticKeyId(OTHER_KEY), "no/such"]) expect(text).not.toContain(secret);
  });

  it("counts the tokens of usage the workers report once the usage drain records them", async () => {
    const entry = {
      jobId: `job_${randomUUID()}`,
      requestId: "req_metrics",
      keyId: staticKeyId(CLIENT_KEY),
      userId: null,
      model: "deepseek-reasoner",
      provider: "deepseek",
      promptTokens: 11,
      completionTokens: 29,
      latencyMs: 42,
      status: 200,
      cacheHit: false,
      kind: "job" as const,
      createdAt: Date.now(),
    };
    // As a worker writes it with the job's end; the same entry delivered twice is recorded, and counted, once.
    await redis.xadd(jobKeys(PREFIX).usage, "*", "entry", JSON.stringify(entry));
    await redis.xadd(jobKeys(PREFIX).usage, "*", "entry", JSON.stringify(entry));
    const labels = { provider: "deepseek", model: "deepseek-reasoner", kind: "job" };
    await vi.waitFor(async () => expect(valueOf(await scrape(), "llmgw_tokens_total", { ...labels, direction: "out" })).toBe(29), { timeout: 5000 });
    const text = await scrape();
    expect(valueOf(text, "llmgw_tokens_total", { ...labels, direction: "in" })).toBe(11);
    await vi.waitFor(async () => expect(await redis.xpending(jobKeys(PREFIX).usage, "api")).toEqual([0, null, null, null]));
    expect(valueOf(await scrape(), "llmgw_tokens_total", { ...labels, direction: "out" })).toBe(29);
  });

  it("is left out of client authentication and documented without a security requirement", async () => {
    const doc = (await app.inject({ method: "GET", url: "/docs/json" })).json();
    expect(doc.paths["/metrics"].get).toMatchObject({ tags: ["operations"], security: [] });
  });

  it("counts WebSocket connections through the context's gauge", async () => {
    context.metrics.websocketConnections.inc();
    context.metrics.websocketConnections.inc();
    context.metrics.websocketConnections.dec();
    expect(valueOf(await scrape(), "llmgw_websocket_connections")).toBe(1);
    context.metrics.websocketConnections.dec();
  });
});

describe("queue depth when Redis does not answer", () => {
  it("answers within the timeout with llmgw_queue_up 0 and no stale depths", async () => {
    let calls = 0;
    const metrics = createApiMetrics({
      defaultMetrics: false,
      queueTimeoutMs: 100,
      readQueueCounts: () => {
        calls++;
        return calls === 1 ? Promise.resolve({ waiting: 5, active: 1, delayed: 0, failed: 2 }) : new Promise(() => {});
      },
    });
    const first = await metrics.scrape();
    expect(valueOf(first, "llmgw_queue_up")).toBe(1);
    expect(valueOf(first, "llmgw_queue_jobs", { state: "waiting" })).toBe(5);
    expect(valueOf(first, "llmgw_queue_jobs", { state: "failed" })).toBe(2);
    // Both queue families share one reading per scrape.
    expect(calls).toBe(1);

    const started = Date.now();
    const second = await metrics.scrape();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(valueOf(second, "llmgw_queue_up")).toBe(0);
    expect(parseSamples(second).filter((sample) => sample.name === "llmgw_queue_jobs")).toEqual([]);
  });
});
