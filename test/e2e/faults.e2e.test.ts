import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createJobStore } from "@llmgw/jobs";
import { cacheScope, canonicalRequestKey, coalescingJobId } from "@llmgw/cache";
import { loremWords, type MockUpstream } from "@llmgw/testing";
import { staticKeyId } from "../../apps/api/src/services/client-auth.js";
import { startMockedGateway, type MockedGateway } from "./support/mocked-gateway.js";
import { errorOf } from "./support/json-bodies.js";

// Faults made for real: the mock upstream fails, hangs and drops; callers walk away.
let stack: MockedGateway;
let mock: MockUpstream;
let client: OpenAI;
let redis: Redis;
let store: ReturnType<typeof createJobStore>;

beforeAll(async () => {
  stack = await startMockedGateway({
    workers: 2,
    env: { RATE_LIMIT_ENABLED: "false", JOB_ATTEMPTS: "3", FIRST_BYTE_TIMEOUT_MS: "700", IDLE_TIMEOUT_MS: "700", JOB_TIMEOUT_MS: "3000" },
  });
  ({ mock, client } = stack);
  redis = new Redis(inject("redisUrl"));
  store = createJobStore(redis, { prefix: stack.prefix, retentionSeconds: 3600 });
});

afterAll(async () => {
  await stack?.stop();
  redis?.disconnect();
});

/** A unique request, so its upstream calls can be counted and it is never a cache hit. */
function unique(directives: string) {
  const tag = randomUUID();
  const content = `${tag} ${directives}`;
  return { tag, request: { model: "deepseek-chat", messages: [{ role: "user" as const, content }] } };
}
const callsWith = (tag: string) => stack.callsWith(tag);
const post = (body: unknown, signal?: AbortSignal) => stack.complete(body, { signal });

describe("retries: the queue owns them", () => {
  it("ends a persistent upstream 500 after exactly JOB_ATTEMPTS calls with a 502 the SDKs will not retry", async () => {
    const { tag, request } = unique("[[mock:status=500]]");
    const response = await post(request);
    expect(response.status).toBe(502);
    expect(response.headers.get("x-should-retry")).toBe("false");
    expect(response.headers.get("x-job-id")).toMatch(/^job_/);
    const error = await errorOf(response);
    expect(error).toMatchObject({ type: "upstream_error", code: "upstream_error", param: null });
    expect(error.message).toMatch(/^The provider failed after 3 attempts: /);
    expect(callsWith(tag)).toBe(3);
  });

  it("retries a 429 once after the upstream's Retry-After and succeeds", async () => {
    const { tag, request } = unique("[[mock:status=429,times=1,retry_after=1]]");
    const started = Date.now();
    const result = await client.chat.completions.create(request);
    expect(result.choices[0].message.content).toContain(tag);
    expect(callsWith(tag)).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it("never retries an upstream 4xx other than 408/409/429: it passes through", async () => {
    const { tag, request } = unique("[[mock:status=422]]");
    const response = await post(request);
    expect(response.status).toBe(422);
    expect(callsWith(tag)).toBe(1);
  });
});

describe("timeouts per try (keep-alive comments are not progress)", () => {
  // Each try's clock aborts the upstream socket; only a try that produced nothing is retried.
  // A JSON call's first byte is its response headers; its body is bounded by the try's total only.
  it.each([
    ["retries a JSON try whose first byte never comes, then answers 502", "json", "[[mock:hang]]", "no first byte within 700 ms", 3],
    ["retries a stream try whose first chunk never comes, then answers 502", "stream", "[[mock:hang]]", "no first byte within 700 ms", 3],
    ["does not retry a stream try that went idle after chunks", "stream", "[[mock:hang_after=3]]", "no data for 700 ms in the middle of the answer", 1],
    ["times out as idle a stream that sends only keep-alive comments", "stream", "[[mock:keepalive_after=3]]", "no data for 700 ms in the middle of the answer", 1],
    ["ends a stream try that keeps producing past JOB_TIMEOUT_MS", "stream", "[[mock:words=200,chunk_delay=50]]", "no complete answer within 3000 ms", 1],
    ["bounds a JSON body that never ends by JOB_TIMEOUT_MS, not the idle clock, and retries it", "json", "[[mock:hang_after=3]]", "no complete answer within 3000 ms", 3],
  ])("%s", async (_title, form, directive, message, calls) => {
    const { tag, request } = unique(directive);
    const abortsBefore = mock.aborts;
    const response = await post(form === "stream" ? { ...request, stream: true } : request);
    expect(response.status).toBe(form === "stream" && calls === 1 ? 200 : 502);
    expect((await failureOf(response)).message).toContain(message);
    expect(callsWith(tag)).toBe(calls);
    await mock.waitForAbort(abortsBefore + calls, 2000);
  });
});

/** The error of a failed call: the JSON body, or the error event that ends a stream already under way. */
async function failureOf(response: Response): Promise<{ message: string }> {
  if (!response.headers.get("content-type")?.startsWith("text/event-stream")) return errorOf(response);
  const events = (await response.text()).split("\n\n").filter((event) => event.startsWith("data: {"));
  const last = JSON.parse(events.at(-1)!.slice("data: ".length)) as { error?: { message: string } };
  expect(last.error).toBeDefined();
  return last.error!;
}

describe("a stream that breaks after chunks reached a synchronous SSE caller", () => {
  it("ends with an error event and never repeats or mixes text", async () => {
    const { tag, request } = unique("[[mock:words=40,drop_after=3]]");
    const stream = await client.chat.completions.create({ ...request, stream: true });
    let text = "";
    const failure = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    })().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    // Only the start of the answer, once: no retry's text was appended or mixed in.
    const full = loremWords(40);
    expect(text.length).toBeGreaterThan(0);
    expect(text.length).toBeLessThan(full.length);
    expect(full.startsWith(text)).toBe(true);
    expect(callsWith(tag)).toBe(1);
  });
});

describe("callers that go away", () => {
  it("cancels the job and aborts the upstream call within 1 s of a JSON caller disconnecting", async () => {
    const { tag, request } = unique("[[mock:hang]]");
    const abortsBefore = mock.aborts;
    const controller = new AbortController();
    const pending = post(request, controller.signal).catch(() => null);
    while (callsWith(tag) === 0) await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    await pending;
    await mock.waitForAbort(abortsBefore + 1, 1000);
    // A caller leaving is not the gateway failing: the API logs it at info level with status 499, never as an error.
    const line = await stack.gateway.api.waitForLine(/the caller left before the answer/);
    const { jobId, reqId } = JSON.parse(line) as { jobId: string; reqId: string };
    expect((await store.get(jobId))?.status).toBe("cancelled");
    const ofRequest = stack.gateway.api.lines.filter((text) => text.includes(`"reqId":"${reqId}"`));
    expect(ofRequest.filter((text) => /"level":50/.test(text))).toEqual([]);
  });

  it("cancels the job and aborts the upstream call within 1 s of an SSE caller disconnecting mid-stream", async () => {
    const { tag, request } = unique("[[mock:hang_after=3]]");
    const abortsBefore = mock.aborts;
    const controller = new AbortController();
    const response = await post({ ...request, stream: true }, controller.signal);
    const jobId = response.headers.get("x-job-id")!;
    const reader = response.body!.getReader();
    await reader.read(); // the first chunk has arrived: the answer is streaming
    controller.abort();
    await mock.waitForAbort(abortsBefore + 1, 1000);
    expect((await store.get(jobId))?.status).toBe("cancelled");
    expect(callsWith(tag)).toBe(1);
  });

  it("cancels nothing while a coalesced identical request still waits", async () => {
    const { tag, request } = unique("[[mock:delay=600]]");
    const controller = new AbortController();
    const leaving = post(request, controller.signal).catch(() => null);
    while (callsWith(tag) === 0) await new Promise((resolve) => setImmediate(resolve));
    const staying = client.chat.completions.create(request).withResponse();
    // Both callers share the job before the first one leaves: wait until it counts two waiters.
    const jobId = coalescingJobId(canonicalRequestKey(request, cacheScope({ userId: null, keyId: staticKeyId(stack.clientKey) })), "json");
    while ((await redis.hget(store.keys.record(jobId), "waiters")) !== "2") await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    await leaving;
    const { data, response } = await staying;
    expect(data.choices[0].message.content).toContain(tag);
    expect(callsWith(tag)).toBe(1);
    expect(response.headers.get("x-job-id")).toBe(jobId);
    expect((await store.get(jobId))?.status).toBe("succeeded");
  });
});

describe("a coalesced request whose job record has expired", () => {
  it("runs again: BullMQ still keeping the old job under that id does not swallow the new one", async () => {
    const { tag, request } = unique("");
    // Not stored in the cache, so the same request goes to the queue again; coalescing still applies.
    const send = () => stack.complete(request, { headers: { "cache-control": "no-store" } });
    const first = await send();
    expect(first.status).toBe(200);
    const jobId = first.headers.get("x-job-id")!;
    expect(jobId).toMatch(/^job_c/);
    // The record and its log expire (retention); BullMQ's completed entry stays.
    await redis.del(store.keys.record(jobId), store.keys.events(jobId));
    const second = await send();
    expect(second.status).toBe(200);
    expect(second.headers.get("x-job-id")).toBe(jobId);
    expect(callsWith(tag)).toBe(2);
    expect((await store.get(jobId))?.status).toBe("succeeded");
  });
});

describe("provider addresses come only from configuration", () => {
  it("ignores api_base / base_url fields of a request", async () => {
    const { tag, request } = unique("");
    const result = await client.chat.completions.create({
      ...request,
      // @ts-expect-error not OpenAI parameters: a hostile client's attempt to redirect the call
      base_url: "http://127.0.0.1:9/v1",
      api_base: "http://127.0.0.1:9/v1",
    });
    expect(result.choices[0].message.content).toContain(tag);
    expect(callsWith(tag)).toBe(1);
  });
});
