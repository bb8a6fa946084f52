import { Queue, type JobsOptions } from "bullmq";
import type { Redis } from "ioredis";
import { WEBHOOKS_QUEUE } from "./contract.js";
import type { WebhookJobData } from "./types.js";

export type WebhookQueue = Queue<WebhookJobData, void, "webhook">;

/** The producer side of the webhooks queue (API for cancelled jobs, workers for the rest). */
export function createWebhookQueue(connection: Redis, prefix: string): WebhookQueue {
  return new Queue<WebhookJobData, void, "webhook">(WEBHOOKS_QUEUE, { connection, prefix });
}

/**
 * Ten tries, 2 s doubling to about 17 minutes between the last two (about 34 minutes in all).
 * The job id is the completion job's id, so a second report of the same end enqueues nothing.
 */
export function webhookJobOptions(jobId: string): JobsOptions {
  return {
    jobId,
    attempts: 10,
    backoff: { type: "exponential", delay: 2000 },
    removeOnComplete: { count: 1000 },
    removeOnFail: { count: 5000, age: 7 * 86_400 },
  };
}

/** Asks for the webhook of a job that has just ended. */
export async function enqueueWebhook(queue: WebhookQueue, jobId: string): Promise<void> {
  await queue.add("webhook", { jobId }, webhookJobOptions(jobId));
}
