import { Worker } from "bullmq";
import type { Redis } from "ioredis";
import { COMPLETIONS_QUEUE, type CompletionJobData } from "@llmgw/jobs";
import { processCompletionJob, type ProcessDeps } from "./process-completion-job.js";
import { backoffDelay } from "./retry-policy.js";
import { usageEntryOf } from "./usage-entry.js";

export interface CompletionWorkerOptions {
  connection: Redis;
  prefix: string;
  concurrency: number;
  /** Lock duration; a job whose worker stops renewing it is taken over after about this long. */
  lockMs: number;
}

/**
 * The BullMQ worker of the completions queue. A job that BullMQ itself fails without our
 * processor deciding it (stalled too often: its worker keeps dying) is ended in the job
 * store here, so every waiter is told.
 */
export function createCompletionWorker(deps: ProcessDeps, options: CompletionWorkerOptions) {
  const worker = new Worker<CompletionJobData, void, "completion">(
    COMPLETIONS_QUEUE,
    (job, _token, signal) => processCompletionJob(deps, job, signal),
    {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: options.concurrency,
      lockDuration: options.lockMs,
      stalledInterval: options.lockMs,
      maxStalledCount: 2,
      settings: { backoffStrategy: (attemptsMade, _type, error) => backoffDelay(attemptsMade, error) },
    },
  );
  worker.on("failed", (job, error) => {
    if (!job || !/stalled/i.test(error.message)) return;
    const data = job.data;
    const latencyMs = Date.now() - job.timestamp;
    const failure = {
      status: 502,
      error: {
        message: "The job's worker stopped responding too many times; the job was given up.",
        type: "upstream_error",
        param: null,
        code: "upstream_error",
      },
    };
    void deps.store
      // Ended here and nowhere else: its usage entry and webhook, like any failed job.
      .fail(data.jobId, undefined, failure, usageEntryOf(data, 502, null, latencyMs))
      .then((ended) => (ended ? deps.onFailed(data, 502, latencyMs) : undefined))
      .catch((storeError) => deps.logger.error({ err: storeError, jobId: job.id }, "could not record a stalled job"));
  });
  worker.on("error", (error) => deps.logger.error({ err: { message: error.message } }, "worker connection error"));
  return worker;
}
