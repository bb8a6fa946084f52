import { UnrecoverableError, type Job } from "bullmq";
import type { Logger } from "@llmgw/logger";
import type { CompletionJobData, ConcurrencyGate, JobRunner } from "@llmgw/jobs";
import { clientAskedUsage, createCompletionAssembler, isUsageOnlyChunk, type ChatCompletion, type ChatCompletionChunk, type ChannelRoute, type ProviderAdapter } from "@llmgw/providers";
import type { ChannelRouter } from "./channel-router.js";
import type { JobMetrics } from "./metrics.js";
import { channelFaultOf, failureOf, hasTriesLeft, markFailover, shouldRetry } from "./retry-policy.js";
import { startTryDeadlines } from "./try-deadlines.js";

export interface ProcessDeps {
  runner: JobRunner;
  /** The provider of a job, for a worker without channels (tests); `channels` wins when given. */
  resolveProvider?(name: string): ProviderAdapter | undefined;
  /** Chooses the channel of each try and records how it went (channel-router.ts). */
  channels?: ChannelRouter;
  /** Told of each channel try's outcome (metrics). */
  onChannelTry?(channelId: string, outcome: "ok" | "failed" | "refused"): void;
  logger: Logger;
  maxAttempts: number;
  timeouts: { firstByteMs: number; idleMs: number; totalMs: number };
  /**
   * Before the job's completed event is written: what must be in place once waiters see the answer
   * (the response cache, so an identical request sent right after it is a hit). Resolves once what
   * it wrote is sure to reach Redis before the completed event. Failures never fail the job.
   */
  beforeComplete?(data: CompletionJobData, result: ChatCompletion): Promise<void>;
  /** Told of every failed try's error (provider-auth-alarm.ts). */
  onTryFailed?(error: unknown): void;
  /** Prometheus instrumentation (metrics.ts); absent where nobody scrapes. */
  metrics?: JobMetrics;
  /** Enforces each key's max_concurrent across workers (libs/jobs concurrency-gate.ts); absent = no cap. */
  slots?: ConcurrencyGate;
}

/** Thrown inside a try when the job's log refuses our writes: it was cancelled or taken over. */
class JobLost extends Error {}

/**
 * The BullMQ processor: one try of one completion job, once its key has a slot (max_concurrent).
 * A try without a slot parks (BullMQ's DelayedError, let through) before anything of the job is
 * written: for its record, log and attempt number it never happened.
 */
export async function processCompletionJob(
  deps: ProcessDeps,
  job: Job<CompletionJobData>,
  token: string | undefined,
  signal: AbortSignal | undefined,
): Promise<void> {
  const cap = job.data.maxConcurrent;
  const slots = cap && cap > 0 ? deps.slots : undefined;
  if (!slots || !cap) return runTry(deps, job, signal, 0);
  const admission = await slots.acquire(job, cap);
  if (!admission.acquired) {
    deps.metrics?.parked();
    deps.logger.debug({ jobId: job.data.jobId, maxConcurrent: cap }, "the key runs its max_concurrent jobs; parked until a slot frees");
    return slots.park(job, token ?? "", cap);
  }
  try {
    await runTry(deps, job, signal, admission.parks);
  } finally {
    // Also on a retry: the job leaves the active set, and its next try takes a slot again.
    await slots
      .release(job.data.owner.keyId, job.id as string, { token, cap })
      .catch((error: Error) => deps.logger.warn({ err: { message: error.message }, jobId: job.data.jobId }, "could not give back a key's slot; its lease runs out"));
  }
}

/** One try; `parks`: the job's BullMQ starts that were parked, not attempts. */
async function runTry(deps: ProcessDeps, job: Job<CompletionJobData>, signal: AbortSignal | undefined, parks: number): Promise<void> {
  const data = job.data;
  // attemptsStarted also counts a try that a crashed worker began (stall recovery): a new fence.
  const attempt = Math.max(job.attemptsStarted - parks, job.attemptsMade + 1);
  let log = deps.logger.child({ jobId: data.jobId, attempt, requestId: data.requestId });
  const controller = new AbortController();
  // The upstream call opens while job.started is written: one round trip less before the first
  // byte. A job that had already ended (cancelled while queued) aborts the call at once.
  const run = deps.runner.startTry(data, attempt);
  void run.started.then((started) => started || controller.abort("ended before this try"), () => {});
  const routes = deps.channels?.routesFor(data.model) ?? null;
  const avoid = data.avoidChannels ?? [];
  const route = routes && deps.channels ? await deps.channels.choose(routes, avoid).catch(() => routes[0] ?? null) : null;
  const provider = route ? route.channel.adapter : deps.resolveProvider?.(data.provider);
  const request = route ? { ...data.request, model: route.upstreamModel } : data.request;
  const tryStarted = Date.now();
  const onCancel = () => controller.abort(signal?.reason ?? "cancelled");
  signal?.addEventListener("abort", onCancel, { once: true });
  const deadlines = startTryDeadlines(controller, { provider: data.provider, ...deps.timeouts });
  let chunksSent = 0;
  const metrics = deps.metrics?.startTry(data);
  const latency = () => Date.now() - job.timestamp;

  if (route) {
    log = log.child({ channel: route.channel.id });
    run.via(route.channel.id);
  }

  try {
    if (!provider) throw new Error(`provider ${data.provider} is not configured on this worker`);
    let result: ChatCompletion;
    if (data.mode !== "sync-json" && provider.supportsStreaming) {
      // The usage chunk the gateway asked for on its own is counted but not shown (CONTRACT section 5).
      const showUsage = clientAskedUsage(data.request);
      const answer = createCompletionAssembler();
      for await (const chunk of provider.streamChatCompletion(request, { signal: controller.signal })) {
        deadlines.progress();
        metrics?.firstChunk();
        answer.add(chunk);
        if (!showUsage && isUsageOnlyChunk(chunk)) continue;
        run.push(chunk);
        chunksSent++;
        if (run.lost) throw new JobLost();
      }
      result = answer.finish();
    } else {
      // A caller waiting for one JSON answer gets the provider's own, unchanged.
      result = await provider.createChatCompletion(request, { signal: controller.signal, onResponse: deadlines.responded });
      metrics?.firstChunk();
    }
    deadlines.clear();
    await deps.beforeComplete?.(data, result).catch((error) => log.warn({ err: error }, "before-complete hook failed"));
    const latencyMs = latency();
    if ((await run.complete(result, latencyMs)) === "lost") throw new JobLost();
    metrics?.succeeded(result, latencyMs);
    if (route && deps.channels) {
      deps.onChannelTry?.(route.channel.id, "ok");
      void deps.channels.succeeded(route, Date.now() - tryStarted).catch((error: Error) => log.warn({ err: { message: error.message } }, "could not record the channel's success"));
    }
  } catch (caught) {
    controller.abort();
    await run.flush();
    const started = await run.started.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    // Redis failed before the try began: BullMQ tries the job again.
    if ("error" in started) throw started.error;
    if (!started.value) {
      log.info("job ended before this try started; skipping");
      return;
    }
    if (caught instanceof JobLost || signal?.aborted) {
      log.info("job was cancelled or taken over; this try stops");
      metrics?.cancelled(latency());
      return;
    }
    deps.onTryFailed?.(caught);
    const outcome = { attempt, maxAttempts: deps.maxAttempts, chunksSent, mode: data.mode };
    const failover = routes && route ? await judgeChannel(deps, job, routes, route, caught, hasTriesLeft(outcome), log) : false;
    const retry = failover || shouldRetry(caught, outcome);
    metrics?.failed(caught, !retry, latency());
    if (retry) {
      log.warn({ err: describe(caught) }, "try failed; retrying");
      throw caught;
    }
    const failure = failureOf(caught, attempt);
    log.warn({ err: describe(caught), status: failure.status }, "job failed");
    await run.fail(failure, latency());
    throw new UnrecoverableError(failure.error.message);
  } finally {
    deadlines.clear();
    signal?.removeEventListener("abort", onCancel);
    metrics?.done();
  }
}

/**
 * Records what the failed try says of its channel (a failure more, or disabled) and, when the job
 * may try again and another channel is usable, sends the next try there at once: the error is
 * marked for a zero backoff and the job remembers the channels that failed it.
 */
async function judgeChannel(
  deps: ProcessDeps,
  job: Job<CompletionJobData>,
  routes: ChannelRoute[],
  route: ChannelRoute,
  error: unknown,
  triesLeft: boolean,
  log: Logger,
): Promise<boolean> {
  const channels = deps.channels;
  const fault = channelFaultOf(error);
  deps.onChannelTry?.(route.channel.id, fault ? "failed" : "refused");
  if (!channels || !fault) return false;
  const recorded = fault.kind === "disable" ? channels.disable(route, fault.reason) : channels.failed(route, fault.retryAfterMs);
  await recorded.catch((failure: Error) => log.warn({ err: { message: failure.message } }, "could not record the channel's failure"));
  const tried = [...new Set([...(job.data.avoidChannels ?? []), route.channel.id])];
  if (!triesLeft || !channels.anotherAvailable(routes, tried)) return false;
  markFailover(error);
  await job.updateData({ ...job.data, avoidChannels: tried }).catch(() => {});
  return true;
}

/** What a log line may say of an error: status and message, never request or headers. */
function describe(error: unknown) {
  if (error instanceof Error) {
    const status = (error as { status?: number }).status;
    return { name: error.name, message: error.message, status };
  }
  return { message: String(error) };
}
