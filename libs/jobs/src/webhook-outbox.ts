import type { Redis } from "ioredis";
import type { JobKeys } from "./contract.js";
import { enqueueWebhook, type WebhookQueue } from "./webhook-queue.js";

/**
 * The webhooks that ended jobs owe. A job with a webhook enters the outbox in the same Lua call
 * as its final event (append-job-events.lua); whoever wrote that end queues the delivery at once
 * and clears the entry. An entry still there after `graceMs` belongs to a process that died in
 * between: `sweep` queues it. The delivery job's id is the job's id, so a delivery queued twice
 * runs once while BullMQ keeps it (deliveries are at least once, as Standard Webhooks expects).
 */
export function createWebhookOutbox(redis: Redis, keys: JobKeys, queue: WebhookQueue) {
  async function announce(jobId: string): Promise<void> {
    await enqueueWebhook(queue, jobId);
    await redis.zrem(keys.webhookOutbox, jobId);
  }

  return {
    /** Queues the delivery for a job that has just ended, and clears its outbox entry. */
    announce,
    /** Queues the deliveries left in the outbox for more than `graceMs`; resolves to how many. */
    async sweep(graceMs: number): Promise<number> {
      const jobIds = await redis.zrangebyscore(keys.webhookOutbox, "-inf", Date.now() - graceMs, "LIMIT", 0, 100);
      for (const jobId of jobIds) await announce(jobId);
      return jobIds.length;
    },
  };
}

export type WebhookOutbox = ReturnType<typeof createWebhookOutbox>;
