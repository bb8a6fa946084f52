import { UnrecoverableError, type Job } from "bullmq";
import type { Logger } from "@llmgw/logger";
import type { CompletionJobData, JobStore } from "@llmgw/jobs";
import { assembleChatCompletion, clientAskedUsage, isUsageOnlyChunk, type ChatCompletion, type ChatCompletionChunk, type ProviderAdapter } from "@llmgw/providers";
import type { JobMetrics } from "./metrics.js";
import { createChunkWriter } from "./chunk-writer.js";
import { failureOf, shouldRetry } from "./retry-policy.js";
import { startTryDeadlines } from "./try-deadlines.js";
import { usageEntryOf } from "./usage-entry.js";

export interface ProcessDeps {
  store: JobStore;
  resolveProvider(name: string): ProviderAdapter | undefined;
  logger: Logger;
  maxAttempts: number;
  timeouts: { firstByteMs: number; idleMs: number; totalMs: number };
  /**
   * Before the job's completed event is written: what must be in place once waiters see the answer
   * (the response cache, so an identical request sent right after it is a hit). Resolves once what
   * it wrote is sure to reach Redis before the completed event. Failures never fail the job.
   */
  beforeComplete?(data: CompletionJobData, result: ChatCompletion): Promise<void>;
  /** After the job's one completed event (and its usage) was written: the webhook. Failures here never fail the job. */
  onSucceeded(data: CompletionJobData, result: ChatCompletion, latencyMs: number): Promise<void>;
  onFailed(data: CompletionJobData, status: number, latencyMs: number): Promise<void>;
  /** Prometheus instrumentation (metrics.ts); absent where nobody scrapes. */
  metrics?: JobMetrics;
}

/** Thrown inside a try when the job's log refuses our writes: it was cancelled or taken over. */
class JobLost extends Error {}

/** The BullMQ processor: one try of one completion job. */
export async function processCompletionJob(
  deps: ProcessDeps,
  job: Job<CompletionJobData>,
  signal: AbortSignal | undefined,
): Promise<void> {
  const data = job.data;
  // attemptsStarted also counts a try that a crashed worker began (stall recovery): a new fence.
  const attempt = Math.max(job.attemptsStarted, job.attemptsMade + 1);
  const log = deps.logger.child({ jobId: data.jobId, attempt, requestId: data.requestId });
  const controller = new AbortController();
  // The upstream call opens while job.started is written: one round trip less before the first
  // byte. A job that had already ended (cancelled while queued) aborts the call at once.
  const started = deps.store.start(data.jobId, attempt);
  void started.then((id) => id || controller.abort("ended before this try"), () => {});
  const provider = deps.resolveProvider(data.provider);
  const onCancel = () => controller.abort(signal?.reason ?? "cancelled");
  signal?.addEventListener("abort", onCancel, { once: true });
  const deadlines = startTryDeadlines(controller, { provider: data.provider, ...deps.timeouts });
  let chunksSent = 0;
  const metrics = deps.metrics?.startTry(data);
  const writer = createChunkWriter(async (batch) => (await started) && deps.store.appendChunks(data.jobId, attempt, batch));

  try {
    if (!provider) throw new Error(`provider ${data.provider} is not configured on this worker`);
    let result: ChatCompletion;
    if (data.mode !== "sync-json" && provider.supportsStreaming) {
      // The usage chunk the gateway asked for on its own is counted but not shown (CONTRACT section 5).
      const showUsage = clientAskedUsage(data.request);
      const chunks: ChatCompletionChunk[] = [];
      for await (const chunk of provider.streamChatCompletion(data.request, { signal: controller.signal })) {
        deadlines.progress();
        metrics?.firstChunk();
        chunks.push(chunk);
        if (!showUsage && isUsageOnlyChunk(chunk)) continue;
        writer.push(chunk);
        chunksSent++;
        if (writer.lost) throw new JobLost();
      }
      result = assembleChatCompletion(chunks);
    } else {
      // A caller waiting for one JSON answer gets the provider's own, unchanged.
      result = await provider.createChatCompletion(data.request, { signal: controller.signal, onResponse: deadlines.responded });
      metrics?.firstChunk();
    }
    deadlines.clear();
    const tail = await writer.finish();
    if (!tail || !(await started)) throw new JobLost();
    await deps.beforeComplete?.(data, result).catch((error) => log.warn({ err: error }, "before-complete hook failed"));
    const latencyMs = Date.now() - job.timestamp;
    const usage = usageEntryOf(data, 200, result, latencyMs);
    if (!(await deps.store.complete(data.jobId, attempt, result, usage, tail))) throw new JobLost();
    metrics?.succeeded(result, latencyMs);
    await deps.onSucceeded(data, result, latencyMs).catch((error) => log.warn({ err: error }, "after-success hook failed"));
  } catch (caught) {
    controller.abort();
    // What reached us before the failure belongs in the log, ahead of the failure or the retry.
    await writer.drain().catch(() => false);
    const start = await started.then(
      (id) => ({ id }),
      (error: unknown) => ({ error }),
    );
    // Redis failed before the try began: BullMQ tries the job again.
    if ("error" in start) throw start.error;
    if (!start.id) {
      log.info("job ended before this try started; skipping");
      return;
    }
    if (caught instanceof JobLost || signal?.aborted) {
      log.info("job was cancelled or taken over; this try stops");
      metrics?.cancelled(Date.now() - job.timestamp);
      return;
    }
    const error = caught;
    const retry = shouldRetry(error, { attempt, maxAttempts: deps.maxAttempts, chunksSent, mode: data.mode });
    metrics?.failed(error, !retry, Date.now() - job.timestamp);
    if (retry) {
      log.warn({ err: describe(error) }, "try failed; retrying");
      throw error;
    }
    const failure = failureOf(error, attempt);
    log.warn({ err: describe(error), status: failure.status }, "job failed");
    const latencyMs = Date.now() - job.timestamp;
    if (await deps.store.fail(data.jobId, attempt, failure, usageEntryOf(data, failure.status, null, latencyMs))) {
      await deps.onFailed(data, failure.status, latencyMs).catch((hookError) => log.warn({ err: hookError }, "after-failure hook failed"));
    }
    throw new UnrecoverableError(failure.error.message);
  } finally {
    deadlines.clear();
    signal?.removeEventListener("abort", onCancel);
    metrics?.done();
  }
}

/** What a log line may say of an error: status and message, never request or headers. */
function describe(error: unknown) {
  if (error instanceof Error) {
    const status = (error as { status?: number }).status;
    return { name: error.name, message: error.message, status };
  }
  return { message: String(error) };
}
