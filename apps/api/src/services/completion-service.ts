import { GatewayError } from "@llmgw/errors";
import type { FollowedJob, JobEvent, JobFollower, JobMode, JobProducer, JobRecord, NewCompletionJob } from "@llmgw/jobs";
import type { ChatCompletion, ChatCompletionRequest, ProviderRegistry, ResolvedModel } from "@llmgw/providers";
import type { Principal } from "./client-auth.js";

export interface CompletionServiceDeps {
  producer: JobProducer;
  providers: ProviderRegistry;
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

/** Between HTTP and the job lifecycle: which provider serves a model for this key, and the job that asks it. */
export function createCompletionService(deps: CompletionServiceDeps) {
  const { producer } = deps;

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

  /** The job as the worker and the record hold it: the client's request with the upstream model name. */
  function newJob(resolved: ResolvedModel, principal: Principal, request: ChatCompletionRequest, options: SubmitOptions): NewCompletionJob {
    const { stream: _stream, ...rest } = request;
    return {
      data: {
        request: { ...rest, model: resolved.upstreamModel },
        model: request.model,
        provider: resolved.providerName,
        owner: { keyId: principal.keyId, userId: principal.userId },
        ...(principal.budgets ? { budgets: principal.budgets } : {}),
        ...(principal.maxConcurrent ? { maxConcurrent: principal.maxConcurrent } : {}),
        mode: options.mode,
        requestId: options.requestId,
        ...(options.cacheKey ? { cacheKey: options.cacheKey } : {}),
        ...(options.webhook ? { webhook: options.webhook } : {}),
      },
      metadata: options.metadata,
    };
  }

  return {
    route,

    /** A synchronous call: creates (or joins) the job and follows it from its first event. */
    submit(principal: Principal, request: ChatCompletionRequest, options: SubmitOptions): Promise<FollowedJob> {
      const job = newJob(route(principal, request.model), principal, request, options);
      // A JSON caller needs only the end: it arrives on this process's notify channel.
      return producer.submitAndFollow(job, { jobId: options.jobId, coalesceAs: options.coalesceAs, endOnly: options.mode === "sync-json" });
    },

    /** An asynchronous job: created and enqueued; its owner reads its events on their own terms. Resolves to its record. */
    submitJob(principal: Principal, request: ChatCompletionRequest, options: SubmitOptions): Promise<JobRecord> {
      return producer.submit(newJob(route(principal, request.model), principal, request, options), { jobId: options.jobId });
    },

    cancel: producer.cancel,
    abandon: producer.abandon,

    /** Waits for the job's end; the result, or the job's error as a GatewayError; 504 at the deadline. */
    async waitForResult(jobId: string, follower: JobFollower, deadline: number): Promise<ChatCompletion> {
      for (;;) {
        const event = await follower.next(deadline);
        if (!event) throw new GatewayError("sync_timeout", { jobId });
        const outcome = settle(event, jobId);
        if (outcome) return outcome;
      }
    },
  };
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
