import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createLogger } from "@llmgw/logger";
import {
  concurrencyLeaseMs,
  createCompletionQueue,
  createJobEventHub,
  createJobProducer,
  createJobRunner,
  createJobStore,
  createWebhookOutbox,
  createWebhookQueue,
  queueJobId,
  type CompletionJobData,
  type JobMode,
  type JobRecord,
} from "@llmgw/jobs";
import type { ChatCompletion, ChatCompletionRequest, ProviderAdapter } from "@llmgw/providers";
import { createCompletionWorker } from "../src/completion-worker.js";
import { createWorkerMetrics } from "../src/metrics.js";

const redisUrl = inject("redisUrl");
const logger = createLogger({ level: "silent" });
const TRY_TIMEOUT_MS = 5000;
const closers: (() => Promise<unknown> | void)[] = [];

afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

/**
 * A slow upstream that counts the calls running at once per key (the first word of the prompt).
 * A prompt ending in `hold` answers only when the test lets it; with `hang`, no call ever answers
 * (the worker that uses it is about to die).
 */
function createSlowUpstream(delayMs: number, options: { hang?: boolean } = {}) {
  const running = new Map<string, number>();
  const most = new Map<string, number>();
  const seen: string[] = [];
  const held = new Map<string, () => void>();
  const adapter: ProviderAdapter = {
    name: "p",
    supportsStreaming: false,
    async createChatCompletion(request, { signal }) {
      const prompt = promptOf(request);
      const key = prompt.split(" ")[0];
      seen.push(prompt);
      running.set(key, (running.get(key) ?? 0) + 1);
      most.set(key, Math.max(most.get(key) ?? 0, running.get(key) ?? 0));
      try {
        if (options.hang) await new Promise(() => {});
        await new Promise<void>((resolve, reject) => {
          const timer = prompt.endsWith("hold") ? undefined : setTimeout(resolve, delayMs);
          held.set(prompt, resolve);
          signal.addEventListener("abort", () => (clearTimeout(timer), reject(signal.reason)), { once: true });
        });
        return answer(prompt);
      } finally {
        running.set(key, (running.get(key) ?? 1) - 1);
      }
    },
    streamChatCompletion() {
      throw new Error("not used");
    },
  };
  return { adapter, most, seen, running, release: (prompt: string) => held.get(prompt)?.() };
}

const promptOf = (request: ChatCompletionRequest) => String((request.messages[0] as { content?: unknown }).content);

const answer = (prompt: string) =>
  ({
    id: `cmpl-${randomUUID()}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: "up",
    choices: [{ index: 0, message: { role: "assistant", content: `ok ${prompt}` }, finish_reason: "stop", logprobs: null }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  }) as unknown as ChatCompletion;

/** API side and workers of one deployment (its own prefix) on the test's private Redis. */
function createStack(options: { lockMs?: number } = {}) {
  const prefix = `test-${randomUUID()}`;
  const redis = new Redis(redisUrl);
  const subscriber = new Redis(redisUrl);
  const queueConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const store = createJobStore(redis, { prefix, retentionSeconds: 3600 });
  const queue = createCompletionQueue(queueConnection, prefix);
  const webhookQueue = createWebhookQueue(queueConnection, prefix);
  const webhooks = createWebhookOutbox(redis, store.keys, webhookQueue);
  const leaseMs = concurrencyLeaseMs(TRY_TIMEOUT_MS);
  const producer = createJobProducer({
    redis,
    store,
    hub: createJobEventHub(subscriber, store),
    queue,
    jobAttempts: 3,
    webhooks,
    concurrencyLeaseMs: leaseMs,
  });
  const runner = createJobRunner({ store, webhooks });
  const workers: ReturnType<typeof createCompletionWorker>[] = [];
  closers.push(async () => {
    await Promise.all(workers.map((worker) => worker.close(true).catch(() => {})));
    await queue.close();
    await webhookQueue.close();
    for (const connection of [redis, subscriber, queueConnection]) connection.disconnect();
  });

  return {
    store,
    producer,
    queue,
    redis,
    /** A worker process: its own BullMQ connection and commands connection, as main.ts builds it. */
    addWorker(adapter: ProviderAdapter, concurrency = 4) {
      const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
      const commands = new Redis(redisUrl);
      const metrics = createWorkerMetrics({ defaultMetrics: false });
      const worker = createCompletionWorker(
        {
          runner,
          logger,
          metrics,
          resolveProvider: () => adapter,
          maxAttempts: 3,
          timeouts: { firstByteMs: TRY_TIMEOUT_MS, idleMs: TRY_TIMEOUT_MS, totalMs: TRY_TIMEOUT_MS },
        },
        { connection, prefix, concurrency, lockMs: options.lockMs ?? 10_000, slots: { redis: commands, keys: store.keys, leaseMs } },
      );
      workers.push(worker);
      closers.push(() => {
        connection.disconnect();
        commands.disconnect();
      });
      return { worker, metrics };
    },
    submit(keyId: string, prompt: string, options: { maxConcurrent?: number; mode?: JobMode } = {}): Promise<JobRecord> {
      const request: ChatCompletionRequest = { model: "up", messages: [{ role: "user", content: `${keyId} ${prompt}` }] };
      const data: Omit<CompletionJobData, "jobId"> = {
        request,
        model: "m",
        provider: "p",
        owner: { keyId, userId: null },
        mode: options.mode ?? "async",
        requestId: `req-${prompt}`,
        ...(options.maxConcurrent ? { maxConcurrent: options.maxConcurrent } : {}),
      };
      return producer.submit({ data });
    },
    /** Resolves once every job has ended (polling the records), with the records. */
    async ended(jobs: JobRecord[], timeoutMs = 25_000): Promise<JobRecord[]> {
      return until(
        () => store.getMany(jobs.map((job) => job.id)) as Promise<JobRecord[]>,
        (records) => records.every((record) => record && record.completedAt !== null),
        timeoutMs,
      );
    },
    isParked: async (job: JobRecord, keyId: string) => (await redis.zscore(store.keys.parked(keyId), queueJobId(job.id, job.createdAt))) !== null,
  };
}

/** Polls until `done` holds (a condition, never a fixed sleep); fails after timeoutMs. */
async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const parkedTries = async (metrics: ReturnType<typeof createWorkerMetrics>) =>
  (await metrics.registry.getSingleMetric("llmgw_worker_parked_tries_total")?.get())?.values[0]?.value ?? 0;

describe("max_concurrent across two workers", () => {
  it("runs at most the cap of a key's jobs at once, all of them in the end, and other keys beside them", async () => {
    const stack = createStack();
    const upstream = createSlowUpstream(250);
    const workers = [stack.addWorker(upstream.adapter), stack.addWorker(upstream.adapter)];
    await Promise.all(workers.map(({ worker }) => worker.waitUntilReady()));

    const started = Date.now();
    const capped: JobRecord[] = [];
    for (let i = 1; i <= 12; i++) capped.push(await stack.submit("A", `a${i}`, { maxConcurrent: 2 }));
    const free: JobRecord[] = [];
    for (let i = 1; i <= 3; i++) free.push(await stack.submit("B", `b${i}`));
    // Synchronous calls of A, once A's backlog is parked: they count, and wait, but go first in A's line.
    await until(() => stack.redis.zcard(stack.store.keys.parked("A")), (parked) => parked >= 6);
    const sync = [await stack.submit("A", "s1", { maxConcurrent: 2, mode: "sync-json" }), await stack.submit("A", "s2", { maxConcurrent: 2, mode: "sync-json" })];

    const freeDone = await stack.ended(free);
    const freeDoneAt = Date.now() - started;
    const cappedDone = await stack.ended([...capped, ...sync]);
    const span = Date.now() - started;

    expect(upstream.most.get("A")).toBe(2);
    expect(upstream.most.get("B")).toBeGreaterThanOrEqual(2);
    expect([...freeDone, ...cappedDone].map((record) => record.status)).toEqual(Array(17).fill("succeeded"));
    // 14 jobs of A two at a time take at least 7 rounds of 250 ms; B's three ran in the first.
    expect(span).toBeGreaterThanOrEqual(7 * 250);
    expect(freeDoneAt).toBeLessThan(span / 2);
    // Parking is no attempt: one job.started each, attempt 1.
    expect(cappedDone.map((record) => record.attempt)).toEqual(Array(14).fill(1));
    for (const record of cappedDone) {
      const events = await stack.store.readEventsAfter(record.id);
      expect(events.map((event) => event.type)).toEqual(["job.queued", "job.started", "job.completed"]);
    }
    // The synchronous calls overtook the asynchronous jobs still parked when they came.
    const lastSync = Math.max(...cappedDone.slice(12).map((record) => record.completedAt ?? 0));
    const asyncAfter = cappedDone.slice(0, 12).filter((record) => (record.completedAt ?? 0) > lastSync);
    expect(asyncAfter.length).toBeGreaterThanOrEqual(3);
    // Each parked job was woken by a release, not by spinning: about one park per job beyond the cap.
    const parks = (await parkedTries(workers[0].metrics)) + (await parkedTries(workers[1].metrics));
    expect(parks).toBeGreaterThanOrEqual(8);
    expect(parks).toBeLessThanOrEqual(24);
    expect(upstream.seen.filter((prompt) => prompt.startsWith("A ")).length).toBe(14);
    // Nothing of A is left holding a slot (the last try gives it back just after its end is written) or waiting in line.
    await until(() => stack.redis.zcard(stack.store.keys.running("A")), (held) => held === 0);
    expect(await stack.redis.zcard(stack.store.keys.parked("A"))).toBe(0);
  });

  it("ends a job cancelled while parked at once, and its slot-to-be goes to the next job", async () => {
    const stack = createStack();
    const upstream = createSlowUpstream(50);
    const workers = [stack.addWorker(upstream.adapter), stack.addWorker(upstream.adapter)];
    await Promise.all(workers.map(({ worker }) => worker.waitUntilReady()));

    const first = await stack.submit("C", "c1 hold", { maxConcurrent: 1 });
    await until(async () => upstream.seen.includes("C c1 hold"), Boolean);
    const parked = await stack.submit("C", "c2", { maxConcurrent: 1 });
    const after = await stack.submit("C", "c3", { maxConcurrent: 1 });
    await until(async () => (await stack.isParked(parked, "C")) && (await stack.isParked(after, "C")), Boolean);

    expect(await stack.producer.cancel(parked.id)).toBe(true);
    const [cancelled] = await stack.store.getMany([parked.id]);
    expect(cancelled?.status).toBe("cancelled");
    expect(await stack.queue.getJob(queueJobId(parked.id, parked.createdAt))).toBeUndefined();

    upstream.release("C c1 hold");
    const records = await stack.ended([first, parked, after]);
    expect(records.map((record) => record.status)).toEqual(["succeeded", "cancelled", "succeeded"]);
    expect(upstream.seen).not.toContain("C c2");
    const events = await stack.store.readEventsAfter(parked.id);
    expect(events.map((event) => event.type)).toEqual(["job.queued", "job.cancelled"]);
  });

  it("hands on the slot of a job cancelled after a release woke it, before it ran", async () => {
    const stack = createStack();
    const upstream = createSlowUpstream(50);
    const workers = [stack.addWorker(upstream.adapter), stack.addWorker(upstream.adapter)];
    await Promise.all(workers.map(({ worker }) => worker.waitUntilReady()));
    const first = await stack.submit("E", "e1 hold", { maxConcurrent: 1 });
    await until(async () => upstream.seen.includes("E e1 hold"), Boolean);
    const woken = await stack.submit("E", "e2", { maxConcurrent: 1 });
    await until(() => stack.isParked(woken, "E"), Boolean);
    const last = await stack.submit("E", "e3", { maxConcurrent: 1 });
    await until(() => stack.isParked(last, "E"), Boolean);

    // No worker takes a job now: e1's end wakes e2, which waits in the queue with e1's slot reserved.
    await stack.queue.pause();
    upstream.release("E e1 hold");
    const wokenQueueId = queueJobId(woken.id, woken.createdAt);
    await until(() => stack.queue.getJobState(wokenQueueId), (state) => state === "waiting" || state === "prioritized");
    expect(await stack.redis.zrange(stack.store.keys.running("E"), "0", "-1")).toEqual([wokenQueueId]);

    expect(await stack.producer.cancel(woken.id)).toBe(true);
    // The cancel gave the reservation to e3 (else e3 would sleep until its safety-net delay, a minute here).
    expect(await stack.redis.zrange(stack.store.keys.running("E"), "0", "-1")).toEqual([queueJobId(last.id, last.createdAt)]);
    await stack.queue.resume();
    const records = await stack.ended([first, woken, last]);
    expect(records.map((record) => record.status)).toEqual(["succeeded", "cancelled", "succeeded"]);
    expect(upstream.seen).not.toContain("E e2");
  });

  it("does not let a worker that died holding a slot block its key", async () => {
    // A short lock: the dead worker's job is taken over within about 1.25 s.
    const stack = createStack({ lockMs: 1000 });
    const dying = stack.addWorker(createSlowUpstream(50, { hang: true }).adapter, 1);
    await dying.worker.waitUntilReady();
    const orphan = await stack.submit("D", "d1", { maxConcurrent: 1 });
    const orphanQueueId = queueJobId(orphan.id, orphan.createdAt);
    await until(() => stack.redis.zscore(stack.store.keys.running("D"), orphanQueueId), (lease) => lease !== null);
    // Killed: no more lock renewals, no release; its try hangs for ever in this process.
    await dying.worker.close(true);

    const upstream = createSlowUpstream(50);
    const survivor = stack.addWorker(upstream.adapter);
    await survivor.worker.waitUntilReady();
    const next = await stack.submit("D", "d2", { maxConcurrent: 1 });
    const records = await stack.ended([orphan, next]);
    expect(records.map((record) => record.status)).toEqual(["succeeded", "succeeded"]);
    expect(upstream.most.get("D")).toBe(1);
    // The orphan's second try took over its own lease (attempt 2 after the stall), then gave it back.
    expect(records[0].attempt).toBe(2);
    await until(() => stack.redis.zcard(stack.store.keys.running("D")), (held) => held === 0);
  });
});
