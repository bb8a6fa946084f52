import type { Redis } from "ioredis";
import { GatewayError } from "@llmgw/errors";
import { isFinished } from "./contract.js";
import { completionJobOptions, queueJobId, type CompletionQueue } from "./completion-queue.js";
import { createConcurrencyGate } from "./concurrency-gate.js";
import type { JobEventHub, JobFollower } from "./job-event-hub.js";
import { newJobId } from "./job-ids.js";
import { createJobScheduling, type JobScheduling } from "./job-scheduling.js";
import type { JobStore } from "./job-store.js";
import type { CompletionJobData, JobRecord } from "./types.js";
import { jobUsageSubject, usageEntry } from "./usage-entry.js";
import type { WebhookOutbox } from "./webhook-outbox.js";

/** The status a cancelled job is recorded with in the usage log (nginx's "client closed request"). */
export const CANCELLED_USAGE_STATUS = 499;

export interface JobProducerDeps {
  /** Publishes cancels to every worker. */
  redis: Redis;
  store: JobStore;
  hub: JobEventHub;
  queue: CompletionQueue;
  jobAttempts: number;
  /** JOB_SCHEDULING (job-scheduling.ts); `fair` when absent. */
  scheduling?: JobScheduling;
  webhooks: WebhookOutbox;
  /** concurrencyLeaseMs(JOB_TIMEOUT_MS): the lease of a capped key's slot that a cancel hands on. */
  concurrencyLeaseMs: number;
  /** A cancelled job's webhook could not be queued now (the workers' outbox sweep will). */
  onWebhookError?(error: Error, jobId: string): void;
}

/** A job to create: its worker payload (less the id) and what only its record holds. */
export interface NewCompletionJob {
  data: Omit<CompletionJobData, "jobId">;
  metadata?: Record<string, unknown>;
}

export interface FollowedJob {
  jobId: string;
  follower: JobFollower;
  /** True when the caller joined an identical request's job instead of creating one. */
  joined: boolean;
}

/**
 * The API's side of the job lifecycle: create and enqueue, join an identical job in flight,
 * cancel (with the cancel's usage entry and webhook), abandon.
 */
export function createJobProducer(deps: JobProducerDeps) {
  const { store, queue } = deps;
  const scheduling = createJobScheduling(deps.redis, store.keys.fairShare, queue, deps.scheduling ?? "fair");
  const slots = createConcurrencyGate({ redis: deps.redis, keys: store.keys, queue, leaseMs: deps.concurrencyLeaseMs });

  /** Creates and enqueues the job, or reports the status of the existing job with that id. */
  async function createAndEnqueue(job: NewCompletionJob, id: string, notify?: string) {
    const data: CompletionJobData = { ...job.data, jobId: id };
    const createdAt = Date.now();
    const outcome = await store.create({
      id,
      createdAt,
      model: data.model,
      provider: data.provider,
      owner: data.owner,
      mode: data.mode,
      requestId: data.requestId,
      metadata: job.metadata,
      webhook: data.webhook,
      notify,
    });
    if (outcome.created) await enqueue(data, createdAt);
    return outcome;
  }

  async function enqueue(data: CompletionJobData, createdAt: number) {
    try {
      const priority = await scheduling.priorityOf(data);
      await queue.add("completion", data, completionJobOptions(queueJobId(data.jobId, createdAt), deps.jobAttempts, priority));
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
    if (!record || !(await store.cancel(jobId, cancelledUsage(record)))) return false;
    const queueId = queueJobId(jobId, record.createdAt);
    await deps.redis.publish(store.keys.cancelChannel, queueId);
    // A job still waiting is removed so no worker picks it up; a running one is locked and stays.
    const removed = await queue.remove(queueId).catch(() => 0);
    // A job removed before it ran may have been woken from its key's parked line with a slot
    // reserved in its name (max_concurrent): the slot goes to the next parked job, not to waste.
    if (removed === 1) await slots.release(record.owner.keyId, queueId).catch(() => 0);
    if (record.webhook) await deps.webhooks.announce(jobId).catch((error: Error) => deps.onWebhookError?.(error, jobId));
    return true;
  }

  return {
    /**
     * A synchronous call: follows the job from its very first event and creates and enqueues it,
     * or joins the running job of an identical request (`coalesceAs`). The follow is in place
     * before the creation is sent, so the two run alongside and nothing is missed. A JSON caller
     * (`endOnly`) hears the end on this process's notify channel, named in the record.
     */
    async submitAndFollow(job: NewCompletionJob, options: { jobId?: string; coalesceAs?: string; endOnly: boolean }): Promise<FollowedJob> {
      const notify = options.endOnly ? deps.hub.notifyChannel : undefined;
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
      async function start(id: string): Promise<FollowedJob | null> {
        const follow = deps.hub.followJob(id, notify ? { notified: true } : {});
        const [followed, created] = await Promise.allSettled([follow, createAndEnqueue(job, id, notify)]);
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
    },

    /** An asynchronous job: created and enqueued; its owner reads its events on their own terms. Resolves to its record. */
    async submit(job: NewCompletionJob, options: { jobId?: string } = {}): Promise<JobRecord> {
      const jobId = options.jobId ?? newJobId();
      const outcome = await createAndEnqueue(job, jobId);
      if (!outcome.created) throw new GatewayError("internal_error", { message: `The job ${jobId} already exists.` });
      return outcome.record;
    },

    cancel,

    /** A synchronous caller went away: cancel the job unless coalesced callers still wait on it. */
    async abandon(jobId: string): Promise<void> {
      const left = await store.countWaiters(jobId, -1);
      if (left !== null && left <= 0) await cancel(jobId);
    },
  };
}

/**
 * The usage entry of a job this process cancels (workers write the entries of the jobs that they
 * end; a cancelled job may never reach one). It goes into the log with the job's cancelled event,
 * in the same Redis call, so it is written exactly once, and never lost with this process.
 */
export function cancelledUsage(record: JobRecord, endedAt = Date.now()) {
  // What the provider had produced before the abort is unknown; nothing is counted.
  return usageEntry(jobUsageSubject(record), { status: CANCELLED_USAGE_STATUS, latencyMs: endedAt - record.createdAt }, endedAt);
}

export type JobProducer = ReturnType<typeof createJobProducer>;
