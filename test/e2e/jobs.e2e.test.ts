import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { verifyWebhookSignature } from "@llmgw/jobs";
import { startGateway, startMockUpstream, type GatewayStack, type MockUpstream } from "@llmgw/testing";
import { errorOf } from "./support/json-bodies.js";

// The built API and two workers as real processes, the mock upstream, the official openai client and `ws`.
const KEY_A = `gw-jobs-e2e-a${randomUUID().replace(/-/g, "")}`;
const KEY_B = `gw-jobs-e2e-b${randomUUID().replace(/-/g, "")}`;
const PROVIDER_KEY = `sk-provider-${randomUUID()}`;
const WEBHOOK_SECRET = `whsec-${randomUUID()}`;

type Job = {
  id: string;
  object: "job";
  status: string;
  result: OpenAI.ChatCompletion | null;
  error: unknown;
  metadata: Record<string, unknown>;
  attempts: number;
};
type Frame = Record<string, unknown> & { type: string };

let mock: MockUpstream;
let gateway: GatewayStack;
let client: OpenAI;
let upstream: OpenAI;
let hooks: Server;
let hooksUrl: string;
const deliveries: { headers: IncomingHttpHeaders; body: string }[] = [];
const deliveryWaiters = new Set<() => void>();

beforeAll(async () => {
  mock = await startMockUpstream();
  hooks = createServer((request, response) => {
    const parts: Buffer[] = [];
    request.on("data", (part: Buffer) => parts.push(part));
    request.on("end", () => {
      deliveries.push({ headers: request.headers, body: Buffer.concat(parts).toString("utf8") });
      response.writeHead(204).end();
      deliveryWaiters.forEach((check) => check());
    });
  });
  await new Promise<void>((resolve) => hooks.listen(0, "127.0.0.1", resolve));
  hooksUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}`;
  gateway = await startGateway({
    workers: 2,
    env: {
      REDIS_URL: inject("redisUrl"),
      QUEUE_PREFIX: `e2e-jobs-${randomUUID()}`,
      USE_DATABASE_AUTH: "false",
      API_KEYS: `${KEY_A},${KEY_B}`,
      DEEPSEEK_API_KEY: PROVIDER_KEY,
      DEEPSEEK_BASE_URL: mock.url,
      CACHE_ENABLED: "false",
      RATE_LIMIT_ENABLED: "false",
      WEBHOOK_SECRET,
      // The test's receiver listens on loopback.
      WEBHOOK_ALLOW_PRIVATE: "true",
      WORKER_CONCURRENCY: "16",
    },
  });
  client = new OpenAI({ apiKey: KEY_A, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
  upstream = new OpenAI({ apiKey: PROVIDER_KEY, baseURL: mock.url, maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.stop();
  await mock?.close();
  await new Promise((resolve) => hooks?.close(resolve));
});

const ask = (text: string) => ({ model: "deepseek-chat", messages: [{ role: "user" as const, content: text }] });
const headersOf = (key: string) => ({ authorization: `Bearer ${key}`, "content-type": "application/json" });

/** Submits through the official client's generic POST, as any OpenAI-SDK user can. */
const submit = (body: object) => client.post<Job>("/jobs", { body });
const getJob = (id: string, key = KEY_A) => fetch(`${gateway.url}/v1/jobs/${id}`, { headers: headersOf(key) });

/** Waits for the job's end by reading its SSE stream, which ends after the final event. */
async function readEvents(id: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${gateway.url}/v1/jobs/${id}/events`, { headers: { ...headersOf(KEY_A), ...headers } });
  expect(response.status).toBe(200);
  return parseSse(await response.text());
}

function parseSse(text: string) {
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "" && !block.startsWith(":"))
    .map((block) => {
      const fields = Object.fromEntries(block.split("\n").map((line) => [line.slice(0, line.indexOf(": ")), line.slice(line.indexOf(": ") + 2)]));
      return { id: fields.id as string, event: fields.event as string, data: JSON.parse(fields.data) as Frame };
    });
}

function openSocket(headers: Record<string, string> = headersOf(KEY_A)) {
  const socket = new WebSocket(`${gateway.url.replace("http", "ws")}/v1/ws`, { headers });
  const frames: Frame[] = [];
  const checks = new Set<() => void>();
  socket.on("message", (data) => {
    frames.push(JSON.parse(data.toString()) as Frame);
    checks.forEach((check) => check());
  });
  const opened = new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  /** Waits until `count` frames match. */
  const waitFor = (predicate: (frame: Frame) => boolean, count = 1, timeoutMs = 20_000) =>
    new Promise<Frame[]>((resolve, reject) => {
      const check = () => {
        const found = frames.filter(predicate);
        if (found.length < count) return;
        checks.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        checks.delete(check);
        reject(new Error(`timed out: ${frames.filter(predicate).length}/${count} frames; last: ${JSON.stringify(frames.slice(-3))}`));
      }, timeoutMs);
      checks.add(check);
      check();
    });
  return { socket, frames, opened, waitFor, send: (frame: object) => socket.send(JSON.stringify(frame)) };
}

function waitForDeliveries(count: number, timeoutMs = 20_000) {
  return new Promise<void>((resolve, reject) => {
    const check = () => {
      if (deliveries.length < count) return;
      deliveryWaiters.delete(check);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => reject(new Error(`timed out: ${deliveries.length}/${count} webhook deliveries`)), timeoutMs);
    deliveryWaiters.add(check);
    check();
  });
}

const chunkText = (frames: Frame[]) =>
  frames
    .filter((frame) => frame.type === "job.chunk")
    .map((frame) => (frame.data as OpenAI.ChatCompletionChunk).choices[0]?.delta?.content ?? "")
    .join("");

describe("jobs over HTTP", () => {
  it("submit, then poll until succeeded: the result is exactly the provider's answer", async () => {
    const request = ask("A job, please: 你好 🌍");
    const { data: submitted, response } = await client.post<Job>("/jobs", { body: { request, metadata: { ticket: "T-1" } } }).withResponse();
    expect(response.status).toBe(202);
    expect(response.headers.get("location")).toBe(`/v1/jobs/${submitted.id}`);
    expect(submitted).toMatchObject({ object: "job", result: null, metadata: { ticket: "T-1" } });
    // A worker may have taken it already.
    expect(["queued", "running"]).toContain(submitted.status);
    await readEvents(submitted.id);
    const job = await client.get<Job>(`/jobs/${submitted.id}`);
    const direct = await upstream.chat.completions.create(request);
    expect(job).toMatchObject({ id: submitted.id, status: "succeeded", attempts: 1, error: null, metadata: { ticket: "T-1" } });
    expect(job.result).toEqual(direct);
    expect(job.result?.usage?.total_tokens).toBeGreaterThan(0);
  });

  it("runs 200 jobs through two workers, and every one succeeds with its own answer", async () => {
    const texts = Array.from({ length: 200 }, (_, i) => `bulk job ${i}`);
    const jobs = await Promise.all(texts.map((text) => submit({ request: ask(text) })));
    const watcher = openSocket();
    await watcher.opened;
    for (const job of jobs) watcher.send({ type: "subscribe", job_id: job.id });
    const ends = await watcher.waitFor((frame) => frame.type === "job.completed" || frame.type === "job.failed", 200, 60_000);
    expect(ends.every((frame) => frame.type === "job.completed")).toBe(true);
    watcher.socket.close();
    const finished = await Promise.all(jobs.map((job) => client.get<Job>(`/jobs/${job.id}`)));
    finished.forEach((job, i) => {
      expect(job.status).toBe("succeeded");
      expect(job.result?.choices[0].message.content).toContain(`bulk job ${i}`);
    });
    // Both worker processes took part: each counts succeeded jobs on its own /metrics.
    const succeededBy = await Promise.all(
      gateway.workers.map(async (worker) => {
        const ready = JSON.parse(await worker.waitForLine(/worker ready/)) as { metricsPort: number };
        const text = await (await fetch(`http://127.0.0.1:${ready.metricsPort}/metrics`)).text();
        return [...text.matchAll(/^llmgw_worker_jobs_total\{[^}]*outcome="succeeded"[^}]*\} (\d+)/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
      }),
    );
    expect(succeededBy.every((count) => count > 0)).toBe(true);
    expect(succeededBy.reduce((a, b) => a + b)).toBeGreaterThanOrEqual(200);
  }, 120_000);

  it("answers another key with 404 on every route, exactly as an unknown id", async () => {
    const job = await submit({ request: ask("mine only") });
    await readEvents(job.id);
    for (const [method, path] of [
      ["GET", ""],
      ["POST", "/cancel"],
      ["GET", "/events"],
    ]) {
      const response = await fetch(`${gateway.url}/v1/jobs/${job.id}${path}`, { method, headers: headersOf(KEY_B) });
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({
        error: { message: `No job with id '${job.id}'.`, type: "invalid_request_error", param: null, code: "job_not_found" },
      });
    }
    const stranger = openSocket(headersOf(KEY_B));
    await stranger.opened;
    stranger.send({ type: "subscribe", job_id: job.id });
    const [error] = await stranger.waitFor((frame) => frame.type === "error");
    expect(error).toMatchObject({ job_id: job.id, error: { code: "job_not_found" } });
    stranger.socket.close();
    expect((await client.get<Job>(`/jobs/${job.id}`)).status).toBe("succeeded");
  });

  it("takes 20 parallel submits with one Idempotency-Key as one job and one upstream call", async () => {
    const text = `idempotent ${randomUUID()}`;
    const key = `order-${randomUUID()}`;
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(`${gateway.url}/v1/jobs`, {
          method: "POST",
          headers: { ...headersOf(KEY_A), "idempotency-key": key },
          body: JSON.stringify({ request: ask(text) }),
        }),
      ),
    );
    const bodies = (await Promise.all(responses.map((response) => response.json()))) as Job[];
    expect(responses.map((response) => response.status).sort()).toEqual([...Array(19).fill(200), 202]);
    expect(new Set(bodies.map((body) => body.id)).size).toBe(1);
    await readEvents(bodies[0].id);
    const again = await fetch(`${gateway.url}/v1/jobs`, {
      method: "POST",
      headers: { ...headersOf(KEY_A), "idempotency-key": key },
      body: JSON.stringify({ request: ask(text) }),
    });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ id: bodies[0].id, status: "succeeded" });
    const calls = mock.calls.filter((call) => JSON.stringify(call.body).includes(text));
    expect(calls).toHaveLength(1);
    const reused = await fetch(`${gateway.url}/v1/jobs`, {
      method: "POST",
      headers: { ...headersOf(KEY_A), "idempotency-key": key },
      body: JSON.stringify({ request: ask(`${text} but different`) }),
    });
    expect(reused.status).toBe(422);
    expect((await errorOf(reused)).code).toBe("idempotency_key_reused");
  });

  it("cancels a job whose upstream call hangs: the job ends cancelled and the upstream sees the abort", async () => {
    const abortsBefore = mock.aborts;
    const callsBefore = mock.calls.length;
    const job = await submit({ request: ask(`hang until cancelled ${randomUUID()} [[mock:hang]]`) });
    await mock.waitForCalls(callsBefore + 1, 10_000);
    const cancelled = await client.post<Job>(`/jobs/${job.id}/cancel`);
    expect(cancelled).toMatchObject({ id: job.id, status: "cancelled", result: null });
    await mock.waitForAbort(abortsBefore + 1, 10_000);
    const events = await readEvents(job.id);
    expect(events.map((event) => event.event)).toEqual(["job.queued", "job.started", "job.cancelled"]);
    expect((await client.get<Job>(`/jobs/${job.id}`)).status).toBe("cancelled");
    const again = await fetch(`${gateway.url}/v1/jobs/${job.id}/cancel`, { method: "POST", headers: headersOf(KEY_A) });
    expect(again.status).toBe(409);
    expect((await errorOf(again)).code).toBe("job_already_ended");
  });

  it("logs no chunks for a synchronous JSON call: the provider answered it in one piece, kept as the job's result", async () => {
    const { data: answer, response } = await client.chat.completions.create(ask(`sync log ${randomUUID()} [[mock:words=30]]`)).withResponse();
    const jobId = response.headers.get("x-job-id")!;
    const events = await readEvents(jobId);
    expect(events.map((event) => event.event)).toEqual(["job.queued", "job.started", "job.completed"]);
    expect((events.at(-1)?.data.data as { result: unknown }).result).toEqual(answer);
  });

  it("resumes the SSE events after Last-Event-ID with only the later events", async () => {
    const job = await submit({ request: ask("stream me slowly [[mock:words=30]]") });
    const all = await readEvents(job.id);
    expect(all[0].event).toBe("job.queued");
    expect(all.at(-1)!.event).toBe("job.completed");
    expect(all.filter((event) => event.event === "job.chunk").length).toBeGreaterThan(3);
    const resumed = await readEvents(job.id, { "last-event-id": all[3].id });
    expect(resumed).toEqual(all.slice(4));
    const result = (all.at(-1)!.data.data as { result: OpenAI.ChatCompletion }).result;
    expect(chunkText(all.map((event) => event.data))).toBe(result.choices[0].message.content);
  });
});

describe("jobs over WebSocket", () => {
  it("create → job.created, chunks whose text equals the result, then job.completed", async () => {
    const request = ask("over the socket [[mock:words=40]]");
    const socket = openSocket();
    await socket.opened;
    socket.send({ type: "create", request, client_ref: "mine" });
    const [created] = await socket.waitFor((frame) => frame.type === "job.created");
    expect(created).toEqual({ type: "job.created", job_id: expect.stringMatching(/^job_/), client_ref: "mine" });
    const [completed] = await socket.waitFor((frame) => frame.type === "job.completed" && frame.job_id === created.job_id);
    const result = (completed.data as { result: OpenAI.ChatCompletion }).result;
    const ofJob = socket.frames.filter((frame) => frame.job_id === created.job_id);
    expect(ofJob[0]).toBe(created);
    expect(ofJob[1]).toMatchObject({ type: "job.queued" });
    expect(ofJob.at(-1)).toBe(completed);
    expect(chunkText(ofJob)).toBe(result.choices[0].message.content);
    expect(result).toEqual(await upstream.chat.completions.create(request));
    socket.socket.close();
  });

  it("authenticates a browser-style client with an auth frame, and replays a finished job on subscribe", async () => {
    const finished = await submit({ request: ask("finished before the socket") });
    const events = await readEvents(finished.id);
    const browser = openSocket({});
    await browser.opened;
    browser.send({ type: "auth", api_key: KEY_A });
    await browser.waitFor((frame) => frame.type === "ack" && frame.action === "auth");
    browser.send({ type: "subscribe", job_id: finished.id });
    await browser.waitFor((frame) => frame.type === "job.completed");
    expect(browser.frames.filter((frame) => frame.job_id === finished.id)).toEqual(events.map((event) => event.data));
    browser.socket.close();
  });
});

describe("webhooks", () => {
  it("POSTs the finished job, signed with Standard Webhooks headers the receiver can verify", async () => {
    const before = deliveries.length;
    const job = await submit({ request: ask("call me back"), webhook: `${hooksUrl}/done?order=7` });
    await waitForDeliveries(before + 1);
    const delivery = deliveries[before];
    expect(verifyWebhookSignature(WEBHOOK_SECRET, delivery.headers, delivery.body)).toBe(true);
    expect(delivery.headers["webhook-id"]).toBe(job.id);
    const body = JSON.parse(delivery.body) as Job;
    expect(body).toEqual(await client.get<Job>(`/jobs/${job.id}`));
    expect(body.status).toBe("succeeded");
  });

  it("also calls back when a job is cancelled", async () => {
    const before = deliveries.length;
    const callsBefore = mock.calls.length;
    const job = await submit({ request: ask(`hang then cancel ${randomUUID()} [[mock:hang]]`), webhook: `${hooksUrl}/cancelled` });
    await mock.waitForCalls(callsBefore + 1, 10_000);
    await client.post(`/jobs/${job.id}/cancel`);
    await waitForDeliveries(before + 1);
    const delivery = deliveries[before];
    expect(verifyWebhookSignature(WEBHOOK_SECRET, delivery.headers, delivery.body)).toBe(true);
    expect(JSON.parse(delivery.body)).toMatchObject({ id: job.id, status: "cancelled" });
  });

  it("refuses a webhook on a non-http scheme at submit", async () => {
    const response = await fetch(`${gateway.url}/v1/jobs`, {
      method: "POST",
      headers: headersOf(KEY_A),
      body: JSON.stringify({ request: ask("x"), webhook: "file:///etc/passwd" }),
    });
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({ param: "webhook", code: "invalid_request" });
  });
});
