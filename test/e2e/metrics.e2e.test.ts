import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { GatewayStack } from "@llmgw/testing";
import { startMockedGateway, type MockedGateway } from "./support/mocked-gateway.js";

// The built API and a worker as real processes; both /metrics endpoints scraped over HTTP.
let stack: MockedGateway;
let gateway: GatewayStack;
let client: OpenAI;
let CLIENT_KEY: string;
let PROVIDER_KEY: string;
let workerMetricsUrl: string;

beforeAll(async () => {
  stack = await startMockedGateway({ env: { RATE_LIMIT_ENABLED: "false", CACHE_ENABLED: "false" } });
  ({ gateway, client, clientKey: CLIENT_KEY, providerKey: PROVIDER_KEY } = stack);
  const ready = JSON.parse(await gateway.workers[0].waitForLine(/worker ready/)) as { metricsPort: number };
  expect(ready.metricsPort).toBeGreaterThan(0);
  workerMetricsUrl = `http://127.0.0.1:${ready.metricsPort}/metrics`;
});

afterAll(() => stack?.stop());

/** The value of the sample with exactly these labels, from Prometheus text. */
function valueOf(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const match = /^([\w:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const same = Object.keys(found).length === Object.keys(labels).length && Object.entries(labels).every(([key, value]) => found[key] === value);
    if (same) return Number(match[3]);
  }
  return undefined;
}

const scrape = async (url: string) => {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return response.text();
};

const ask = (text: string, model = "deepseek-chat") => ({ model, messages: [{ role: "user" as const, content: text }] });

describe("metrics of a running stack", () => {
  it("the worker's /metrics counts upstream calls, errors, first tokens, jobs and tokens", async () => {
    const json = await client.chat.completions.create(ask("count me [[mock:words=12]]"));
    const stream = await client.chat.completions.create({ ...ask("stream me [[mock:words=20]]"), stream: true, stream_options: { include_usage: true } });
    let streamUsage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) if (chunk.usage) streamUsage = chunk.usage;
    // Fails once with a retryable 503, then succeeds on the second try.
    const retried = await client.chat.completions.create(ask("retry me [[mock:status=503,times=1]]"));
    // The upstream's own 400 is final: no retry.
    await expect(client.chat.completions.create(ask("refuse me", "deepseek/mock-error-400"))).rejects.toMatchObject({ status: 400 });

    const text = await scrape(workerMetricsUrl);
    const chat = { provider: "deepseek", model: "deepseek-chat" };
    // `deepseek/mock-error-400` reaches DeepSeek but no configuration lists it: model="other".
    const refused = { provider: "deepseek", model: "other" };
    expect(valueOf(text, "llmgw_worker_jobs_total", { ...chat, outcome: "succeeded" })).toBe(3);
    expect(valueOf(text, "llmgw_worker_jobs_total", { ...chat, outcome: "retried" })).toBe(1);
    expect(valueOf(text, "llmgw_worker_jobs_total", { ...refused, outcome: "failed" })).toBe(1);
    expect(valueOf(text, "llmgw_worker_upstream_errors_total", { ...chat, status: "503", retryable: "true" })).toBe(1);
    expect(valueOf(text, "llmgw_worker_upstream_errors_total", { ...refused, status: "400", retryable: "false" })).toBe(1);
    expect(valueOf(text, "llmgw_worker_upstream_duration_seconds_count", { ...chat, outcome: "ok" })).toBe(3);
    expect(valueOf(text, "llmgw_worker_upstream_duration_seconds_count", { ...chat, outcome: "error" })).toBe(1);
    // Every successful try streamed from the upstream, so each saw a first chunk.
    expect(valueOf(text, "llmgw_worker_time_to_first_token_seconds_count", chat)).toBe(3);
    expect(valueOf(text, "llmgw_worker_job_duration_seconds_count", { outcome: "succeeded" })).toBe(3);
    expect(valueOf(text, "llmgw_worker_job_duration_seconds_count", { outcome: "failed" })).toBe(1);
    expect(valueOf(text, "llmgw_worker_jobs_in_flight")).toBe(0);

    const usages = [json.usage, streamUsage, retried.usage];
    const sum = (pick: (usage: OpenAI.CompletionUsage) => number) => usages.reduce((total, usage) => total + pick(usage!), 0);
    expect(valueOf(text, "llmgw_worker_tokens_total", { ...chat, direction: "in" })).toBe(sum((usage) => usage.prompt_tokens));
    expect(valueOf(text, "llmgw_worker_tokens_total", { ...chat, direction: "out" })).toBe(sum((usage) => usage.completion_tokens));
    expect(text).not.toContain(PROVIDER_KEY);
    expect(text).not.toContain(CLIENT_KEY);

    // The API counts the same tokens once its usage drain has recorded the workers' entries.
    await vi.waitFor(
      async () => {
        const api = await scrape(`${gateway.url}/metrics`);
        expect(valueOf(api, "llmgw_tokens_total", { ...chat, kind: "sync", direction: "out" })).toBe(
          json.usage!.completion_tokens + retried.usage!.completion_tokens,
        );
        expect(valueOf(api, "llmgw_tokens_total", { ...chat, kind: "stream", direction: "out" })).toBe(streamUsage!.completion_tokens);
      },
      { timeout: 5000, interval: 100 },
    );
  });

  it("the API's /metrics counts a streamed answer over real HTTP when its stream ends", async () => {
    const stream = await client.chat.completions.create({ ...ask("one more stream [[mock:words=5]]"), stream: true });
    for await (const _chunk of stream) {
      // drain
    }
    const text = await scrape(`${gateway.url}/metrics`);
    expect(valueOf(text, "llmgw_http_requests_total", { route: "/v1/chat/completions", method: "POST", status: "200" })).toBe(4);
    expect(valueOf(text, "llmgw_http_requests_total", { route: "/v1/chat/completions", method: "POST", status: "400" })).toBe(1);
    expect(valueOf(text, "llmgw_cache_requests_total", { result: "bypass" })).toBe(5);
    expect(valueOf(text, "llmgw_sync_wait_seconds_count", { mode: "stream" })).toBe(2);
    expect(valueOf(text, "llmgw_queue_up")).toBe(1);
    expect(text).not.toContain(CLIENT_KEY);
    expect(text).not.toContain(PROVIDER_KEY);
  });

  it("the worker's metrics port answers only /metrics, and closes with the worker on SIGTERM", async () => {
    const other = await fetch(workerMetricsUrl.replace("/metrics", "/"));
    expect([other.status, await other.text()]).toEqual([404, "not found: try GET /metrics\n"]);
    const worker = gateway.workers[0];
    expect(await worker.stop("SIGTERM")).toBe(0);
    await expect(fetch(workerMetricsUrl)).rejects.toThrow();
  });
});
