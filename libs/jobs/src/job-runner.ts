import type { ChatCompletion, ChatCompletionChunk } from "@llmgw/providers";
import { createChunkWriter } from "./chunk-writer.js";
import type { JobStore } from "./job-store.js";
import type { CompletionJobData, JobFailure } from "./types.js";
import { jobUsageSubject, usageEntry } from "./usage-entry.js";
import type { WebhookOutbox } from "./webhook-outbox.js";

export interface JobRunnerDeps {
  store: JobStore;
  webhooks: WebhookOutbox;
  /** An ended job's webhook could not be queued now (the outbox sweep will). */
  onWebhookError?(error: Error, jobId: string): void;
}

/** Where a try stands once it is over: its end was written, or the job was no longer its to end. */
export type TryEnd = "ended" | "lost";

/**
 * One try of one job, fenced by its attempt number: whatever it writes after another attempt took
 * the job over, or after the job ended (cancelled), is refused, and `lost` turns true.
 */
export interface JobTry {
  /** The job.started write, made while the caller opens the upstream call: false when the job had already ended. */
  readonly started: Promise<boolean>;
  /** True once the log refused a write. */
  readonly lost: boolean;
  /** Names the upstream channel this try went to, for its usage entry. */
  via(channelId: string): void;
  /** Appends a chunk to the job's log (at once, or with the next write: see chunk-writer.ts). */
  push(chunk: ChatCompletionChunk): void;
  /** Ends the job with its result, the chunks not written yet, its usage entry and its webhook, in one call. */
  complete(result: ChatCompletion, latencyMs: number): Promise<TryEnd>;
  /** Writes what reached the try before a failure, so that it precedes the failure or the retry. */
  flush(): Promise<void>;
  /** Ends the job as failed, with its usage entry and its webhook. */
  fail(failure: JobFailure, latencyMs: number): Promise<TryEnd>;
}

/** The worker's side of the job lifecycle: fenced start, chunks, complete and fail, with usage and webhook. */
export function createJobRunner(deps: JobRunnerDeps) {
  const { store } = deps;

  async function announce(data: CompletionJobData) {
    if (!data.webhook) return;
    await deps.webhooks.announce(data.jobId).catch((error: Error) => deps.onWebhookError?.(error, data.jobId));
  }

  async function end(data: CompletionJobData, written: Promise<string | null>): Promise<TryEnd> {
    if (!(await written)) return "lost";
    await announce(data);
    return "ended";
  }

  return {
    startTry(data: CompletionJobData, attempt: number): JobTry {
      const started = store.start(data.jobId, attempt).then((id) => id !== null);
      started.catch(() => {}); // awaited by whoever needs it
      const writer = createChunkWriter(async (batch) => (await started) && store.appendChunks(data.jobId, attempt, batch));
      let channel: string | undefined;
      const usage = (status: number, result: ChatCompletion | null, latencyMs: number) =>
        usageEntry(jobUsageSubject(data), { status, usage: result?.usage, latencyMs, channel });

      return {
        started,
        get lost() {
          return writer.lost;
        },
        via(channelId) {
          channel = channelId;
        },
        push: (chunk) => writer.push(chunk),
        async complete(result, latencyMs) {
          const tail = await writer.finish();
          if (!tail || !(await started)) return "lost";
          return end(data, store.complete(data.jobId, attempt, result, usage(200, result, latencyMs), tail, data.budgets));
        },
        async flush() {
          await writer.drain().catch(() => false);
        },
        fail(failure, latencyMs) {
          return end(data, store.fail(data.jobId, attempt, failure, usage(failure.status, null, latencyMs)));
        },
      };
    },

    /** Ends a job whatever attempt runs (BullMQ gave it up after too many stalls): usage and webhook, as any failure. */
    failUnfenced(data: CompletionJobData, failure: JobFailure, latencyMs: number): Promise<TryEnd> {
      return end(data, store.fail(data.jobId, undefined, failure, usageEntry(jobUsageSubject(data), { status: failure.status, latencyMs })));
    },
  };
}

export type JobRunner = ReturnType<typeof createJobRunner>;
