import type { Redis } from "ioredis";
import { MAX_JOB_PRIORITY, type CompletionQueue } from "./completion-queue.js";
import { jobScripts } from "./scripts.js";
import type { CompletionJobData } from "./types.js";

/**
 * JOB_SCHEDULING: `fair` serves synchronous calls first and lets the keys with asynchronous jobs
 * waiting take turns; `fifo` serves every job in the order it came.
 */
export type JobScheduling = "fair" | "fifo";

/**
 * Who goes first, built on BullMQ's open features only. BullMQ takes a job with no priority
 * before any prioritized one: synchronous calls (JSON, SSE), whose callers are waiting, get no
 * priority, and so start as soon as a worker slot frees up, whatever the backlog. Asynchronous
 * jobs get a priority that makes the keys take turns (fair-priority.lua): one more Redis call
 * per job, O(log n) in the number of jobs waiting.
 */
export function createJobScheduling(redis: Redis, fairShareKey: string, queue: CompletionQueue, scheduling: JobScheduling) {
  const scripts = jobScripts(redis);
  return {
    /** The BullMQ priority of a new job; undefined for none (served first, in order of arrival). */
    async priorityOf(data: CompletionJobData): Promise<number | undefined> {
      if (scheduling === "fifo" || data.mode !== "async") return undefined;
      return Number(await scripts.llmgwFairPriority(fairShareKey, queue.keys.prioritized, data.owner.keyId, MAX_JOB_PRIORITY));
    },
  };
}
