import { Queue, type JobsOptions } from "bullmq";
import type { Redis } from "ioredis";
import { COMPLETIONS_QUEUE } from "./contract.js";
import type { CompletionJobData } from "./types.js";

export type CompletionQueue = Queue<CompletionJobData, void, "completion">;

/** The producer side of the completions queue; BullMQ keys live under the same prefix as ours. */
export function createCompletionQueue(connection: Redis, prefix: string): CompletionQueue {
  return new Queue<CompletionJobData, void, "completion">(COMPLETIONS_QUEUE, { connection, prefix });
}

/** Jobs in the queue by state, as an operator counts them. */
export interface QueueDepths {
  /** Not started yet: BullMQ's `waiting` (synchronous calls) and `prioritized` (asynchronous jobs, job-scheduling.ts). */
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  /** BullMQ keeps only the latest (completionJobOptions). */
  completed: number;
}

export async function readQueueDepths(queue: CompletionQueue): Promise<QueueDepths> {
  const counts = await queue.getJobCounts("waiting", "prioritized", "active", "delayed", "failed", "completed");
  const count = (state: string) => counts[state] ?? 0;
  return {
    waiting: count("waiting") + count("prioritized"),
    active: count("active"),
    delayed: count("delayed"),
    failed: count("failed"),
    completed: count("completed"),
  };
}

/**
 * The BullMQ id of a job's queue entry: the job id and its creation time. A coalesced job id
 * comes back for the same request after its record expired, while BullMQ may still keep the old
 * entry under that id, and BullMQ ignores an add whose id it knows: the new job would never run.
 * Changing this breaks cancels of jobs queued by another version (their tries still stop, fenced).
 */
export function queueJobId(jobId: string, createdAt: number): string {
  return `${jobId}.${createdAt.toString(36)}`;
}

/** BullMQ's highest priority number (its lowest priority); 0 is "no priority", served before any number. */
export const MAX_JOB_PRIORITY = 2_097_151;

/**
 * Options of every completion job (`queueId` from queueJobId; `priority` for asynchronous jobs, job-scheduling.ts). Retries use the worker's `custom` backoff (exponential with
 * jitter, or what the upstream asked for). Our own job record keeps results and errors, so
 * BullMQ's copies are trimmed early to keep Redis memory bounded.
 */
export function completionJobOptions(queueId: string, attempts: number, priority?: number): JobsOptions {
  return {
    jobId: queueId,
    attempts,
    ...(priority ? { priority } : {}),
    backoff: { type: "custom" },
    removeOnComplete: { count: 1000 },
    removeOnFail: { count: 5000, age: 86_400 },
  };
}
