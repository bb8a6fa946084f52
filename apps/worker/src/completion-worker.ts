import { Worker } from "bullmq";
import type { Redis } from "ioredis";
import { COMPLETIONS_QUEUE, createConcurrencyGate, type CompletionJobData, type JobKeys } from "@llmgw/jobs";
import { processCompletionJob, type ProcessDeps } from "./process-completion-job.js";
import { backoffDelay } from "./retry-policy.js";

export interface CompletionWorkerOptions {
  connection: Redis;
  prefix: string;
  concurrency: number;
  /** Lock duration (WORKER_LOCK_MS); a job whose worker stops renewing it is taken over within about 1.25 times this. */
  lockMs: number;
  /**
   * Each key's max_concurrent (jobs carrying `maxConcurrent`): scripts on this commands connection,
   * leases of concurrencyLeaseMs(JOB_TIMEOUT_MS). Without it, caps are not enforced by this worker.
   */
  slots?: { redis: Redis; keys: JobKeys; leaseMs: number };
}

/**
 * The BullMQ worker of the completions queue. A job that BullMQ itself fails without our
 * processor deciding it (stalled too often: its worker keeps dying) is ended in the job
 * store here, so every waiter is told.
 */
export function createCompletionWorker(deps: ProcessDeps, options: CompletionWorkerOptions) {
  const processDeps: ProcessDeps = { ...deps };
  const worker = new Worker<CompletionJobData, void, "completion">(
    COMPLETIONS_QUEUE,
    (job, token, signal) => processCompletionJob(processDeps, job, token, signal),
    {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: options.concurrency,
      // How fast a killed worker's jobs move on, against how long an event loop may stall without
      // losing its locks. BullMQ renews a lock every quarter to half of lockDuration, so a live
      // worker loses one only when it cannot run a timer for half of it (5 s at the default 10 s).
      // A dead worker's locks run out within lockMs of its death. The stalled check (one Lua call
      // per worker per interval; all but one return at once) runs every eighth of it, and may skip
      // a beat (its key outlives the timer by a hair), so the job is back in the queue within
      // lockMs + 2 x lockMs / 8: 12.5 s at the default, instead of 60-90 s with BullMQ's 30 s + 30 s.
      // Each check walks the active jobs (O(n) in Redis), small next to those jobs' own traffic.
      lockDuration: options.lockMs,
      stalledInterval: Math.round(options.lockMs / 8),
      maxStalledCount: 2,
      settings: { backoffStrategy: (attemptsMade, _type, error) => backoffDelay(attemptsMade, error) },
    },
  );
  // The gate promotes woken jobs through the worker's own BullMQ connection.
  const slots = options.slots ? createConcurrencyGate({ ...options.slots, queue: worker }) : undefined;
  if (slots) processDeps.slots = slots;
  worker.on("failed", (job, error) => {
    if (!job || !/stalled/i.test(error.message)) return;
    const data = job.data;
    // Its last try's worker died holding the key's slot: the next parked job gets it now, not at the lease's end.
    if (slots && data.maxConcurrent) {
      void slots
        .release(data.owner.keyId, job.id as string, { cap: data.maxConcurrent })
        .catch((releaseError: Error) => deps.logger.warn({ err: { message: releaseError.message }, jobId: job.id }, "could not give back a stalled job's slot"));
    }
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
    void deps.runner
      // Ended here and nowhere else: its usage entry and webhook, like any failed job.
      .failUnfenced(data, failure, latencyMs)
      .catch((storeError) => deps.logger.error({ err: storeError, jobId: job.id }, "could not record a stalled job"));
  });
  worker.on("error", (error) => deps.logger.error({ err: { message: error.message } }, "worker connection error"));
  return worker;
}
