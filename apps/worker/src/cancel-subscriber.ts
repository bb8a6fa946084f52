import type { Redis } from "ioredis";
import type { JobKeys } from "@llmgw/jobs";

/**
 * BullMQ's own cancel only reaches a job inside the process that runs it, so the API
 * broadcasts cancels on a channel and every worker aborts the job if it is running here.
 */
export async function subscribeToCancels(subscriber: Redis, keys: JobKeys, worker: { cancelJob(jobId: string, reason?: string): boolean }): Promise<void> {
  subscriber.on("message", (channel: string, jobId: string) => {
    if (channel === keys.cancelChannel) worker.cancelJob(jobId, "cancelled");
  });
  await subscriber.subscribe(keys.cancelChannel);
}
