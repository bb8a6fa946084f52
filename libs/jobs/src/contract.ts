/**
 * The queue contract between API and worker processes: queue name, Redis key builders,
 * channel names and event names.
 *
 * CHANGING ANY STRING HERE BREAKS RUNNING DEPLOYMENTS: API and worker processes of two versions
 * would stop finding each other's jobs, events and cancels. Add new names; never rename old ones.
 */

export const COMPLETIONS_QUEUE = "completions";

/** BullMQ queue of webhook deliveries: one job per finished job that asked for a webhook. */
export const WEBHOOKS_QUEUE = "webhooks";

export const jobEventTypes = [
  "job.queued",
  "job.started",
  "job.chunk",
  "job.completed",
  "job.failed",
  "job.cancelled",
] as const;

export type JobEventType = (typeof jobEventTypes)[number];

export const terminalEventTypes: readonly JobEventType[] = ["job.completed", "job.failed", "job.cancelled"];

export const jobStatuses = ["queued", "running", "succeeded", "failed", "cancelled"] as const;
export type JobStatus = (typeof jobStatuses)[number];

export const isFinished = (status: JobStatus) => status === "succeeded" || status === "failed" || status === "cancelled";

/** Keys and channels of one deployment, all under `QUEUE_PREFIX`. */
export function jobKeys(prefix: string) {
  return {
    /** Hash: the job record (status, owner, result, error). */
    record: (jobId: string) => `${prefix}:job:${jobId}`,
    /** Stream: the job's ordered event log. */
    events: (jobId: string) => `${prefix}:job:${jobId}:events`,
    /** Pub/sub channel: each appended event, as `{"id","type","data"}`, for live readers. */
    eventChannel: (jobId: string) => `${prefix}:job-events:${jobId}`,
    /**
     * Pub/sub channel of one API process: the final event of each job whose record names it
     * (field `notify`), as `<job id> {"id","type","data"}`.
     */
    notifyChannel: (instanceId: string) => `${prefix}:notify:${instanceId}`,
    /** Pub/sub channel every worker listens to: the queue id (queueJobId) of a job whose upstream call must be aborted. */
    cancelChannel: `${prefix}:cancel`,
    /** Sorted set per owner key: its job ids by creation time, for listing. */
    ownerJobs: (keyId: string) => `${prefix}:owner:${keyId}:jobs`,
    /** String: Idempotency-Key of an owner -> job id and request hash. */
    idempotency: (keyId: string, idempotencyKey: string) => `${prefix}:idem:${keyId}:${idempotencyKey}`,
    /**
     * Sorted set: jobs that ended owing a webhook whose delivery job may not exist yet (job id,
     * scored by its end in unix ms); written with the final event, cleared once the delivery is queued.
     */
    webhookOutbox: `${prefix}:webhook-outbox`,
    /**
     * Sorted set per owner key with a `max_concurrent` cap: the queue job ids holding one of its slots
     * (running, or woken and on their way), scored by the lease's end in unix ms (concurrency-gate.ts).
     */
    running: (keyId: string) => `${prefix}:running:${keyId}`,
    /**
     * Sorted set per owner key: queue job ids parked in BullMQ's delayed set until one of the key's
     * slots frees, scored by their rank in line (synchronous calls first, then order of parking).
     */
    parked: (keyId: string) => `${prefix}:parked:${keyId}`,
    /** Hash: key id -> BullMQ priority of its last asynchronous job (fair-priority.lua); deleted whenever no such job waits. */
    fairShare: `${prefix}:fair-share`,
    /**
     * String per key or user (scope `key` or `user`) and UTC period (`2026-11-29`, `2026-11`): the tokens
     * spent in it (spending.ts), added to with each request's end; expires a while after the period.
     */
    spending: (scope: "key" | "user", id: string, period: string) => `${prefix}:spend:${scope}:${id}:${period}`,
    /**
     * Sorted set: budget alerts not yet handed to the webhooks queue (alert id, scored by unix ms),
     * written with the request's end that crossed the threshold (budget-alerts.ts).
     */
    budgetAlertOutbox: `${prefix}:budget-alert-outbox`,
    /** Hash: budget alert id -> the alert (JSON), while it is in the outbox. */
    budgetAlerts: `${prefix}:budget-alerts`,
    /** Stream: usage records of finished jobs, consumed by the API into SQLite. */
    usage: `${prefix}:usage`,
    /** Pub/sub channel: revoked key ids, so every API instance drops them from its cache. */
    keyRevokedChannel: `${prefix}:key-revoked`,
  };
}

export type JobKeys = ReturnType<typeof jobKeys>;

/** Keys of the upstream channels' shared health, under `QUEUE_PREFIX` (channel-health.ts). */
export function channelKeys(prefix: string) {
  return {
    /**
     * Hash per channel id (`deepseek-1`): `fails` (failed tries in a row), `cool_until` (unix ms),
     * `probe_until` (unix ms: the one probe after a cooldown holds it), `disabled` (reason) and `disabled_at`, and counters `requests`, `errors`, `latency_ms`
     * (sum over successful tries). No expiry: a few small hashes per deployment.
     */
    state: (channelId: string) => `${prefix}:channel:${channelId}`,
  };
}
