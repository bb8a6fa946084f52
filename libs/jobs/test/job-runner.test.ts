import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createJobRunner, createJobStore, createWebhookOutbox, createWebhookQueue, newJobId, type CompletionJobData, type UsageEntry } from "@llmgw/jobs";

const prefix = `test-${randomUUID()}`;
const redis = new Redis(inject("redisUrl"));
const queueConnection = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
const store = createJobStore(redis, { prefix, retentionSeconds: 3600 });
const queue = createWebhookQueue(queueConnection, prefix);
const runner = createJobRunner({ store, webhooks: createWebhookOutbox(redis, store.keys, queue) });
const owner = { keyId: "key_1", userId: "7" };

afterAll(async () => {
  await queue.close();
  queueConnection.disconnect();
  redis.disconnect();
});

async function newJob(webhook?: string): Promise<CompletionJobData> {
  const data: CompletionJobData = {
    jobId: newJobId(),
    request: { model: "up", messages: [{ role: "user", content: "hi" }] },
    model: "client-model",
    provider: "p",
    owner,
    mode: "async",
    requestId: "req_1",
    ...(webhook ? { webhook } : {}),
  };
  await store.create({ id: data.jobId, model: data.model, provider: data.provider, owner, mode: data.mode, requestId: data.requestId, webhook });
  return data;
}

const usageOf = async (jobId: string) => {
  const entries = await redis.xrange(store.keys.usage, "-", "+");
  return entries.map(([, fields]) => JSON.parse(fields[1]) as UsageEntry).filter((entry) => entry.jobId === jobId);
};

describe("job runner", () => {
  it("completes a try: its chunks, then the result with its usage entry and its webhook, once", async () => {
    const data = await newJob("https://example.com/hook");
    const run = runner.startTry(data, 1);
    expect(await run.started).toBe(true);
    run.push({ id: "a" } as never);
    run.push({ id: "b" } as never);
    const result = { id: "r", usage: { prompt_tokens: 3, completion_tokens: 5 } } as never;
    expect(await run.complete(result, 42)).toBe("ended");
    const events = await store.readEventsAfter(data.jobId);
    expect(events.map((event) => event.type)).toEqual(["job.queued", "job.started", "job.chunk", "job.chunk", "job.completed"]);
    expect(await usageOf(data.jobId)).toEqual([
      expect.objectContaining({ requestId: "req_1", keyId: "key_1", userId: "7", model: "client-model", provider: "p", promptTokens: 3, completionTokens: 5, latencyMs: 42, status: 200, kind: "job" }),
    ]);
    expect(await queue.getJob(data.jobId)).toBeDefined();
    expect(await redis.zscore(store.keys.webhookOutbox, data.jobId)).toBeNull();
  });

  it("fences a try off once another attempt took the job over: its writes are refused and it ends nothing", async () => {
    const data = await newJob();
    const first = runner.startTry(data, 1);
    await first.started;
    const second = runner.startTry(data, 2);
    await second.started;
    first.push({ id: "late" } as never);
    expect(await first.complete({ id: "r1" } as never, 1)).toBe("lost");
    expect(first.lost).toBe(true);
    expect(await second.fail({ status: 502, error: { message: "m", type: "upstream_error", param: null, code: "upstream_error" } }, 2)).toBe("ended");
    const types = (await store.readEventsAfter(data.jobId)).map((event) => event.type);
    expect(types).toEqual(["job.queued", "job.started", "job.started", "job.failed"]);
    expect((await usageOf(data.jobId)).map((entry) => entry.status)).toEqual([502]);
  });

  it("does not start a try of a job that already ended", async () => {
    const data = await newJob();
    await store.cancel(data.jobId);
    expect(await runner.startTry(data, 1).started).toBe(false);
  });
});
