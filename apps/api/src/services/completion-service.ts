import { GatewayError } from "@llmgw/errors";
import {
  completionJobOptions,
  isFinished,
  newJobId,
  type CompletionJobData,
  type CompletionQueue,
  type JobEvent,
  type JobEventHub,
  type JobFollower,
  type JobMode,
  type JobRecord,
  type JobStore,
} from "@llmgw/jobs";
import type { ChatCompletion, ChatCompletionRequest, ProviderRegistry, ResolvedModel } from "@llmgw/providers";
import type { Redis } from "ioredis";
import { cancelledUsageEntry } from "./cancelled-jobs.js";
import type { Principal } from "./client-auth.js";

export interface CompletionServiceDeps {
  redis: Redis;
  store: JobStore;
  hub: JobEventHub;
  queue: CompletionQueue;
  providers: ProviderRegistry;
  jobAttempts: number;
  /** After this process ended a job as cancelled: its webhook. Never throws. */
  onCancelled?: (record: JobRecord) => Promise<void>;
}

export interface SubmitOptions {
  mode: JobMode;
  requestId: string;
  metadata?: Record<string, unknown>;
  webhook?: string;
  /** Where the worker stores a successful result in the response cache. */
  cacheKey?: string;
  /** Identical requests in flight share the job with this id (see coalescingJobId). */
  coalesceAs?: string;
  /** The id of the new job, when the caller reserved one (an idempotent submit); else a random one. */
  jobId?: string;
}

export interface SubmittedJob {
  jobId: string;
  follower: JobFollower;
  /** True when the caller joined an identical request's job instead of creating one. */
  joined: boolean;
}

/** Routing, enqueueing, waiting and cancelling of completion jobs: everything between HTTP and the queue. */
export function createCompletionService(deps: CompletionServiceDeps) {
  const { store, queue } = deps;

  /** Which provider serves the model, and may this key use it? Throws 404 / 403. */
  function route(principal: Principal, model: string) {
    const resolved = deps.providers.resolve(model);
    if (!resolved) {
      throw new GatewayError("model_not_found", {
        message: `The model '${model}' does not exist or no configured provider serves it.`,
        param: "model",
      });
    }
    if (principal.models && !principal.models.includes(model)) {
      throw new GatewayError("model_not_allowed", { message: `This API key may not use the model '${model}'.`, param: "model" });
    }
    return resolved;
  }

  /**
   * A synchronous call: creates the job record and enqueues it, or joins the running job of an
   * identical request, and follows the job from its very first event. The watch is in place
   * before the creation is sent, so the two run alongside and nothing is missed.
   */
  async function submit(principal: Principal, request: ChatCompletionRequest, options: SubmitOptions): Promise<SubmittedJob> {
    const resolved = route(principal, request.model);
    // A JSON caller needs only the end: the record names this process's notify channel, where the
    // end arrives without a SUBSCRIBE and a log read per job. A streaming caller follows every event.
    const notify = options.mode === "sync-json" ? deps.hub.notifyChannel : undefined;
    if (options.coalesceAs) {
      const shared = await start(options.coalesceAs);
      if (shared) return shared;
      // The identical request's job already ended (its answer not cached): run a new one.
    }
    const jobId = options.jobId ?? newJobId();
    const started = await start(jobId);
    if (!started) throw new GatewayError("internal_error", { message: `The job ${jobId} already exists.` });
    return started;

    /** Follows and creates the job at once; null when a job with that id had already ended. */
    async function start(id: string): Promise<SubmittedJob | null> {
      const follow = deps.hub.followJob(id, notify ? { notified: true } : {});
      const [followed, created] = await Promise.allSettled([follow, createAndEnqueue(resolved, principal, request, { ...options, notify }, id)]);
      if (followed.status === "rejected" || created.status === "rejected") {
        if (followed.status === "fulfilled") followed.value.close();
        throw followed.status === "rejected" ? followed.reason : (created as PromiseRejectedResult).reason;
      }
      const follower = followed.value;
      const outcome = created.value;
      if (outcome.created) return { jobId: id, follower, joined: false };
      if (!isFinished(outcome.status) && (await store.countWaiters(id, 1, notify)) !== null) return { jobId: id, follower, joined: true };
      follower.close();
      return null;
    }
  }

  /** An asynchronous job: created and enqueued; its owner reads its events on their own terms. Resolves to its record. */
  async function submitJob(principal: Principal, request: ChatCompletionRequest, options: SubmitOptions): Promise<JobRecord> {
    const jobId = options.jobId ?? newJobId();
    const outcome = await createAndEnqueue(route(principal, request.model), principal, request, options, jobId);
    if (!outcome.created) throw new GatewayError("internal_error", { message: `The job ${jobId} already exists.` });
    return outcome.record;
  }

  /** Creates and enqueues the job, or reports the status of the existing job with that id. */
  async function createAndEnqueue(
    resolved: ResolvedModel,
    principal: Principal,
    request: ChatCompletionRequest,
    options: SubmitOptions & { notify?: string },
    id: string,
  ) {
    const { stream: _stream, ...rest } = request;
    const data: CompletionJobData = {
      jobId: id,
      request: { ...rest, model: resolved.upstreamModel },
      model: request.model,
      provider: resolved.providerName,
      owner: { keyId: principal.keyId, userId: principal.userId },
      mode: options.mode,
      requestId: options.requestId,
      ...(options.cacheKey ? { cacheKey: options.cacheKey } : {}),
      ...(options.webhook ? { webhook: options.webhook } : {}),
    };
    const outcome = await store.create({
      id,
      model: request.model,
      provider: resolved.providerName,
      owner: data.owner,
      mode: options.mode,
      requestId: options.requestId,
      metadata: options.metadata,
      webhook: options.webhook,
      notify: options.notify,
    });
    if (outcome.created) await enqueue(data);
    return outcome;
  }

  async function enqueue(data: CompletionJobData) {
    try {
      await queue.add("completion", data, completionJobOptions(data.jobId, deps.jobAttempts));
    } catch (error) {
      // The record exists but no worker will ever see it: end it so nobody waits forever.
      await store
        .fail(data.jobId, undefined, { status: 503, error: new GatewayError("service_unavailable").toErrorObject() })
        .catch(() => {});
      throw error;
    }
  }

  /** Ends a job as cancelled (with its usage entry) and tells every worker to abort it; false when it had already ended. */
  async function cancel(jobId: string): Promise<boolean> {
    const record = await store.get(jobId);
    if (!record || !(await store.cancel(jobId, cancelledUsageEntry(record)))) return false;
    await deps.redis.publish(store.keys.cancelChannel, jobId);
    // A job still waiting is removed so no worker picks it up; a running one is locked and stays.
    await queue.remove(jobId).catch(() => 0);
    await deps.onCancelled?.(record);
    return true;
  }

  /** A synchronous caller went away: cancel the job unless coalesced callers still wait on it. */
  async function abandon(jobId: string): Promise<void> {
    const left = await store.countWaiters(jobId, -1);
    if (left !== null && left <= 0) await cancel(jobId);
  }

  /** Waits for the job's end; the result, or the job's error as a GatewayError; 504 at the deadline. */
  async function waitForResult(jobId: string, follower: JobFollower, deadline: number): Promise<ChatCompletion> {
    for (;;) {
      const event = await follower.next(deadline);
      if (!event) throw new GatewayError("sync_timeout", { jobId });
      const outcome = settle(event, jobId);
      if (outcome) return outcome;
    }
  }

  return { route, submit, submitJob, cancel, abandon, waitForResult };
}

/** The result of a terminal event, a thrown error for a failed or cancelled job, or null. */
export function settle(event: JobEvent, jobId: string): ChatCompletion | null {
  switch (event.type) {
    case "job.completed":
      return event.data.result;
    case "job.failed": {
      const error = GatewayError.fromErrorObject(event.data.status, event.data.error);
      error.headers["x-job-id"] = jobId;
      throw error;
    }
    case "job.cancelled":
      throw new GatewayError("job_cancelled", { jobId });
    default:
      return null;
  }
}

export type CompletionService = ReturnType<typeof createCompletionService>;
