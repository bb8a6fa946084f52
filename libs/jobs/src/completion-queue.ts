import { Queue, type JobsOptions } from "bullmq";
import type { Redis } from "ioredis";
import { COMPLETIONS_QUEUE } from "./contract.js";
import type { CompletionJobData } from "./types.js";

export type CompletionQueue = Queue<CompletionJobData, void, "completion">;

/** The producer side of the completions queue; BullMQ keys live under the same prefix as ours. */
export function createCompletionQueue(connection: Redis, prefix: string): CompletionQueue {
  return new Queue<CompletionJobData, void, "completion">(COMPLETIONS_QUEUE, { connection, prefix });
}

/**
 * Options of every completion job. Retries use the worker's `custom` backoff (exponential with
 * jitter, or what the upstream asked for). Our own job record keeps results and errors, so
 * BullMQ's copies are trimmed early to keep Redis memory bounded.
 */
export function completionJobOptions(jobId: string, attempts: number): JobsOptions {
  return {
    jobId,
    attempts,
    backoff: { type: "custom" },
    removeOnComplete: { count: 1000 },
    removeOnFail: { count: 5000, age: 86_400 },
  };
}
