import { GatewayError } from "@llmgw/errors";
import {
  checkWebhookUrl,
  isJobId,
  newJobId,
  toJobObject,
  type JobEventHub,
  type JobObject,
  type JobRecord,
  type JobStore,
} from "@llmgw/jobs";
import type { ChatCompletionRequest } from "@llmgw/providers";
import type { Principal } from "./client-auth.js";
import type { CompletionService } from "./completion-service.js";
import { bodyHash, type IdempotencyRecord, type JobIdempotency } from "./job-idempotency.js";
import type { BudgetGuard } from "./budget-guard.js";

/** The body of `POST /v1/jobs` (and of a WebSocket `create` frame, without its own fields). */
export interface JobSubmission {
  request: ChatCompletionRequest;
  webhook?: string;
  metadata?: Record<string, unknown>;
}

export interface SubmittedJobObject {
  job: JobObject;
  /** True when an earlier submit with the same Idempotency-Key created the job. */
  replayed: boolean;
}

export interface JobList {
  object: "list";
  data: JobObject[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

export interface JobServiceDeps {
  store: JobStore;
  hub: JobEventHub;
  completions: CompletionService;
  idempotency: JobIdempotency;
  webhooks: { secretSet: boolean; allowPrivate: boolean };
  /** Refuses keys whose token budget is used up. */
  budgets: BudgetGuard;
}

/** How long parallel submits with one Idempotency-Key wait for the first one's job to appear. */
const RESERVATION_GRACE_MS = 5_000;

/** Asynchronous jobs as their owners see them: submit, read, cancel, list. No Fastify here. */
export function createJobService(deps: JobServiceDeps) {
  const { store, completions, idempotency } = deps;

  function checkWebhook(webhook: string | undefined) {
    if (webhook === undefined) return;
    if (!deps.webhooks.secretSet) {
      throw new GatewayError("invalid_request", {
        message: "Webhooks are disabled on this gateway: its operator has not set WEBHOOK_SECRET.",
        param: "webhook",
      });
    }
    const check = checkWebhookUrl(webhook, { allowPrivate: deps.webhooks.allowPrivate });
    if (!check.ok) throw new GatewayError("invalid_request", { message: `Invalid value for 'webhook': the URL ${check.reason}.`, param: "webhook" });
  }

  async function create(principal: Principal, submission: JobSubmission, requestId: string, jobId?: string): Promise<JobObject> {
    const record = await completions.submitJob(principal, submission.request, {
      mode: "async",
      requestId,
      metadata: submission.metadata,
      webhook: submission.webhook,
      jobId,
    });
    return toJobObject(record);
  }

  /** The record of a job that already exists or appears within the reservation's grace time; else null. */
  async function awaitRecord(reservation: IdempotencyRecord): Promise<JobRecord | null> {
    const deadline = reservation.reservedAt + RESERVATION_GRACE_MS;
    const record = await store.get(reservation.jobId);
    if (record || Date.now() >= deadline) return record;
    const follower = await deps.hub.followJob(reservation.jobId);
    try {
      await follower.next(deadline); // job.queued, from the log or live
    } finally {
      follower.close();
    }
    return store.get(reservation.jobId);
  }

  async function submitIdempotent(principal: Principal, submission: JobSubmission, requestId: string, key: string): Promise<SubmittedJobObject> {
    const hash = bodyHash(submission);
    let reservation = await idempotency.reserve(principal.keyId, key, { jobId: newJobId(), bodyHash: hash, reservedAt: Date.now() });
    for (let tries = 0; reservation.kind === "existing"; tries++) {
      if (reservation.record.bodyHash !== hash) throw new GatewayError("idempotency_key_reused", { param: null });
      const record = await awaitRecord(reservation.record);
      if (record) return { job: toJobObject(record), replayed: true };
      if (tries >= 3) throw new GatewayError("service_unavailable");
      // The first submit never created its job (it failed, or its process died), or the job has expired.
      const mine: IdempotencyRecord = { jobId: newJobId(), bodyHash: hash, reservedAt: Date.now() };
      reservation = (await idempotency.replace(principal.keyId, key, reservation.raw, mine))
        ? { kind: "reserved", record: mine }
        : await idempotency.reserve(principal.keyId, key, mine);
    }
    const mine = reservation.record;
    try {
      return { job: await create(principal, submission, requestId, mine.jobId), replayed: false };
    } catch (error) {
      await idempotency.release(principal.keyId, key, mine).catch(() => {});
      throw error;
    }
  }

  /** A job of this key; an unknown id, a malformed one and another key's job all answer the same 404. */
  async function owned(principal: Principal, jobId: string): Promise<JobRecord> {
    const record = isJobId(jobId) ? await store.get(jobId) : null;
    if (!record || record.owner.keyId !== principal.keyId) {
      throw new GatewayError("job_not_found", { message: `No job with id '${jobId}'.`, param: null });
    }
    return record;
  }

  return {
    owned,

    /** Creates a job (202), or with an Idempotency-Key already used for this body, returns its job (200). */
    async submit(principal: Principal, submission: JobSubmission, options: { requestId: string; idempotencyKey?: string }): Promise<SubmittedJobObject> {
      checkWebhook(submission.webhook);
      // 404/403 for the model, then 429 for a used-up budget, before anything is reserved.
      completions.route(principal, submission.request.model);
      await deps.budgets.check(principal);
      if (options.idempotencyKey === undefined) return { job: await create(principal, submission, options.requestId), replayed: false };
      return submitIdempotent(principal, submission, options.requestId, options.idempotencyKey);
    },

    async get(principal: Principal, jobId: string): Promise<JobObject> {
      return toJobObject(await owned(principal, jobId));
    },

    /** Cancels a queued or running job (its upstream call is aborted); 409 when it had already ended. */
    async cancel(principal: Principal, jobId: string): Promise<JobObject> {
      await owned(principal, jobId);
      if (!(await completions.cancel(jobId))) {
        throw new GatewayError("job_already_ended", { message: `The job '${jobId}' has already ended; there is nothing to cancel.` });
      }
      return toJobObject(await owned(principal, jobId));
    },

    /** The key's jobs, newest first, after the job `after` (a cursor from the previous page). */
    async list(principal: Principal, options: { limit: number; after?: string }): Promise<JobList> {
      const ids = await store.listOwnerJobIds(principal.keyId, options.limit + 1, options.after);
      const records = await store.getMany(ids);
      const expired = ids.filter((_, index) => records[index] === null);
      // Housekeeping on the way: the index forgets jobs whose records have expired.
      if (expired.length > 0) void store.forgetOwnerJobIds(principal.keyId, expired).catch(() => {});
      const data = records.filter((record): record is JobRecord => record !== null).slice(0, options.limit).map(toJobObject);
      return {
        object: "list",
        data,
        first_id: data[0]?.id ?? null,
        last_id: data.at(-1)?.id ?? null,
        has_more: ids.length > options.limit,
      };
    },
  };
}

export type JobService = ReturnType<typeof createJobService>;
