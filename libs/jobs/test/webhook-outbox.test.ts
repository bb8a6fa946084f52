import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createJobStore, createWebhookOutbox, createWebhookQueue, newJobId } from "@llmgw/jobs";

const prefix = `test-${randomUUID()}`;
const redis = new Redis(inject("redisUrl"));
const queueConnection = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
const store = createJobStore(redis, { prefix, retentionSeconds: 3600 });
const queue = createWebhookQueue(queueConnection, prefix);
const outbox = createWebhookOutbox(redis, store.keys, queue);
const owner = { keyId: "key_1", userId: null };

afterAll(async () => {
  await queue.close();
  queueConnection.disconnect();
  redis.disconnect();
});

async function endedJob(webhook?: string) {
  const id = newJobId();
  await store.create({ id, model: "m", provider: "p", owner, mode: "async", webhook });
  await store.start(id, 1);
  await store.complete(id, 1, { id: "r" } as never);
  return id;
}

const inOutbox = async (id: string) => (await redis.zscore(store.keys.webhookOutbox, id)) !== null;

describe("webhook outbox", () => {
  it("holds a job that ended owing a webhook, from the same call as its end", async () => {
    const before = Date.now();
    const owing = await endedJob("https://example.com/hook");
    const score = Number(await redis.zscore(store.keys.webhookOutbox, owing));
    expect(score).toBeGreaterThanOrEqual(before - 1000);
    expect(score).toBeLessThanOrEqual(Date.now() + 1000);
    expect(await inOutbox(await endedJob())).toBe(false);
  });

  it("announce queues the delivery and clears the entry", async () => {
    const id = await endedJob("https://example.com/hook");
    await outbox.announce(id);
    expect((await queue.getJob(id))?.data).toEqual({ jobId: id });
    expect(await inOutbox(id)).toBe(false);
  });

  it("sweep queues what a dead process left past the grace time, and leaves younger entries", async () => {
    const orphan = await endedJob("https://example.com/hook");
    // Its process died before announcing it: the end is in the log and the outbox, no delivery queued.
    expect(await queue.getJob(orphan)).toBeUndefined();
    await redis.zadd(store.keys.webhookOutbox, Date.now() - 60_000, orphan);
    const recent = await endedJob("https://example.com/hook");
    expect(await outbox.sweep(30_000)).toBe(1);
    expect((await queue.getJob(orphan))?.data).toEqual({ jobId: orphan });
    expect(await inOutbox(orphan)).toBe(false);
    expect(await queue.getJob(recent)).toBeUndefined();
    expect(await inOutbox(recent)).toBe(true);
  });
});
